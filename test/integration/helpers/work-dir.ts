// Test directories that a plugin container can also see at their own host path. os.tmpdir()
// (/tmp) cannot be: the container needs /tmp for itself. So ledgers whose plugins open
// files by host path live under test/.work/ in the repository (gitignored) or, when the
// checkout itself cannot be mounted at its own path (a clone under /tmp), under
// /srv/sandboxctl-test; each test's directory is removed after it, and the parent once empty.
import { chmod, mkdir, mkdtemp, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { hostPathMountable } from '../../../src/blueprint/container-paths.js';
import { ROOT } from './cli.js';

const CANDIDATES = [path.join(ROOT, 'test', '.work'), '/srv/sandboxctl-test'];
export const TEST_WORK = CANDIDATES.find((d) => hostPathMountable(d).ok) ?? CANDIDATES[0]!;

/** A new directory under TEST_WORK, mode 0755 (the plugin user reads it), checked mountable. */
export async function hostPathWorkDir(prefix: string): Promise<string> {
  const verdict = hostPathMountable(TEST_WORK);
  if (!verdict.ok) {
    throw new Error(`${TEST_WORK} cannot be mounted at its own path inside a container (${verdict.reason}): check the repository out elsewhere, or make /srv usable, to run this test`);
  }
  await mkdir(TEST_WORK, { recursive: true, mode: 0o755 });
  const dir = await mkdtemp(path.join(TEST_WORK, prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Removes a directory made by hostPathWorkDir, and TEST_WORK when nothing else is left in it. */
export async function removeWorkDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  // another test file may still be using TEST_WORK: then it stays
  await rmdir(TEST_WORK).catch(() => undefined);
}
