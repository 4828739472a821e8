// Finds and removes engine objects sandboxctl left behind: containers, networks and
// volumes carrying our label whose owner process is gone (a sandboxctl killed with
// SIGKILL cannot clean up), and on request the plugin-image cache. Objects without our
// label are never listed, so never touched.
import type { Engine, ListedObject } from '../engine/engine.js';
import { Labels } from '../labels.js';
import { PLUGIN_IMAGE_KIND } from './plugin-image.js';

export type LeftoverKind = 'container' | 'network' | 'volume' | 'image';

export interface Leftover {
  kind: LeftoverKind;
  id: string;
  name: string | null;
  runId: string | null;
  ownerPid: number | null;
}

export interface CollectOptions {
  /** Remove ours even when the owner still runs (a run in progress is cut off). */
  all: boolean;
  /** Also remove plugin images (a cache: they are rebuilt from their bundles when needed). */
  images: boolean;
  /** Whether a process id is running on this host. */
  isAlive: (pid: number) => boolean;
}

export interface CollectResult {
  removed: Leftover[];
  /** Ours, but their owner is still running. */
  inUse: Leftover[];
  failed: Array<Leftover & { error: string }>;
}

/** process.kill(pid, 0) probes a pid without signalling it; EPERM means it exists. */
export function pidIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(kind: LeftoverKind, o: ListedObject): Leftover {
  const pid = Number(o.labels[Labels.owner]);
  return {
    kind,
    id: o.id,
    name: o.name ?? null,
    runId: o.labels[Labels.run] ?? null,
    ownerPid: Number.isSafeInteger(pid) && pid > 0 ? pid : null,
  };
}

export async function collectLeftovers(engine: Engine, opts: CollectOptions): Promise<CollectResult> {
  const ours = { [Labels.managed]: 'true' };
  const result: CollectResult = { removed: [], inUse: [], failed: [] };
  const sweep = async (kind: LeftoverKind, list: ListedObject[], remove: (o: ListedObject) => Promise<void>) => {
    for (const o of list) {
      // the engine filtered by label already; checking again keeps a filter bug from touching others' objects
      if (o.labels[Labels.managed] !== 'true') continue;
      // a container made from one of our images inherits the image's labels, a daemon's
      // build step too; only what sandboxctl created carries a run id, and only that is ours to remove
      if (kind === 'container' && !o.labels[Labels.run]) continue;
      const item = describe(kind, o);
      if (!opts.all && kind !== 'image' && item.ownerPid !== null && opts.isAlive(item.ownerPid)) {
        result.inUse.push(item);
        continue;
      }
      try {
        await remove(o);
        result.removed.push(item);
      } catch (err) {
        result.failed.push({ ...item, error: (err as Error).message });
      }
    }
  };
  // containers first: networks, volumes and images in use by them cannot go before
  await sweep('container', await engine.listContainers(ours), (o) => engine.removeContainer(o.id));
  await sweep('network', await engine.listNetworks(ours), (o) => engine.removeNetwork(o.id));
  await sweep('volume', await engine.listVolumes(ours), (o) => engine.removeVolume(o.id));
  if (opts.images) {
    const images = await engine.listImages({ ...ours, [Labels.kind]: PLUGIN_IMAGE_KIND });
    await sweep('image', images.filter((i) => i.labels[Labels.kind] === PLUGIN_IMAGE_KIND), (o) => engine.removeImage(o.id));
  }
  return result;
}
