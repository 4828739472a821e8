// `sandboxctl run LEDGER` as a user runs it: the real CLI, the real engine.
import { createHash } from 'node:crypto';
import { access, chmod, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { referencePython } from './helpers/parity-reference.js';

const QUICKSTART = path.join(ROOT, 'examples', 'quickstart');
const FIXTURES = path.join(ROOT, 'test', 'fixtures');
let tmp: string;
let env: NodeJS.ProcessEnv;

const sha = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');
const exists = (f: string) => access(f).then(() => true, () => false);

async function ledgerWith(name: string, head: string, pluginsDirs: string[]): Promise<{ ledger: string; args: string[] }> {
  const dir = await mkdtemp(path.join(tmp, `${name}-`));
  // readable by the sandbox's user, as a ledger directory normally is
  await chmod(dir, 0o755);
  const body = (await readFile(path.join(QUICKSTART, 'main.beancount'), 'utf8')).replace(/^(option "plugin_|plugin ).*$/gm, '');
  const ledger = path.join(dir, 'main.beancount');
  await writeFile(ledger, head + '\n' + body);
  return { ledger, args: pluginsDirs.flatMap((d) => ['--plugins-dir', d]) };
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-ledger-cli-'));
  env = { SANDBOXCTL_AUDIT_LOG: path.join(tmp, 'audit.jsonl') };
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('sandboxctl run LEDGER', () => {
  it('runs the quickstart ledger through builtin, Python and JavaScript plugins, leaving the input untouched', async () => {
    const dir = await mkdtemp(path.join(tmp, 'qs-'));
    await chmod(dir, 0o755);
    await cp(QUICKSTART, dir, { recursive: true });
    const ledger = path.join(dir, 'main.beancount');
    const before = await sha(ledger);
    const out = path.join(dir, 'out.beancount');
    const res = await runCli(['run', ledger, '--plugins-dir', path.join(dir, 'plugins'), '--profile', 'standard', '-o', out], { env });
    expect(res.code, res.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    expect(text).toMatch(/2024-02-01 \* "Landlord Ltd" "February rent" #large/); // JS plugin + Python plugin
    expect(text).toMatch(/2024-02-03 \* "Corner Market" "Groceries"\n/); // below the threshold: not tagged
    expect(text).toMatch(/2024-02-06 price VWCE +110\.20 EUR/); // implicit_prices
    // the ledger's own options lead the printed ledger; the sandbox's and the plugin lines do not
    expect(text).toMatch(/^option "title" "Quickstart household"\noption "operating_currency" "EUR"\n\n/);
    expect(text).not.toMatch(/plugin/);
    expect(await sha(ledger)).toBe(before);
    // the sandbox's own ledger options are not reported as unknown options
    expect(res.stderr).not.toMatch(/Invalid option/);
    expect(res.stderr).toMatch(/ok: 17 directives in, 18 out; 4 plugin run\(s\), 0 error\(s\)/);
  });

  it('prints the ledger\'s options, so a ledger with renamed roots and its own tolerances reads back the same', async () => {
    const dir = await mkdtemp(path.join(tmp, 'options-'));
    await chmod(dir, 0o755);
    const ledger = path.join(dir, 'main.beancount');
    await writeFile(ledger, [
      'option "title" "Les \\"comptes\\" de la maison"',
      'option "name_assets" "Actifs"',
      'option "name_expenses" "Depenses"',
      'option "operating_currency" "EUR"',
      'option "operating_currency" "CHF"',
      'option "inferred_tolerance_default" "EUR:0.05"',
      'option "inferred_tolerance_default" "*:0.001"',
      'option "inferred_tolerance_multiplier" "3"',
      'option "booking_method" "FIFO"',
      'option "plugin_processing_mode" "raw"',
      'option "plugin_timeout" "60"',
      'plugin "beancount.plugins.implicit_prices"',
      '2024-01-01 open Actifs:Banque EUR',
      '2024-01-01 open Actifs:Titres',
      '2024-01-01 open Depenses:Courses EUR',
      // off by 0.02 EUR: balanced within 3 x 0.01, an error under Beancount's default 0.5 x 0.01
      '2024-01-05 * "Marche" "Legumes"',
      '  Depenses:Courses  10.02 EUR',
      '  Actifs:Banque    -10.00 EUR',
      '2024-01-06 * "Achat"',
      '  Actifs:Titres  2 ABC {5.00 EUR}',
      '  Actifs:Banque  -10.00 EUR',
      '',
    ].join('\n'));
    const out = path.join(dir, 'out.beancount');
    const res = await runCli(['run', ledger, '--profile', 'standard', '-o', out], { env });
    expect(res.code, res.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    expect(text).toContain('option "title" "Les \\"comptes\\" de la maison"\n');
    expect(text).toContain('option "inferred_tolerance_default" "EUR:0.05"\noption "inferred_tolerance_default" "*:0.001"\n');
    expect(text).toContain('option "inferred_tolerance_multiplier" "3"\noption "operating_currency" "EUR"\noption "operating_currency" "CHF"\n');
    expect(text).toContain('option "booking_method" "FIFO"\noption "plugin_processing_mode" "raw"\n');
    expect(text).not.toMatch(/^plugin /m);
    // Beancount itself (in-process, in the Python runner image) loads the printed ledger: no
    // errors, the same options, the same directives
    const script = [
      'import sys, json',
      'from beancount import loader',
      'from beancount.parser import printer',
      'def load(f):',
      '    entries, errors, o = loader.load_file(f)',
      "    keys = ['title', 'name_assets', 'name_expenses', 'operating_currency', 'inferred_tolerance_default', 'inferred_tolerance_multiplier', 'booking_method', 'plugin_processing_mode']",
      '    return {"errors": [e.message for e in errors], "options": {k: str(o[k]) for k in keys},',
      '            "entries": [printer.format_entry(e) for e in entries]}',
      'print(json.dumps([load(sys.argv[1]), load(sys.argv[2])]))',
    ].join('\n');
    const stdout = await referencePython(['-c', script, ledger, out], { read: [dir] });
    const [orig, back] = JSON.parse(stdout) as { errors: string[]; options: Record<string, string>; entries: string[] }[];
    expect(orig!.errors.filter((e) => !/plugin_timeout/.test(e))).toEqual([]);
    expect(back!.errors).toEqual([]);
    expect(back!.options).toEqual(orig!.options);
    expect(back!.options.booking_method).toBe('Booking.FIFO');
    // internal metadata (implicit_prices' __implicit_prices__) is not printed, as in Beancount's printer
    const printable = (entries: string[]) => entries.map((e) => e.replace(/^ +__\w+__: .*\n/gm, ''));
    expect(back!.entries).toEqual(printable(orig!.entries));
    expect(back!.entries.length).toBe(6);
  });

  it('refuses a plugin that asks for more than the profile allows, in the ledger-error form, and writes nothing', async () => {
    const { ledger, args } = await ledgerWith('refuse', 'plugin "test.wants-network"', [path.join(FIXTURES, 'plugins')]);
    const out = path.join(path.dirname(ledger), 'out.beancount');
    const res = await runCli(['run', ledger, ...args, '--profile', 'standard', '-o', out], { env });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('error: Plugin execution blocked by sandbox');
    expect(res.stderr).toContain(`--> ${ledger}:1:1`);
    expect(res.stderr).toContain('1 | plugin "test.wants-network"');
    expect(res.stderr).toContain('  | ^^^^^^^^^^^^^^^^^^^^^^^^^^^');
    expect(res.stderr).toMatch(/= reason: capabilities\.network: asks for egress/);
    expect(await exists(out)).toBe(false);
  });

  it('writes the ledger to stdout when no -o is given, the report to stderr, and leaves no staged file behind', async () => {
    const { ledger, args } = await ledgerWith('stdout', 'plugin "beancount.plugins.implicit_prices"', []);
    // the result is staged under TMPDIR when there is no -o to stage it beside
    const staging = await mkdtemp(path.join(tmp, 'staging-'));
    const res = await runCli(['run', ledger, ...args, '--profile', 'standard'], { env: { ...env, TMPDIR: staging } });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/^ok: \d+ directives in, \d+ out; 1 plugin run\(s\), 0 error\(s\)$/m);
    expect(res.stderr).not.toMatch(/wrote/);
    const out = path.join(path.dirname(ledger), 'out.beancount');
    const toFile = await runCli(['run', ledger, ...args, '--profile', 'standard', '-o', out], { env });
    expect(toFile.code, toFile.stderr).toBe(0);
    expect(res.stdout).toMatch(/price /);
    expect(res.stdout).toBe(await readFile(out, 'utf8'));
    expect(await readdir(staging)).toEqual([]);
  });

  it('refuses a plugin line with no installed bundle', async () => {
    const { ledger, args } = await ledgerWith('missing', 'plugin "acme.not-installed"', []);
    const res = await runCli(['run', ledger, ...args, '--json', '-o', path.join(tmp, 'never.beancount')], { env });
    expect(res.code).toBe(3);
    const report = JSON.parse(res.stdout);
    expect(report.status).toBe('refused');
    expect(report.errors[0]).toMatchObject({ code: 'refused', plugin: 'acme.not-installed', source: { filename: ledger, lineno: 1 } });
  });

  it('honours the ledger\'s plugin_timeout, stopping a plugin that runs too long', async () => {
    const { ledger, args } = await ledgerWith('timeout', 'option "plugin_timeout" "1"\nplugin "test.sleep-forever"', [path.join(FIXTURES, 'plugins')]);
    const t0 = Date.now();
    const res = await runCli(['run', ledger, ...args, '--profile', 'standard', '--json', '-o', path.join(tmp, 'never2.beancount')], { env });
    expect(res.code).toBe(4);
    const report = JSON.parse(res.stdout);
    expect(report.errors.at(-1)).toMatchObject({ code: 'violation:timeout', plugin: 'test.sleep-forever' });
    // the manifest allows 3 s; the ledger tightened it to 1 s
    expect(report.errors.at(-1).message).toMatch(/1 s|1s|1000 ?ms/);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('points a plugin\'s error at the directive\'s own line, and keeps the result as Beancount would', async () => {
    const { ledger, args } = await ledgerWith('plugin-error', 'plugin "test.reports-error"', [path.join(FIXTURES, 'ledger-cli', 'plugins')]);
    const out = path.join(path.dirname(ledger), 'out.beancount');
    const res = await runCli(['run', ledger, ...args, '--profile', 'standard', '-o', out], { env });
    expect(res.code, res.stderr).toBe(1);
    const lines = (await readFile(ledger, 'utf8')).split('\n');
    const lineNo = lines.findIndex((l) => l.startsWith('2024-01-01 * "opening balance"')) + 1;
    expect(res.stderr).toMatch(new RegExp(`error: suspicious transaction\\n +--> ${ledger.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lineNo}:1`));
    expect(res.stderr).toContain(`${lineNo} | 2024-01-01 * "opening balance"`);
    expect(res.stderr).toContain('= plugin: test.reports-error');
    expect(await exists(out)).toBe(true);
  });

  it('never lets a plugin\'s terminal escape sequence reach the terminal', async () => {
    const { ledger, args } = await ledgerWith('escape', 'plugin "test.reports-error" "escape"', [path.join(FIXTURES, 'ledger-cli', 'plugins')]);
    const out = path.join(path.dirname(ledger), 'out.beancount');
    const res = await runCli(['run', ledger, ...args, '--profile', 'standard', '-o', out], { env });
    expect(res.code).toBe(4);
    expect(res.stderr).toContain('Plugin stopped by sandbox: invalid output');
    expect(res.stderr).toMatch(/control or format character U\+001B/);
    expect(res.stderr).not.toContain('\u001b');
    expect(await exists(out)).toBe(false);
  });

  it('refuses to read a root-owned ledger the sandbox user cannot read, saying how to fix it', async () => {
    const dir = await mkdtemp(path.join(tmp, 'private-'));
    await writeFile(path.join(dir, 'main.beancount'), '2024-01-01 open Assets:Cash\n');
    const res = await runCli(['run', path.join(dir, 'main.beancount')], { env });
    if (process.getuid?.() !== 0) return; // only root owns files as root
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not readable by others/);
    expect(res.stderr).toMatch(/chmod o\+rx/);
  });

  it('says plainly when the input is not a ledger file', async () => {
    const res = await runCli(['run', path.join(tmp, 'nope.beancount')], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/is not a ledger file/);
  });
});

describe('sandboxctl plugin', () => {
  it('lists the shipped builtin bundles and inspects one with its grant', async () => {
    const list = await runCli(['plugin', 'list', '--json']);
    expect(list.code).toBe(0);
    const names = JSON.parse(list.stdout).plugins.map((p: { name: string }) => p.name);
    expect(names).toContain('beancount.plugins.implicit_prices');
    expect(names.filter((n: string) => n.startsWith('beancount.plugins.'))).toHaveLength(28);
    const inspect = await runCli(['plugin', 'inspect', 'beancount.plugins.implicit_prices', '--profile', 'standard', '--json']);
    expect(inspect.code).toBe(0);
    const plan = JSON.parse(inspect.stdout).plans[0];
    expect(plan.decision).toMatchObject({ kind: 'grant', profile: 'standard', capabilities: { effects: ['add'], network: 'none', ledger: 'none' } });
    const missing = await runCli(['plugin', 'inspect', 'acme.absent']);
    expect(missing.code).toBe(2);
  });
});
