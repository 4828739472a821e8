import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { DIRECTIVE_TYPES, DirectiveSchema } from '../../src/ledger/directive-schema.js';
import { PluginMessageSchema } from '../../src/protocol/messages.js';
import { ROOT } from './helpers/cli.js';
import { jsonLines, pluginInput, runStage, type StageOptions } from './helpers/runner-container.js';

const FIX = path.join(ROOT, 'test', 'fixtures');
const LEDGERS = `${path.join(FIX, 'ledgers')}:/ledger:ro`;
const CHECKS = `${path.join(FIX, 'runner')}:/check:ro`;
const bundle = (name: string) => `${path.join(FIX, 'plugins', name)}:/plugin:ro`;

let engine: Engine;
let image: string;
const runId = newRunId();
const run = (o: Omit<StageOptions, 'image' | 'runId'>) => runStage(engine, { image, runId, ...o });

/** Every line a plugin stage writes must be a valid protocol message, ending with done. */
function pluginMessages(stdout: string) {
  const msgs = jsonLines(stdout).map((m) => PluginMessageSchema.parse(m));
  expect(msgs.at(-1)?.type).toBe('done');
  return msgs;
}

async function load(ledger: string, binds = [LEDGERS]) {
  const res = await run({ cmd: ['load', '--ledger', ledger], binds });
  expect(res.exitCode, res.stderr).toBe(0);
  return jsonLines(res.stdout);
}

beforeAll(async () => {
  engine = createDockerEngine();
  image = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
});

describe('python runner: load stage', () => {
  it('reports options, sandbox options, plugin lines, errors and schema-valid directives', async () => {
    const out = await load('/ledger/all-directives.beancount');
    expect(out.map((l) => l.type).filter((t, i, a) => a.indexOf(t) === i)).toEqual(['options', 'plugins', 'error', 'directive', 'done']);
    const opts = out[0] as { options: Record<string, unknown>; sandbox: Record<string, unknown> };
    expect(opts.sandbox).toEqual({ plugin_sandbox: null, plugin_timeout: '30s', plugin_memory_limit: '256M' });
    expect(Object.keys(opts.options)).not.toContain('plugin_timeout');
    expect(out[1]).toEqual({
      type: 'plugins',
      processing_mode: 'default',
      pre: ['beancount.ops.pad', 'beancount.ops.documents'],
      plugins: [{ name: 'beancount.plugins.implicit_prices', config: null, filename: '/ledger/all-directives.beancount', lineno: 8 }],
      post: ['beancount.ops.balance'],
    });
    // the sandbox options are not "Invalid option" errors; the only error is the missing document
    const errors = out.filter((l) => l.type === 'error');
    expect(errors.map((e) => e.kind)).toEqual(['DocumentError']);
    const dirs = out.filter((l) => l.type === 'directive').map((l) => DirectiveSchema.parse(l.directive));
    expect(errors[0]!.index).toBe(dirs.findIndex((d) => d.type === 'Document'));
    expect(new Set(dirs.map((d) => d.type))).toEqual(new Set(DIRECTIVE_TYPES));
    // pad ran here, before the plugins, as in Beancount
    expect(dirs.some((d) => d.type === 'Transaction' && d.flag === 'P')).toBe(true);
    expect(out.at(-1)).toEqual({ type: 'done', count: dirs.length, errors: 1 });
  });
});

