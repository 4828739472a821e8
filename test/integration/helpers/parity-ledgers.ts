// Ledgers for the parity suite, all made at test time: bean-example ledgers (fixed seeds),
// the same with plugin lines and small snippets added, and the ledgers Beancount's own
// plugin tests load (collected by running those tests, see parity_upstream_ledgers.py).
// Beancount's own scripts run in the Python runner image (parity-reference.ts), not on the host.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './cli.js';
import { referencePython } from './parity-reference.js';

export const PARITY_FIXTURES = path.join(ROOT, 'test', 'fixtures', 'parity');
const UPSTREAM_SCRIPT = path.join(ROOT, 'test', 'integration', 'helpers', 'parity_upstream_ledgers.py');

export interface PluginLine {
  name: string;
  config?: string;
}

/** Writes `bean-example -s SEED` over [begin, end) into `file`; returns its text. */
export async function beanExample(file: string, seed: number, begin: string, end: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  // what the bean-example command runs, with its arguments
  const argv = ['bean-example', '-s', String(seed), '--date-begin', begin, '--date-end', end, '-o', file];
  const script = `import sys; from beancount.scripts import example; sys.argv = ${JSON.stringify(argv)}; example.main()`;
  await referencePython(['-c', script], { write: [path.dirname(file)] });
  return readFile(file, 'utf8');
}

/** A Beancount string literal (the configs here hold no double quotes or backslashes). */
function quote(s: string): string {
  if (/["\\\n]/.test(s)) throw new Error(`config ${JSON.stringify(s)}: write it without double quotes, backslashes or newlines`);
  return `"${s}"`;
}

export function pluginLine(l: PluginLine): string {
  return `plugin ${quote(l.name)}${l.config === undefined ? '' : ` ${quote(l.config)}`}`;
}

/**
 * Writes `file`: the plugin lines, then `base`, then each snippet. With `disabled`, the plugin
 * lines are comments: the same ledger, line for line, without its plugins.
 */
export async function writeLedger(
  file: string,
  base: string,
  lines: readonly PluginLine[],
  snippets: readonly string[] = [],
  opts: { disabled?: boolean } = {},
): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  const head = lines.map((l) => `${opts.disabled ? '; ' : ''}${pluginLine(l)}\n`).join('');
  const parts = [head, base];
  for (const s of snippets) parts.push(`\n; --- ${s}\n`, await readFile(path.join(PARITY_FIXTURES, s), 'utf8'));
  await writeFile(file, parts.join(''));
  return file;
}

export interface UpstreamLedger {
  /** The plugin module under test (beancount.plugins.<plugin>). */
  plugin: string;
  /** The upstream test that loaded this ledger. */
  test: string;
  file: string;
  sideFiles: string[];
  /** The test called the plugin function itself; the ledger got the plugin line. */
  addedPluginLine: boolean;
}

export interface UpstreamSkip {
  plugin: string;
  test: string;
  why: string;
}

/** Runs Beancount 2.3.5's plugin tests (in the runner image), collecting the ledgers they load into `dir`. */
export async function upstreamLedgers(dir: string): Promise<{ ledgers: UpstreamLedger[]; skipped: UpstreamSkip[] }> {
  await mkdir(dir, { recursive: true });
  const stdout = await referencePython([UPSTREAM_SCRIPT, dir], { write: [dir] });
  const ledgers: UpstreamLedger[] = [];
  const skipped: UpstreamSkip[] = [];
  for (const line of stdout.split('\n').filter(Boolean)) {
    const o = JSON.parse(line) as UpstreamLedger & { skipped?: string; why?: string };
    if (o.skipped) skipped.push({ plugin: o.plugin, test: o.skipped, why: o.why ?? '' });
    else ledgers.push(o);
  }
  return { ledgers, skipped };
}

/** The first `#trip-...` tag bean-example wrote (its trips depend on the seed and years). */
export function firstTripTag(text: string): string {
  const m = /#(trip-[a-z0-9-]+)/.exec(text);
  if (!m) throw new Error('the bean-example ledger has no #trip- tag; pick years with a trip');
  return m[1]!;
}
