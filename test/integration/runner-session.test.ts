// The loader as a session (`load --host-dir DIR --session`): host paths from the start,
// then finalize and print the chain's result, with the loader's own directives sent back
// by reference. The real runner image on the real engine.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import type { Directive } from '../../src/ledger/directive-schema.js';
import { finalizeLines } from '../../src/pipeline/finalize-request.js';
import { PluginMessageSchema } from '../../src/protocol/messages.js';
import { ROOT } from './helpers/cli.js';
import { jsonLines, runStage, type StageOptions } from './helpers/runner-container.js';

const FIX = path.join(ROOT, 'test', 'fixtures');
const LEDGERS = `${path.join(FIX, 'ledgers')}:/ledger:ro`;
const HOST_DIR = '/home/admin/books';
const SESSION = ['load', '--ledger', '/ledger/finalize.beancount', '--host-dir', HOST_DIR, '--session'];

let engine: Engine;
let image: string;
const runId = newRunId();
const run = (o: Omit<StageOptions, 'image' | 'runId' | 'binds'>) => runStage(engine, { image, runId, binds: [LEDGERS], ...o });

type Msg = Record<string, any>;
let loaded: Msg[];

beforeAll(async () => {
  engine = createDockerEngine();
  image = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
  // what the loader sends before the session's request (nothing on stdin: it stops there)
  const res = await run({ cmd: SESSION });
  expect(res.exitCode, res.stderr).toBe(0);
  loaded = jsonLines(res.stdout);
});

const directives = () => loaded.filter((m) => m.type === 'directive').map((m) => m.directive as Msg);

/** A finalize request as the host sends it: `{ref: i}` items stand for the loader's directive i, the rest travel in full. */
function request(items: Msg[], print: boolean): string {
  const list = items.map((it) => (it.ref !== undefined ? { ref: it.ref } : it.directive)) as Directive[];
  const index = new Map(list.flatMap((d, k) => (items[k]!.ref !== undefined ? [[d, items[k]!.ref as number] as const] : [])));
  return JSON.stringify({ type: 'finalize', count: items.length, print, display_context: false }) + '\n' + [...finalizeLines(list, index)].join('') + '{"type":"end"}\n';
}

