import type { Engine } from '../../../src/engine/engine.js';
import { Labels } from '../../../src/labels.js';

function alive(pid: string | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Our containers, networks and volumes whose owning process is gone. */
export async function findLeftovers(engine: Engine): Promise<Array<{ kind: string; id: string; labels: Record<string, string> }>> {
  const filter = { [Labels.managed]: 'true' };
  const [containers, networks, volumes] = await Promise.all([
    engine.listContainers(filter),
    engine.listNetworks(filter),
    engine.listVolumes(filter),
  ]);
  return [
    ...containers.map((o) => ({ kind: 'container', ...o })),
    ...networks.map((o) => ({ kind: 'network', ...o })),
    ...volumes.map((o) => ({ kind: 'volume', ...o })),
  ]
    // containers of a build step inherit our image labels but no run id: the daemon removes those
    .filter((o) => o.kind !== 'container' || o.labels[Labels.run] !== undefined)
    .filter((o) => !alive(o.labels[Labels.owner]))
    .map(({ kind, id, labels }) => ({ kind, id, labels }));
}
