// Same result as Beancount: `sandboxctl run LEDGER` (every plugin sandboxed) gives the same
// directives and the same errors, in the same order, as Beancount 2.3.5 running the same
// ledger in-process (test/reference/in_process.py, run in the Python runner image so the host
// needs no Beancount), with the builtins in their own containers and in the trusted session.
// Ledgers: a bean-example ledger with each builtin plugin, the ledgers of Beancount's own
// plugin tests, and chains.
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_PLUGINS, exampleCases, type Effect, type ExampleCase } from './helpers/parity-cases.js';
import { compareOutcomes } from './helpers/parity-compare.js';
import { beanExample, firstTripTag, PARITY_FIXTURES, upstreamLedgers, writeLedger, type PluginLine } from './helpers/parity-ledgers.js';
import { inProcess, requireReferenceBeancount, type Outcome } from './helpers/parity-reference.js';
import { runSandboxed, type SandboxedOutcome } from './helpers/parity-sandboxed.js';
import { hostPathWorkDir, removeWorkDir } from './helpers/work-dir.js';

// Fixed inputs: the same ledgers on every machine.
const EXAMPLE = { seed: 7, begin: '2021-01-01', end: '2024-01-01' };
const CHAIN_EXAMPLE = { seed: 11, begin: '2019-01-01', end: '2024-01-01' };
// Each sandboxctl run starts several containers; two at once keep both cores busy.
const PARALLEL_RUNS = Number(process.env.SANDBOXCTL_PARITY_PARALLEL ?? 2);

// Collected once, when the file loads: the test list depends on them.
await requireReferenceBeancount();
// Not under /tmp: merge_meta opens the file its config names by host path, which resolves in
// its container only where the ledger's directory is also mounted at its own host path.
// (0755: the loader and the plugins read the ledgers as an unprivileged user.)
const work = await hostPathWorkDir('sbx-parity-');
const example = await beanExample(path.join(work, 'example.beancount'), EXAMPLE.seed, EXAMPLE.begin, EXAMPLE.end);
const tripTag = firstTripTag(example);
const upstream = await upstreamLedgers(path.join(work, 'upstream'));
// the runs' audit records stay with the test's files, not in the machine's log
const auditLog = path.join(work, 'audit.jsonl');
const caseDir = (id: string) => path.join(work, 'example', id.replace(/[^a-z0-9_]+/gi, '-'));
const cases = exampleCases({ dir: '<dir>', tripTag });

afterAll(async () => {
  printTimings();
  await removeWorkDir(work);
});

// --- at most PARALLEL_RUNS sandboxctl processes at a time ---------------------------------
let running = 0;
const waiting: Array<() => void> = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL_RUNS) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

const timings: Array<{ id: string; ms: number; directives: number; errors: number }> = [];
function printTimings(): void {
  if (timings.length === 0) return;
  const total = timings.reduce((s, t) => s + t.ms, 0);
  const rows = [...timings].sort((a, b) => b.ms - a.ms).slice(0, 5);
  console.log(
    `ledger parity: ${timings.length} sandboxctl runs, ${(total / 1000).toFixed(1)} s of run time (${PARALLEL_RUNS} at a time); slowest:\n` +
      rows.map((t) => `  ${(t.ms / 1000).toFixed(1)} s  ${t.id} (${t.directives} directives, ${t.errors} errors)`).join('\n'),
  );
}

/** Known differences, each with its reason: plugin (case id) -> why. None at present. */
const KNOWN_GAPS: Record<string, string> = {};

// The default profile (strict) gives plugins no ledger files; merge_meta reads one.
const NEEDS_LEDGER_READ = /^\s*plugin\s+"beancount\.plugins\.merge_meta"/m;

