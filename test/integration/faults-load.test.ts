// Twenty `sandboxctl run` processes at once, on twenty ledgers, sharing one audit log: each
// succeeds with its own correct output, the log stays one intact chain holding every run's
// records, and no container is left. Heavy on a 2-core machine: the timeout is generous.
import { readFile, mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';
import { auditRecords, containersOfRun, expectChainIntact, spawnCli } from './helpers/fault-run.js';

const RUNS = 20;
const MARK = (i: number) => `FAULTS-LOAD-${String(i).padStart(2, '0')}`;
let tmp: string;
let template: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-faults-load-'));
  await chmod(tmp, 0o755);
  // the quickstart ledger with one builtin plugin (it adds the price its cost posting implies),
  // and a mark in its title and a narration, so each run's output is told apart
  const quickstart = await readFile(path.join(ROOT, 'examples', 'quickstart', 'main.beancount'), 'utf8');
  template = quickstart
    .replace(/^plugin .*\n/gm, '')
    .replace(/^option "plugin_sandbox".*\n/m, '$&plugin "beancount.plugins.implicit_prices"\n')
    .replace('option "title" "Quickstart household"', 'option "title" "MARK"')
    .replace('"Groceries"', '"Groceries MARK"');
  expect(template.match(/^plugin /gm)).toHaveLength(1);
  expect(template.match(/MARK/g)).toHaveLength(2);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function ledger(i: number): Promise<string> {
  const file = path.join(tmp, `ledger-${i}.beancount`);
  await writeFile(file, template.replaceAll('MARK', MARK(i)), { mode: 0o644 });
  return file;
}

function start(i: number, file: string, audit: string) {
  const out = path.join(tmp, `out-${i}.beancount`);
  return { out, s: spawnCli(['run', file, '--profile', 'standard', '-o', out, '--audit-log', audit]) };
}

describe('twenty runs at once, one audit log', () => {
  it('all succeed with their own correct output; one intact chain holds every record; no container left', { timeout: 900_000 }, async () => {
    // what one run alone produces: the reference each concurrent run must match, mark for mark
    const alone = start(99, await ledger(99), path.join(tmp, 'reference-audit.jsonl'));
    expect((await alone.s.closed).code, alone.s.stderr()).toBe(0);
    const reference = await readFile(alone.out, 'utf8');
    expect(reference).toMatch(/^2024-02-06 price VWCE +110\.20 EUR$/m);
    expect(reference).toContain(MARK(99));

    const audit = path.join(tmp, 'audit.jsonl');
    const files = await Promise.all(Array.from({ length: RUNS }, (_, i) => ledger(i)));
    const runs = files.map((f, i) => start(i, f, audit));
    const exits = await Promise.all(runs.map((r) => r.s.closed));
    exits.forEach((e, i) => expect(e.code, `run ${i}: ${runs[i]!.s.stderr()}`).toBe(0));
    for (const [i, r] of runs.entries()) {
      expect(await readFile(r.out, 'utf8')).toBe(reference.replaceAll(MARK(99), MARK(i)));
    }

    // one chain: every run's two records, seq 1..40 without a gap, and it verifies
    const records = await auditRecords(audit);
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 2 * RUNS }, (_, k) => k + 1));
    const byRun = new Map<string, string[]>();
    for (const r of records) byRun.set(r.runId, [...(byRun.get(r.runId) ?? []), r.event]);
    expect(byRun.size).toBe(RUNS);
    for (const events of byRun.values()) expect(events).toEqual(['plugin-run', 'run-summary']);
    const ledgers = new Set(records.map((r) => r.ledger.path));
    expect(ledgers).toEqual(new Set(files));
    await expectChainIntact(audit, 2 * RUNS);
    for (const runId of byRun.keys()) expect(await containersOfRun(runId)).toEqual([]);
  });
});
