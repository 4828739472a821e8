// What a batch killed mid-way (SIGKILL, a reboot) left behind, removed when the next one
// starts: its staging directories beside the outputs, its half-written temporaries of
// state and report files, its private ledger copies, and its containers. Each of these
// names (or labels) the pid that made it; only those whose process is gone are removed,
// so a batch or a run still going is never touched.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Engine } from '../engine/engine.js';
import { Labels } from '../labels.js';
import type { Logger } from '../logger.js';
import { stagingOwner } from '../pipeline/output-staging.js';
import { collectLeftovers, pidIsAlive } from '../run/leftovers.js';
import { tempOwner } from './atomic-file.js';
import { COPY_PREFIX } from './private-copy.js';

/** The pid in a staging or private-copy directory's name made by a batch, else undefined (pure). */
export function leftoverOwner(name: string): number | undefined {
  const staging = stagingOwner(name);
  if (staging !== undefined) return staging;
  if (name.startsWith(COPY_PREFIX)) {
    const m = /^(\d+)-/.exec(name.slice(COPY_PREFIX.length));
    return m ? Number(m[1]) : undefined;
  }
  return tempOwner(name);
}

/** Removes the dead writers' leftovers in each directory; returns what was removed. */
export async function removeStaleFiles(dirs: Iterable<string>, isAlive: (pid: number) => boolean = pidIsAlive): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const pid = leftoverOwner(name);
      if (pid === undefined || isAlive(pid)) continue;
      await rm(path.join(dir, name), { recursive: true, force: true });
      removed.push(path.join(dir, name));
    }
  }
  return removed;
}

/** Containers and other engine objects whose owner process is gone (what `sandboxctl gc` removes). */
export async function removeDeadContainers(engine: Engine, logger: Logger): Promise<number> {
  const r = await collectLeftovers(engine, { all: false, images: false, isAlive: pidIsAlive });
  for (const f of r.failed) logger.warn({ id: f.id, error: f.error }, 'could not remove a leftover engine object');
  return r.removed.length;
}

/** The containers of one run: what an engine restart left of an attempt it broke (their owner, this batch, still runs). */
export async function removeRunContainers(engine: Engine, runId: string): Promise<number> {
  const list = await engine.listContainers({ [Labels.run]: runId });
  for (const c of list) await engine.removeContainer(c.id);
  return list.length;
}