// Each case runs at each isolation level of Beancount's builtins: each in its own container
// (strict, or standard-isolated where the ledger must be read) and in the trusted session
// (standard). SANDBOXCTL_PARITY_ISOLATION=container or =session runs one level only.
type Level = 'container' | 'session';
const LEVELS = (process.env.SANDBOXCTL_PARITY_ISOLATION ?? 'container,session').split(',').filter(Boolean) as Level[];
function levelArgs(level: Level, needsRead: boolean): string[] {
  if (level === 'session') return ['--profile', 'standard'];
  return needsRead ? ['--profile', 'standard-isolated'] : [];
}

/** Runs both sides (the sandboxed one at each isolation level) and fails with where they first differ. */
async function compare(id: string, ledger: string, reference?: Outcome): Promise<{ sandboxed: SandboxedOutcome; reference: Outcome }> {
  const needsRead = NEEDS_LEDGER_READ.test(await readFile(ledger, 'utf8'));
  const ref = reference ?? (await inProcess(ledger));
  let last: SandboxedOutcome | undefined;
  for (const level of LEVELS) last = await compareAt(level, levelArgs(level, needsRead), id, ledger, ref);
  return { sandboxed: last!, reference: ref };
}

async function compareAt(level: Level, args: string[], id: string, ledger: string, ref: Outcome): Promise<SandboxedOutcome> {
  const sandboxed = await limited(() => runSandboxed(ledger, { args, env: { SANDBOXCTL_AUDIT_LOG: auditLog } }));
  // the level asked for is the level the builtins got
  for (const p of sandboxed.report.plugins as Array<{ name: string; isolation?: string }>) {
    if (p.name.startsWith('beancount.plugins.')) expect([id, p.name, p.isolation]).toEqual([id, p.name, level]);
  }
  id = `${id} [${level}]`;
  timings.push({ id, ms: sandboxed.ms, directives: sandboxed.directives.length, errors: sandboxed.errors.length });
  expect(ref.directives.length + ref.errors.length, 'in-process Beancount gave neither directives nor errors: nothing to compare').toBeGreaterThan(0);
  const diff = compareOutcomes(sandboxed, ref);
  if (diff) expect.fail(`${id}: sandboxctl run and in-process Beancount differ\n${diff}\n(ledger: ${ledger})`);
  // the report agrees with itself: errors mean exit 1, none mean exit 0
  expect(sandboxed.cli.code, sandboxed.cli.stderr.slice(-2000)).toBe(ref.errors.length ? 1 : 0);
  expect(sandboxed.report.ok).toBe(ref.errors.length === 0);
  return sandboxed;
}

/** The same ledger without its plugins, with filenames made comparable. */
async function withoutPlugins(c: ExampleCase, dir: string, ledger: string): Promise<Outcome> {
  const file = await writeLedger(path.join(dir, 'without-plugins.beancount'), example, c.plugins, c.snippets, { disabled: true });
  const out = await inProcess(file);
  return JSON.parse(JSON.stringify(out).replaceAll(JSON.stringify(file).slice(1, -1), JSON.stringify(ledger).slice(1, -1))) as Outcome;
}

function effects(withPlugin: Outcome, without: Outcome): Set<Effect> {
  const s = new Set<Effect>();
  if (JSON.stringify(withPlugin.directives) !== JSON.stringify(without.directives)) s.add('directives');
  if (JSON.stringify(withPlugin.errors) !== JSON.stringify(without.errors)) s.add('errors');
  if (withPlugin.errors.some((e) => e.message.startsWith('Error applying plugin'))) s.add('crash');
  return s;
}

