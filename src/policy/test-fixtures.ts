// Shared by this folder's unit tests: the shipped profiles and a manifest builder.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { manifestSchema, type Manifest, type ManifestInput } from '../manifest/schema.js';
import { parseProfile } from './parse-profile.js';
import type { Profile } from './profile-schema.js';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function shippedProfile(name: 'strict' | 'standard' | 'permissive'): Profile {
  const file = path.join(ROOT, 'profiles', `${name}.yaml`);
  return parseProfile(readFileSync(file, 'utf8'), file);
}

export function manifest(over: Partial<ManifestInput> = {}): Manifest {
  return manifestSchema.parse({ apiVersion: 'sandboxctl/v1', name: 'acme.tag-large', version: '1.2.0', runtime: 'python', entrypoint: 'tag_large.py', ...over });
}
