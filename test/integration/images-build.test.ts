import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { buildImages } from '../../src/images/build.js';
import { createLogger } from '../../src/logger.js';
import { ROOT, runCli } from './helpers/cli.js';

const engine = createDockerEngine();
const made: string[] = [];
let tmp: string | undefined;

afterAll(async () => {
  for (const tag of made) await engine.removeImage(tag);
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('sandboxctl images build', () => {
  it('rebuilds nothing when nothing changed, and says so', async () => {
    // the sandboxctl image follows dist/, which the suite's setup has just compiled: make it current first
    expect((await runCli(['images', 'build', '--no-pull', '--only', 'sandboxctl'])).code).toBe(0);
    const res = await runCli(['images', 'build', '--no-pull', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out.rebuilt).toBe(0);
    expect(out.outcomes.map((o: { name: string }) => o.name)).toEqual(['base', 'python-runner', 'node-runner', 'sandboxctl']);
    const text = await runCli(['images', 'build', '--no-pull']);
    expect(text.stdout).toMatch(/nothing changed: nothing was rebuilt/);
  });

  it('rebuilds only the runner whose inputs changed, under a new tag, labelled as ours', async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-images-'));
    await cp(path.join(ROOT, 'images'), path.join(tmp, 'images'), { recursive: true });
    await writeFile(path.join(tmp, 'images', 'node-runner', 'runner', 'CHANGED.txt'), 'an input changed\n');
    const before = await buildImages(engine, { root: ROOT, allowPull: false }, createLogger('silent'));
    const after = await buildImages(engine, { root: tmp, allowPull: false }, createLogger('silent'));
    const node = after.find((o) => o.name === 'node-runner')!;
    made.push(node.tag);
    expect(node.built).toBe(true);
    expect(node.tag).not.toBe(before.find((o) => o.name === 'node-runner')!.tag);
    expect(after.find((o) => o.name === 'python-runner')!.built).toBe(false);
    expect(after.find((o) => o.name === 'base')!.built).toBe(false);
    const img = await engine.inspectImage(node.tag);
    expect(img?.labels['io.sandboxctl.managed']).toBe('true');
    expect(img?.labels['io.sandboxctl.kind']).toBe('runner-node');
  });
});