describe('python runner: the loader as a session', () => {
  it('speaks of host paths everywhere: directives, options, plugin lines and errors', () => {
    expect(loaded.at(-1)).toMatchObject({ type: 'done' });
    const opts = loaded.find((m) => m.type === 'options')!;
    expect(opts.options.filename).toBe(`${HOST_DIR}/finalize.beancount`);
    expect(opts.options.include).toEqual([`${HOST_DIR}/finalize.beancount`]);
    for (const d of directives()) {
      expect(d.meta.filename).toBe(`${HOST_DIR}/finalize.beancount`);
      for (const p of d.postings ?? []) if (p.meta?.filename) expect(p.meta.filename).toBe(`${HOST_DIR}/finalize.beancount`);
    }
    expect(JSON.stringify(loaded)).not.toContain('/ledger/');
  });

  it('finalizes references and full directives alike, answers like a plugin, then prints', async () => {
    const dirs = directives();
    const spend = dirs.findIndex((d) => d.type === 'Transaction' && d.narration === 'Spend');
    const balance = dirs.findIndex((d) => d.type === 'Balance');
    // everything by reference, except one directive a plugin changed (sent in full)
    const changed = { ...dirs[spend], narration: 'Spend, changed by a plugin' };
    const lines = dirs.map((_d, i) => (i === spend ? { directive: changed } : { ref: i }));
    const res = await run({ cmd: SESSION, input: request(lines, true) });
    expect(res.exitCode, res.stderr).toBe(0);
    const after = jsonLines(res.stdout).slice(loaded.length);
    const doneAt = after.findIndex((m) => m.type === 'done');
    const answer = after.slice(0, doneAt + 1).map((m) => PluginMessageSchema.parse(m));
    // the balance op records the difference on the failing Balance directive: its only modify
    const modifies = answer.filter((m) => m.type === 'modify') as Msg[];
    expect(modifies).toHaveLength(1);
    expect(modifies[0]).toMatchObject({ index: balance, directive: { diff_amount: { number: '10.00', currency: 'USD' } } });
    const errors = answer.filter((m) => m.type === 'error') as Msg[];
    expect(errors.map((e) => e.kind).sort()).toEqual(['BalanceError', 'ValidationError']);
    expect(errors.find((e) => e.kind === 'BalanceError')).toMatchObject({ index: balance, source: { filename: `${HOST_DIR}/finalize.beancount`, lineno: 9 } });
    expect(answer.at(-1)).toMatchObject({ type: 'done', counts: { kept: dirs.length - 1, modified: 1, inserted: 0, deleted: 0, errors: 2 } });
    // then the printed ledger, with the plugin's change in it
    const text = after.slice(doneAt + 1);
    expect(text.at(-1)).toEqual({ type: 'end' });
    const printed = text.slice(0, -1).map((m) => m.text).join('');
    expect(printed).toContain('2020-01-04 * "Spend, changed by a plugin"');
    expect(printed).toContain('2020-01-03 balance Assets:Cash');
  });

  it('runs builtins asked for, answers each as its container would, and knows what they made by index', async () => {
    const n = directives().length;
    const run1 = { type: 'run', name: 'beancount.plugins.auto_accounts', module: 'beancount.plugins.auto_accounts', config: null, error_only: false, input: 'current' };
    // an error-only builtin on a list sent by the host: all by reference, the Open auto_accounts made included
    const run2 = { type: 'run', name: 'beancount.plugins.check_commodity', module: 'beancount.plugins.check_commodity', config: null, error_only: true, count: n + 1 };
    const refs = [{ type: 'refs', index: 0, from: 0, count: 2 }, { type: 'refs', index: 2, from: n, count: 1 }, { type: 'refs', index: 3, from: 2, count: n - 2 }, { type: 'end' }];
    const fin = [{ type: 'finalize', count: n + 1, print: false, display_context: false }, ...refs];
    const input = [run1, run2, ...refs, ...fin].map((m) => JSON.stringify(m)).join('\n') + '\n';
    const res = await run({ cmd: SESSION, input });
    expect(res.exitCode, res.stderr).toBe(0);
    const after = jsonLines(res.stdout).slice(loaded.length);
    // auto_accounts: started, then its plugin answer, then finished
    expect(after[0]).toEqual({ type: 'started' });
    const end1 = after.findIndex((m) => m.type === 'finished');
    const answer1 = after.slice(1, end1).map((m) => PluginMessageSchema.parse(m));
    const inserted = answer1.filter((m) => m.type === 'insert') as Msg[];
    expect(inserted.map((m) => [m.directive.type, m.directive.account])).toEqual([['Open', 'Expenses:Unopened']]);
    expect(answer1.at(-1)).toMatchObject({ type: 'done', counts: { kept: n, inserted: 1, modified: 0, deleted: 0 } });
    expect(after[end1]).toMatchObject({ type: 'finished', ms: expect.any(Number), cpu_ms: expect.any(Number) });
    // check_commodity keeps all n + 1 it was sent (and reports the commodity nobody declared)
    const second = after.slice(end1 + 1);
    expect(second[0]).toEqual({ type: 'started' });
    const end2 = second.findIndex((m) => m.type === 'finished');
    expect(second.slice(1, end2).find((m) => m.type === 'done')).toMatchObject({ counts: { kept: n + 1 } });
    // finalize sees the Open by reference: no error about an account never opened
    const finAnswer = second.slice(end2 + 1).map((m) => PluginMessageSchema.parse(m)) as Msg[];
    expect(finAnswer.at(-1)).toMatchObject({ type: 'done' });
    expect(finAnswer.filter((m) => m.type === 'error').map((e) => e.kind)).toEqual(['BalanceError']);
  });

  it('runs only Beancount builtins: another module is a protocol error, exit 3', async () => {
    const req = { type: 'run', name: 'os', module: 'os', config: null, error_only: true, input: 'current' };
    const res = await run({ cmd: SESSION, input: JSON.stringify(req) + '\n' });
    expect(res.exitCode).toBe(3);
    expect(res.stderr).toContain("'os' is not a Beancount builtin plugin module");
    expect(jsonLines(res.stdout).slice(loaded.length)).toEqual([]);
  });

  it.each([
    ['past the end of what it loaded', (n: number) => ({ type: 'refs', index: 0, from: n - 1, count: 2 }), 2, (n: number) => `refs ${n - 1}+2 are not known directives`],
    ['of no directives', () => ({ type: 'refs', index: 0, from: 0, count: 0 }), 1, () => 'refs 0+0 are not known directives'],
    ['beyond the count announced', () => ({ type: 'refs', index: 0, from: 0, count: 2 }), 1, () => 'more than the 1 directives announced'],
  ])('refuses references %s, with exit 3', async (_what, line, count, message) => {
    const n = directives().length;
    const input = [{ type: 'finalize', count, print: false, display_context: false }, line(n), { type: 'end' }].map((m) => JSON.stringify(m)).join('\n') + '\n';
    const res = await run({ cmd: SESSION, input });
    expect(res.exitCode, res.stderr).toBe(3);
    expect(res.stderr).toContain(message(n));
    expect(jsonLines(res.stdout).slice(loaded.length)).toEqual([]);
  });
});