describe(`bean-example ledger (seed ${EXAMPLE.seed}, ${EXAMPLE.begin} to ${EXAMPLE.end}) with each builtin plugin`, () => {
  it.concurrent('no plugin line: loading, booking and validation alone', async () => {
    const dir = caseDir('no-plugin');
    await compare('no plugin', await writeLedger(path.join(dir, 'ledger.beancount'), example, []));
  });

  for (const [id, reason] of Object.entries(KNOWN_GAPS)) it.skip(`${id} (known gap: ${reason})`, () => {});

  it.concurrent.each(cases.map((c) => c.id).filter((id) => !KNOWN_GAPS[id]))('%s', async (id) => {
    const dir = caseDir(id);
    const c = exampleCases({ dir, tripTag }).find((x) => x.id === id)!;
    await mkdir(dir, { recursive: true });
    for (const f of c.sideFiles ?? []) await copyFile(path.join(PARITY_FIXTURES, f), path.join(dir, f));
    const ledger = await writeLedger(path.join(dir, 'ledger.beancount'), example, c.plugins, c.snippets);
    const [reference, without] = await Promise.all([inProcess(ledger), withoutPlugins(c, dir, ledger)]);
    // the case exercises the plugin: in-process, it changes what the case says it changes
    const seen = effects(reference, without);
    for (const e of c.expect) expect(seen.has(e), `${id}: in-process, the plugin should change the ${e}; it did not`).toBe(true);
    await compare(id, ledger, reference);
  });
});

describe("the ledgers of Beancount 2.3.5's own plugin tests (beancount/plugins/*_test.py)", () => {
  it('collected a ledger for every builtin plugin test module', () => {
    const plugins = new Set(upstream.ledgers.map((l) => l.plugin));
    const expected = new Set(exampleCases({ dir: '', tripTag }).filter((c) => !c.id.startsWith('crash')).map((c) => c.id));
    expect([...expected].filter((p) => !plugins.has(p)), `skipped loads: ${JSON.stringify(upstream.skipped)}`).toEqual([]);
  });

  it.concurrent.each(upstream.ledgers.filter((l) => !KNOWN_GAPS[l.plugin]).map((l) => [l.plugin, l.test.split('.').pop()!, l] as const))('%s: %s', async (plugin, test, l) => {
    await compare(`${plugin}: ${test}`, l.file);
  });
});

describe('plugins chained in one ledger', () => {
  it.concurrent(`the five bench plugins on bean-example (seed ${CHAIN_EXAMPLE.seed}, ${CHAIN_EXAMPLE.begin} to ${CHAIN_EXAMPLE.end})`, async () => {
    const dir = path.join(work, 'chain-bench');
    const base = await beanExample(path.join(dir, 'example.beancount'), CHAIN_EXAMPLE.seed, CHAIN_EXAMPLE.begin, CHAIN_EXAMPLE.end);
    await compare('chain: bench plugins', await writeLedger(path.join(dir, 'ledger.beancount'), base, BENCH_PLUGINS, ['conversions.beancount']));
  });

  it.concurrent('plugins that transform, each seeing the previous output (order matters)', async () => {
    const dir = path.join(work, 'chain-transform');
    const chain: PluginLine[] = [
      { name: 'beancount.plugins.auto_accounts' },
      { name: 'beancount.plugins.fix_payees', config: "[('Chipotle', 'D:chichipotle')]" },
      { name: 'beancount.plugins.implicit_prices' },
      { name: 'beancount.plugins.unique_prices' },
      { name: 'beancount.plugins.split_expenses', config: 'Martin Caroline' },
      { name: 'beancount.plugins.check_commodity' },
      { name: 'beancount.plugins.unrealized', config: 'Unrealized' },
      { name: 'beancount.plugins.tag_pending' },
    ];
    const ledger = await writeLedger(path.join(dir, 'ledger.beancount'), example, chain, ['trades.beancount', 'single-posting.beancount']);
    await compare('chain: transforming plugins', ledger);
  });

  it.concurrent('raw processing mode: no pad, document or balance ops, only the ledger plugins', async () => {
    const dir = path.join(work, 'raw-mode');
    const ledger = await writeLedger(path.join(dir, 'ledger.beancount'), example, [{ name: 'beancount.plugins.implicit_prices' }], ['raw-mode.beancount']);
    await compare('raw mode', ledger);
  });
});
