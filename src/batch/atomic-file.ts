// A file replaced whole or not at all: written to a dot-named temporary beside it (no glob
// picks it up), fsynced, renamed over the target, and the directory fsynced, so a crash or a
// reboot leaves either the old file or the new one. The temporary's name carries our pid,
// so a later batch can tell a dead writer's leftovers from a live one's.
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fsyncPath } from '../pipeline/ledger-invocation.js';

export const TEMP_MARK = '.sandboxctl-tmp-';

export function tempNameFor(file: string, pid = process.pid): string {
  return path.join(path.dirname(file), `.${path.basename(file)}${TEMP_MARK}${pid}-${randomBytes(4).toString('hex')}`);
}

/** The pid in one of our temporary names, or undefined when the name is not one. */
export function tempOwner(name: string): number | undefined {
  const m = new RegExp(`^\\..*${TEMP_MARK.replace(/\./g, '\\.')}(\\d+)-[0-9a-f]{8}$`).exec(name);
  return m ? Number(m[1]) : undefined;
}

export async function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = tempNameFor(file);
  try {
    const fh = await open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  await fsyncPath(path.dirname(file));
}
