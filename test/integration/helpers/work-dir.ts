// Test directories that a plugin container can also see at their own host path. os.tmpdir()
// (/tmp) cannot be: the container needs /tmp for itself. So ledgers whose plugins open
// files by host path live under test/.work/ in the repository (gitignored), each test's
// directory removed after it, and test/.work itself once it is empty.
import { chmod, mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { hostPathMountable } from '../../../src/spec/container-paths.js';
import { ROOT } from './cli.js';

export const TEST_WORK = path.join(ROOT, 'test', '.work');

/** A new directory under test/.work, mode 0755 (the plugin user reads it), checked mountable. */
export async function hostPathWorkDir(prefix: string): Promise<string> {
  const verdict = hostPathMountable(TEST_WORK);
  if (!verdict.ok) {
    throw new Error(`${TEST_WORK} cannot be mounted at its own path inside a container (${verdict.reason}): check the repository out elsewhere to run this test`);
  }
  await mkdir(TEST_WORK, { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(path.join(TEST_WORK, prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Removes a directory made by hostPathWorkDir, and test/.work when nothing else is left in it. */
export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  // another test file may still be using test/.work: then it stays
  await rmdir(TEST_WORK).catch(() => undefined);
}
