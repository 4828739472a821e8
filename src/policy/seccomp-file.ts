// Reads a seccomp profile file and checks it (seccomp.ts). Loaded at start of every
// command that builds a spec, so a broken profile stops everything before any container.
import { readFile } from 'node:fs/promises';
import { NotReadyError } from '../errors.js';
import { checkSeccomp, type CheckedSeccomp } from './seccomp.js';

export async function loadSeccomp(file: string): Promise<CheckedSeccomp> {
  const text = await readFile(file, 'utf8').catch((cause: unknown) => {
    throw new NotReadyError(`seccomp profile ${file} cannot be read`, { cause, hint: 'reinstall sandboxctl, or fix the seccomp field of the admin profile' });
  });
  return checkSeccomp(text, file);
}
