// Reads a plugin.yaml from disk and validates it (parse.ts does the pure part). Errors
// name the file and each field, its line, what was expected and what was found.
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { MANIFEST_FILE, parseManifest } from './parse.js';
import type { Manifest } from './schema.js';

export async function loadManifestFile(file: string): Promise<Manifest> {
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new UsageError(`${file} cannot be read`, { cause, hint: `a bundle needs a ${MANIFEST_FILE} at its top level` });
  });
  return parseManifest(text, file);
}
