import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { PluginMessageSchema } from '../../src/protocol/messages.js';
import { ROOT } from './helpers/cli.js';
import { jsonLines, pluginInput, runStage, type StageOptions } from './helpers/runner-container.js';

const FIX = path.join(ROOT, 'test', 'fixtures');
const JS = `${path.join(FIX, 'plugins', 'js')}:/plugin:ro`;

let engine: Engine;
let pyImage: string;
let nodeImage: string;
const runId = newRunId();
const run = (image: string, o: Omit<StageOptions, 'image' | 'runId'>) => runStage(engine, { image, runId, ...o });
let loaded: Array<Record<string, unknown>>;
let dirs: Array<{ type: string }>;

function pluginMessages(stdout: string) {
  const msgs = jsonLines(stdout).map((m) => PluginMessageSchema.parse(m));
  expect(msgs.at(-1)?.type).toBe('done');
  return msgs;
}

beforeAll(async () => {
  engine = createDockerEngine();
  pyImage = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
  nodeImage = (await requireRunnerImage(engine, { root: ROOT }, 'node')).id;
  // the directives come from the real loader stage, so every directive and metadata type is there
  const res = await run(pyImage, { cmd: ['load', '--ledger', '/ledger/all-directives.beancount'], binds: [`${path.join(FIX, 'ledgers')}:/ledger:ro`] });
  expect(res.exitCode, res.stderr).toBe(0);
  loaded = jsonLines(res.stdout);
  dirs = loaded.filter((l) => l.type === 'directive').map((l) => l.directive as { type: string });
});

describe('node runner', () => {
  it('an identity plugin returns the input exactly, and its prints reach only the log', async () => {
    const res = await run(nodeImage, { cmd: ['plugin', '--entrypoint', 'identity.mjs'], binds: [JS], input: pluginInput(loaded, 'js.identity', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(pluginMessages(res.stdout)).toEqual([
      { type: 'keep', from: 0, to: dirs.length },
      { type: 'done', counts: { kept: dirs.length, modified: 0, inserted: 0, deleted: 0, errors: 0 } },
    ]);
    for (const s of ['"type":"done"', 'on process.stdout', 'on fd 1', 'child stdout']) expect(res.stderr).toContain(s);
  });

  it('works out modify, delete, insert and errors for an async CommonJS plugin', async () => {
    const res = await run(nodeImage, { cmd: ['plugin', '--entrypoint', 'editing.cjs'], binds: [JS], input: pluginInput(loaded, 'js.editing', 'cfg') });
    expect(res.exitCode, res.stderr).toBe(0);
    const msgs = pluginMessages(res.stdout);
    const note = dirs.findIndex((d) => d.type === 'Note');
    const event = dirs.findIndex((d) => d.type === 'Event');
    const query = dirs.findIndex((d) => d.type === 'Query');
    expect(msgs.filter((m) => m.type === 'modify').map((m) => (m as { index: number }).index)).toEqual([note, event]);
    expect(msgs.find((m) => m.type === 'modify' && m.index === event)).toMatchObject({ directive: { description: 'Zürich (cfg)' } });
    expect(msgs.filter((m) => m.type === 'delete')).toEqual([{ type: 'delete', index: query }]);
    expect(msgs.filter((m) => m.type === 'insert')).toHaveLength(1);
    expect(msgs.filter((m) => m.type === 'error')).toEqual([
      { type: 'error', message: 'dropped a query', source: { filename: '/ledger/all-directives.beancount', lineno: expect.any(Number) }, index: query },
    ]);
    expect(msgs.at(-1)).toEqual({ type: 'done', counts: { kept: dirs.length - 3, modified: 2, inserted: 1, deleted: 1, errors: 1 } });
  });

  it('a thrown error becomes an error line with the stack; the input passes through', async () => {
    const res = await run(nodeImage, { cmd: ['plugin', '--entrypoint', 'throwing.mjs'], binds: [JS], input: pluginInput(loaded, 'js.throwing', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    const msgs = pluginMessages(res.stdout);
    expect(msgs[0]).toEqual({ type: 'keep', from: 0, to: dirs.length });
    expect(msgs[1]).toMatchObject({ type: 'error', source: { filename: '<load>', lineno: 0 }, index: null });
    expect((msgs[1] as { message: string }).message).toMatch(/^Error applying plugin "js.throwing": Error: js boom[\s\S]*throwing\.mjs/);
  });

  it('refuses a broken stream with exit 3 and no output', async () => {
    const lines = pluginInput(loaded, 'js.identity', null).split('\n');
    const res = await run(nodeImage, { cmd: ['plugin', '--entrypoint', 'identity.mjs'], binds: [JS], input: lines.slice(0, -2).join('\n') + '\n' });
    expect(res.exitCode).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('protocol error');
  });
});
