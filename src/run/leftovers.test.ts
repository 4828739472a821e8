import { describe, expect, it } from 'vitest';
import type { Engine, ListedObject } from '../engine/engine.js';
import { Labels } from '../labels.js';
import { collectLeftovers, pidIsAlive } from './leftovers.js';

const ours = (id: string, pid: number, extra: Record<string, string> = {}): ListedObject => ({
  id,
  labels: { [Labels.managed]: 'true', [Labels.owner]: String(pid), [Labels.run]: 'r', ...extra },
});

function fakeEngine(objs: { containers?: ListedObject[]; networks?: ListedObject[]; volumes?: ListedObject[]; images?: ListedObject[] }) {
  const removed: string[] = [];
  const engine = {
    listContainers: async () => objs.containers ?? [],
    listNetworks: async () => objs.networks ?? [],
    listVolumes: async () => objs.volumes ?? [],
    listImages: async () => objs.images ?? [],
    removeContainer: async (id: string) => void removed.push(id),
    removeNetwork: async (id: string) => void removed.push(id),
    removeVolume: async (id: string) => void removed.push(id),
    removeImage: async (id: string) => {
      if (id === 'stuck') throw new Error('in use');
      removed.push(id);
    },
  } as unknown as Engine;
  return { engine, removed };
}

describe('collectLeftovers', () => {
  const alive = (pid: number) => pid === 100;

  it('leaves containers that only inherited our image labels (a daemon build step), even with --all', async () => {
    const inherited: ListedObject = { id: 'c-build', labels: { [Labels.managed]: 'true', [Labels.kind]: 'plugin-image' } };
    const { engine, removed } = fakeEngine({ containers: [inherited, ours('c-dead', 200)] });
    const r = await collectLeftovers(engine, { all: true, images: false, isAlive: alive });
    expect(removed).toEqual(['c-dead']);
    expect(r.removed.map((x) => x.id)).toEqual(['c-dead']);
  });

  it('removes ours whose owner is gone, keeps those whose owner runs', async () => {
    const { engine, removed } = fakeEngine({
      containers: [ours('c-dead', 200), ours('c-live', 100)],
      networks: [ours('n-dead', 200)],
      volumes: [ours('v-live', 100)],
    });
    const r = await collectLeftovers(engine, { all: false, images: false, isAlive: alive });
    expect(removed).toEqual(['c-dead', 'n-dead']);
    expect(r.inUse.map((x) => x.id)).toEqual(['c-live', 'v-live']);
  });

  it('removes all of ours with all', async () => {
    const { engine, removed } = fakeEngine({ containers: [ours('c-dead', 200), ours('c-live', 100)] });
    await collectLeftovers(engine, { all: true, images: false, isAlive: alive });
    expect(removed).toEqual(['c-dead', 'c-live']);
  });

  it('never touches an object without our label, even if a filter let it through', async () => {
    const { engine, removed } = fakeEngine({ containers: [{ id: 'theirs', labels: { other: 'x' } }] });
    await collectLeftovers(engine, { all: true, images: true, isAlive: alive });
    expect(removed).toEqual([]);
  });

  it('removes plugin images only when asked, and only plugin images', async () => {
    const img = ours('img', 100, { [Labels.kind]: 'plugin-image' });
    const runner = ours('runner', 100, { [Labels.kind]: 'runner-python' });
    const stuck = ours('stuck', 100, { [Labels.kind]: 'plugin-image' });
    const a = fakeEngine({ images: [img, runner, stuck] });
    await collectLeftovers(a.engine, { all: false, images: false, isAlive: alive });
    expect(a.removed).toEqual([]);
    const r = await collectLeftovers(a.engine, { all: false, images: true, isAlive: alive });
    expect(a.removed).toEqual(['img']);
    expect(r.failed).toMatchObject([{ id: 'stuck', error: 'in use' }]);
  });
});

describe('pidIsAlive', () => {
  it('sees this process and not an impossible pid', () => {
    expect(pidIsAlive(process.pid)).toBe(true);
    expect(pidIsAlive(0)).toBe(false);
    expect(pidIsAlive(2 ** 30)).toBe(false);
  });
});
