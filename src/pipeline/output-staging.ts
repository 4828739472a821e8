// Where a run's output is made before it is renamed into place: a private directory next to
// its destination (or in the temp dir when it goes to stdout), named after the pid that made
// it. A process killed with SIGKILL cannot remove its own; the next run that stages into the
// same directory removes every one whose process is gone, and never one still in use.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pidIsAlive } from '../run/leftovers.js';

/** The prefix of every staging directory's name (a dot-directory: no glob picks it up). */
export const STAGING_PREFIX = '.sandboxctl-out-';

/** What this process's staging directories are named: the pid tells a dead run's from a live one's. */
export function stagingPrefix(pid = process.pid): string {
  return `${STAGING_PREFIX}${pid}-`;
}

/** The pid in a staging directory's name, else undefined (pure). */
export function stagingOwner(name: string): number | undefined {
  if (!name.startsWith(STAGING_PREFIX)) return undefined;
  const m = /^(\d+)-/.exec(name.slice(STAGING_PREFIX.length));
  return m ? Number(m[1]) : undefined;
}

export interface StagedOutput {
  dir: string;
  file: string;
  /** Staging directories of dead processes removed from the same directory first. */
  removed: string[];
}

/** A new staging directory for `output` (mode 0700), after removing dead processes' ones beside it. */
export async function stageOutput(output: string | undefined, isAlive: (pid: number) => boolean = pidIsAlive): Promise<StagedOutput> {
  const parent = output ? path.dirname(output) : os.tmpdir();
  const removed: string[] = [];
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    const pid = stagingOwner(name);
    if (pid === undefined || pid === process.pid || isAlive(pid)) continue;
    await rm(path.join(parent, name), { recursive: true, force: true });
    removed.push(path.join(parent, name));
  }
  const dir = await mkdtemp(path.join(parent, stagingPrefix()));
  return { dir, file: path.join(dir, 'out'), removed };
}