describe('python runner: plugin stage', () => {
  let loaded: Array<Record<string, unknown>>;
  let count: number;
  beforeAll(async () => {
    loaded = await load('/ledger/all-directives.beancount');
    count = loaded.filter((l) => l.type === 'directive').length;
  });

  it('codec round trip is lossless for every directive and metadata type (in-container check)', async () => {
    const res = await run({ entrypoint: ['python3', '-I', '-B', '/check/roundtrip_check.py'], cmd: ['/ledger/all-directives.beancount'], binds: [LEDGERS, CHECKS] });
    expect(res.exitCode, res.stderr).toBe(0);
    const [report] = jsonLines(res.stdout);
    expect(report).toMatchObject({ problems: [], options_problem: null });
    expect(report!.types).toEqual([...DIRECTIVE_TYPES].sort());
  });

  it('an identity plugin returns the input exactly', async () => {
    const res = await run({ cmd: ['plugin', '--entrypoint', 'identity.py', '--name', 'identity'], binds: [bundle('identity')], input: pluginInput(loaded, 'identity', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(pluginMessages(res.stdout)).toEqual([
      { type: 'keep', from: 0, to: count },
      { type: 'done', counts: { kept: count, modified: 0, inserted: 0, deleted: 0, errors: 0 } },
    ]);
  });

  it('a plugin that reaches Beancount modules only as attributes of `beancount` finds them, as in-process', async () => {
    // Beancount's loader has imported them before a plugin runs in-process; here they come on first use (sbx_runner/lazy_submodules.py)
    const res = await run({ cmd: ['plugin', '--entrypoint', 'attr_imports.py', '--name', 'test.attr-imports'], binds: [bundle('attr-imports')], input: pluginInput(loaded, 'test.attr-imports', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    const msgs = pluginMessages(res.stdout);
    expect(msgs.filter((m) => m.type === 'error')).toEqual([]);
    const txns = loaded.filter((l) => l.type === 'directive' && (l.directive as { type: string }).type === 'Transaction').length;
    const modified = msgs.filter((m) => m.type === 'modify') as Array<{ directive: { tags: string[] } }>;
    expect(txns).toBeGreaterThan(0);
    expect(modified).toHaveLength(txns);
    expect(modified.every((m) => m.directive.tags.includes('attr-imports'))).toBe(true);
  });

  it('a plugin printing to stdout (print, sys.__stdout__, fd 1, a child process) does not corrupt the protocol', async () => {
    const res = await run({ cmd: ['plugin', '--entrypoint', 'noisy.py'], binds: [bundle('noisy')], input: pluginInput(loaded, 'noisy', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(pluginMessages(res.stdout)).toEqual([
      { type: 'keep', from: 0, to: count },
      { type: 'done', counts: { kept: count, modified: 0, inserted: 0, deleted: 0, errors: 0 } },
    ]);
    for (const s of ['plain text on sys.stdout', 'text on sys.__stdout__', '{"type":"keep","from":0,"to":1}', 'child process stdout']) {
      expect(res.stderr).toContain(s);
    }
  });

  it('exceptions become errors with the traceback, and the next function still runs', async () => {
    const res = await run({ cmd: ['plugin', '--entrypoint', 'raising.py'], binds: [bundle('raising')], input: pluginInput(loaded, 'raising', 'cfg') });
    expect(res.exitCode, res.stderr).toBe(0);
    const msgs = pluginMessages(res.stdout);
    const errors = msgs.filter((m) => m.type === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ source: { filename: '<load>', lineno: 0 }, index: null });
    expect(errors[0]!.message).toMatch(/^Error applying plugin "raising": Traceback[\s\S]*raising\.py[\s\S]*RuntimeError: boom: cfg/);
    expect(errors[1]).toEqual({ type: 'error', message: 'complaint about the first entry', source: { filename: '/ledger/all-directives.beancount', lineno: expect.any(Number) }, index: 0 });
    expect(msgs.at(-1)).toEqual({ type: 'done', counts: { kept: count, modified: 0, inserted: 0, deleted: 0, errors: 2 } });
  });

  it('SystemExit in a plugin ends the stage without done (as it ends a Beancount run)', async () => {
    const res = await run({ cmd: ['plugin', '--entrypoint', 'exiting.py'], binds: [bundle('exiting')], input: pluginInput(loaded, 'exiting', null) });
    expect(res.exitCode).toBe(4);
    expect(res.stdout).toBe('');
    expect(res.stderr).toContain('SystemExit');
  });

  it('works out modify (in place and _replace), delete and insert for a package plugin', async () => {
    const res = await run({ cmd: ['plugin', '--entrypoint', 'mutating_pkg'], binds: [bundle('mutating')], input: pluginInput(loaded, 'mutating', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    const msgs = pluginMessages(res.stdout);
    const dirs = loaded.filter((l) => l.type === 'directive').map((l) => l.directive as { type: string });
    const note = dirs.findIndex((d) => d.type === 'Note');
    const event = dirs.findIndex((d) => d.type === 'Event');
    const query = dirs.findIndex((d) => d.type === 'Query');
    expect(msgs.filter((m) => m.type === 'modify').map((m) => (m as { index: number }).index)).toEqual([note, event]);
    expect(msgs.find((m) => m.type === 'modify' && m.index === note)).toMatchObject({ directive: { meta: { touched: true } } });
    expect(msgs.find((m) => m.type === 'modify' && m.index === event)).toMatchObject({ directive: { description: 'Zürich (edited)' } });
    expect(msgs.filter((m) => m.type === 'delete')).toEqual([{ type: 'delete', index: query }]);
    expect(msgs.filter((m) => m.type === 'insert')).toMatchObject([{ directive: { type: 'Event', event_type: 'added', date: '2000-06-01' } }]);
    expect(msgs.at(-1)).toEqual({ type: 'done', counts: { kept: count - 3, modified: 2, inserted: 1, deleted: 1, errors: 0 } });
  });

  it('a builtin plugin (implicit_prices) inserts the same prices as Beancount in process', async () => {
    const res = await run({ cmd: ['plugin', '--module', 'beancount.plugins.implicit_prices'], input: pluginInput(loaded, 'beancount.plugins.implicit_prices', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    const inserted = pluginMessages(res.stdout).filter((m) => m.type === 'insert').map((m) => (m as { directive: unknown }).directive);
    expect(inserted.length).toBeGreaterThan(0);
    // Beancount itself, loading the same ledger (whose plugin line is implicit_prices)
    const script = [
      "import sys, json; sys.path[:0] = ['/opt/sandboxctl', '/usr/lib/python3/dist-packages']",
      'from beancount import loader; from sbx_runner.codec import encode_directive',
      "entries, _, _ = loader.load_file('/ledger/all-directives.beancount')",
      "print(json.dumps([encode_directive(e) for e in entries if '__implicit_prices__' in e.meta]))",
    ].join('\n');
    const ref = await run({ entrypoint: ['python3', '-I', '-B', '-c', script], cmd: [], binds: [LEDGERS] });
    expect(ref.exitCode, ref.stderr).toBe(0);
    expect(inserted).toEqual(JSON.parse(ref.stdout));
  });

  it('refuses a broken stream with exit 3 and no output', async () => {
    const input = pluginInput(loaded, 'identity', null).split('\n');
    const cases = [
      input.slice(1).join('\n'), // no header
      [...input.slice(0, 3), input.at(-2)].join('\n') + '\n', // end too early
      input.slice(0, -2).join('\n') + '\n', // no end
      input[0] + '\nnot json\n',
    ];
    for (const text of cases) {
      const res = await run({ cmd: ['plugin', '--entrypoint', 'identity.py'], binds: [bundle('identity')], input: text });
      expect(res.exitCode, res.stderr).toBe(3);
      expect(res.stdout).toBe('');
      expect(res.stderr).toContain('protocol error');
    }
  });
});

describe('python runner: a bean-example ledger (40 years, fixed seed)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sbx-example-'));
    chmodSync(dir, 0o777);
    const gen = "import sys; sys.path.append('/usr/lib/python3/dist-packages'); from beancount.scripts import example; sys.argv = ['bean-example', '-s', '7', '--date-begin', '1985-01-01', '--date-end', '2025-01-01', '-o', '/out/example.beancount']; example.main()";
    const res = await run({ entrypoint: ['python3', '-I', '-c', gen], cmd: [], binds: [`${dir}:/out`] });
    expect(res.exitCode, res.stderr).toBe(0);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips every directive and goes through an identity plugin unchanged', async () => {
    const binds = [`${dir}:/ledger:ro`, CHECKS];
    const check = await run({ entrypoint: ['python3', '-I', '-B', '/check/roundtrip_check.py'], cmd: ['/ledger/example.beancount'], binds });
    expect(check.exitCode, check.stderr).toBe(0);
    const [report] = jsonLines(check.stdout);
    expect(report).toMatchObject({ problems: [], options_problem: null });
    expect(report!.directives as number).toBeGreaterThan(20_000);

    const loaded = await load('/ledger/example.beancount', binds);
    const dirs = loaded.filter((l) => l.type === 'directive');
    for (const d of dirs) DirectiveSchema.parse(d.directive);
    const res = await run({ cmd: ['plugin', '--entrypoint', 'identity.py', '--name', 'identity'], binds: [bundle('identity')], input: pluginInput(loaded, 'identity', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(pluginMessages(res.stdout)).toEqual([
      { type: 'keep', from: 0, to: dirs.length },
      { type: 'done', counts: { kept: dirs.length, modified: 0, inserted: 0, deleted: 0, errors: 0 } },
    ]);
  });
});

describe('python runner: finalize and print stages', () => {
  it('finalize runs the balance op and validation, with Beancount error kinds', async () => {
    const loaded = await load('/ledger/finalize.beancount');
    const dirs = loaded.filter((l) => l.type === 'directive').map((l) => l.directive as { type: string });
    const res = await run({ cmd: ['finalize'], input: pluginInput(loaded, 'sandboxctl.finalize', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    const msgs = jsonLines(res.stdout);
    const balance = dirs.findIndex((d) => d.type === 'Balance');
    // the balance op records the difference on the failing Balance directive
    expect(msgs.find((m) => m.type === 'modify')).toMatchObject({ index: balance, directive: { diff_amount: { number: '10.00', currency: 'USD' } } });
    const kinds = msgs.filter((m) => m.type === 'error').map((m) => m.kind);
    expect(kinds).toContain('BalanceError');
    expect(kinds).toContain('ValidationError');
    expect(msgs.find((m) => m.kind === 'BalanceError')).toMatchObject({ index: balance, source: { filename: '/ledger/finalize.beancount', lineno: 9 } });
    expect(msgs.at(-1)).toMatchObject({ type: 'done' });
  });

  it('print escapes every string so the text parses back to the same strings (the stock printer does not)', async () => {
    const res = await run({ entrypoint: ['python3', '-I', '-B', '/check/print_check.py'], cmd: [], binds: [CHECKS] });
    expect(res.exitCode, res.stderr).toBe(0);
    const [report] = jsonLines(res.stdout);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report!.stock).toEqual(['Custom', 'Document', 'Event', 'Note', 'Query']);
  });

  it('print writes a ledger Beancount reads back with the same directive count', async () => {
    const loaded = await load('/ledger/all-directives.beancount');
    const res = await run({ cmd: ['print'], input: pluginInput(loaded, 'sandboxctl.print', null) });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('2000-01-11 note Assets:Bank:Checking "Called the bank, said \\"ok\\""');
    const script = [
      "import sys; sys.path.append('/usr/lib/python3/dist-packages')",
      'from beancount.parser import parser',
      'entries, errors, _ = parser.parse_string(sys.stdin.read())',
      'print(len(entries), len(errors))',
    ].join('\n');
    const back = await run({ entrypoint: ['python3', '-I', '-c', script], cmd: [], input: res.stdout });
    const n = loaded.filter((l) => l.type === 'directive').length;
    expect(back.stdout.trim()).toBe(`${n} 0`);
  });
});
