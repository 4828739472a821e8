// `sandboxctl batch` as cron runs it: the real CLI, the real engine, twenty small ledgers
// among which a plugin that breaks its grant, one that runs out of memory, one refused by
// policy, a ledger with a syntax error and a root-owned private one.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchInputs } from '../../src/batch/inputs.js';
import type { LedgerJob } from '../../src/batch/plan.js';
import { Progress } from '../../src/batch/progress.js';
import { BatchReport, type ReportLedger } from '../../src/batch/report-schema.js';
import { runBatch } from '../../src/batch/run-batch.js';
import { openAuditLog, currentActor } from '../../src/audit/index.js';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { CreateContainerBody, Engine } from '../../src/engine/engine.js';
import { Labels } from '../../src/labels.js';
import { createLogger } from '../../src/logger.js';
import { CLI, ROOT, runCli } from './helpers/cli.js';

const FIXTURE_PLUGINS = path.join(ROOT, 'test', 'fixtures', 'plugins');
const asRoot = process.getuid?.() === 0;
let tmp: string;
let books: string;
let env: NodeJS.ProcessEnv;
const engine = createDockerEngine();

/** What each ledger is, and what the batch must say of it. */
const CASES: Array<{ name: string; expect: ReportLedger['status']; plugin?: string; text?: string }> = [
  ...Array.from({ length: 12 }, (_, i) => ({ name: `plain-${String(i).padStart(2, '0')}`, expect: 'ok' as const })),
  ...Array.from({ length: 3 }, (_, i) => ({ name: `passthrough-${i}`, expect: 'ok' as const, plugin: 'test.passthrough' })),
  { name: 'modifies-without-modify', expect: 'violation', plugin: 'test.modifies-without-modify' },
  { name: 'memory-hog', expect: 'violation', plugin: 'test.memory-hog' },
  { name: 'wants-network', expect: 'refused', plugin: 'test.wants-network' },
  { name: 'syntax-error', expect: 'errors', text: '2024-01-05 * "Shop" "unterminated\n  Assets:Cash  -1.00 EUR\n' },
];
const PRIVATE = 'private-root';

function ledgerText(i: number, plugin?: string, extra = ''): string {
  return [
    'option "operating_currency" "EUR"',
    ...(plugin ? [`plugin "${plugin}"`] : []),
    'include "accounts.beancount"',
    '',
    `2024-01-0${(i % 9) + 1} * "Shop ${i}" "food"`,
    `  Assets:Cash  -${i + 1}.00 EUR`,
    '  Expenses:Food',
    extra,
  ].join('\n');
}

async function writeLedger(name: string, i: number, plugin?: string, extra?: string, mode = 0o755): Promise<string> {
  const dir = path.join(books, name);
  await mkdir(dir, { recursive: true });
  await chmod(dir, mode);
  await writeFile(path.join(dir, 'accounts.beancount'), '2024-01-01 open Assets:Cash EUR\n2024-01-01 open Expenses:Food EUR\n');
  const ledger = path.join(dir, 'main.beancount');
  await writeFile(ledger, ledgerText(i, plugin, extra));
  return ledger;
}

const batchArgs = (...more: string[]) => ['batch', `${books}/*/main.beancount`, '--plugins-dir', FIXTURE_PLUGINS, '--profile', 'standard', '--jobs', '2', ...more];

async function readReport(dir: string): Promise<BatchReport> {
  return BatchReport.parse(JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')));
}

const byName = (r: BatchReport) => new Map(r.ledgers.map((l) => [path.basename(path.dirname(l.ledger)), l]));
const sha = async (f: string) => createHash('sha256').update(await readFile(f)).digest('hex');

/** Every name under `dir` that a batch uses for work in progress. */
async function workInProgress(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (/^\.sandboxctl-(out|copy)-|\.sandboxctl-tmp-/.test(e.name)) found.push(path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
  }
  return found;
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-batch-'));
  await chmod(tmp, 0o755);
  books = path.join(tmp, 'books');
  env = { SANDBOXCTL_AUDIT_LOG: path.join(tmp, 'audit.jsonl'), SANDBOXCTL_LOG_LEVEL: 'warn' };
  for (const [i, c] of CASES.entries()) {
    await writeLedger(c.name, i, c.plugin, c.text);
  }
  // root's own books, unreadable by anyone else, in a directory only root may enter
  const priv = await writeLedger(PRIVATE, 99, undefined, '', 0o700);
  await chmod(priv, 0o600);
  await chmod(path.join(path.dirname(priv), 'accounts.beancount'), 0o600);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe.runIf(asRoot)('sandboxctl batch', () => {
  const firstOutputs = new Map<string, string>();

  it('runs every ledger, each isolated: one failing never stops the others, and the report says which did what', async () => {
    const reportDir = path.join(tmp, 'r1');
    const res = await runCli(batchArgs('--report-dir', reportDir), { env });
    expect(res.code, res.stderr).toBe(10);
    const r = await readReport(reportDir);
    expect(res.stdout.trim()).toMatch(new RegExp(`^batch ${r.batchId}: 16 ok, 0 skipped, 4 failed \\(errors 1, refused 1, violation 2\\) in \\d+s; report: ${reportDir}/report.json$`));
    expect(r.ledgers).toHaveLength(20);
    expect(r).toMatchObject({ state: 'done', exitCode: 10, profile: 'standard', jobs: 2, totals: { ledgers: 20, ok: 16, errors: 1, refused: 1, violation: 2, notRun: 0 } });
    const got = byName(r);
    for (const c of [...CASES, { name: PRIVATE, expect: 'ok' as const }]) {
      const l = got.get(c.name)!;
      expect(l.status, `${c.name}: ${JSON.stringify(l.diagnostics)}`).toBe(c.expect);
      const output = path.join(books, c.name, 'main.out.beancount');
      if (c.expect === 'ok' || c.expect === 'errors') {
        expect(l.output).toBe(output);
        const text = await readFile(output, 'utf8');
        expect(text).toContain('Expenses:Food');
        firstOutputs.set(c.name, await sha(output));
      } else {
        expect(l.output).toBeNull();
        await expect(stat(output)).rejects.toThrow(/ENOENT/);
      }
      expect(l.runId).toMatch(/^\d{14}-[0-9a-f]{8}$/);
    }
    // what each failure was, in the ledger-error form
    expect(got.get('modifies-without-modify')!.diagnostics[0]).toMatchObject({ code: 'violation:effect', plugin: 'test.modifies-without-modify', location: { file: path.join(books, 'modifies-without-modify', 'main.beancount'), line: 2 } });
    expect(got.get('memory-hog')!.diagnostics[0]!.code).toBe('violation:memory');
    expect(got.get('memory-hog')!.plugins[0]).toMatchObject({ name: 'test.memory-hog', isolation: 'container', status: 'oom' });
    expect(got.get('wants-network')!.diagnostics[0]).toMatchObject({ code: 'refused', sourceLine: 'plugin "test.wants-network"' });
    expect(got.get('syntax-error')!.diagnostics.some((d) => d.code === 'ledger-error' && d.location?.file === path.join(books, 'syntax-error', 'main.beancount'))).toBe(true);
    expect(got.get('passthrough-0')!.plugins).toEqual([expect.objectContaining({ name: 'test.passthrough', status: 'ok', exitCode: 0 })]);

    // every run was audited under its own run id, all under the batch's id, and the chain holds
    const records = (await readFile(env.SANDBOXCTL_AUDIT_LOG!, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { runId: string; batchId?: string; event: string; ledger: { path: string } | null });
    const summaries = records.filter((x) => x.event === 'run-summary' && x.runId !== r.batchId);
    expect(new Set(summaries.map((x) => x.runId))).toEqual(new Set(r.ledgers.map((l) => l.runId)));
    expect(summaries.every((x) => x.batchId === r.batchId)).toBe(true);
    expect(records.at(-1)).toMatchObject({ runId: r.batchId, batchId: r.batchId, event: 'run-summary' });
    const verify = await runCli(['audit', 'verify'], { env });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(await workInProgress(books)).toEqual([]);
  });

  it('skips every success on the next run, reruns what failed, and reruns a ledger whose include changed', async () => {
    const reportDir = path.join(tmp, 'r2');
    const res = await runCli(batchArgs('--report-dir', reportDir), { env });
    expect(res.code, res.stderr).toBe(10);
    const r = await readReport(reportDir);
    expect(r.totals).toMatchObject({ ok: 0, skipped: 16, errors: 1, refused: 1, violation: 2 });
    for (const l of r.ledgers.filter((x) => x.status === 'skipped')) {
      expect(l.skippedBecause).toMatch(/^inputs unchanged since run \d{14}-[0-9a-f]{8} /);
      expect(l.runId).toBeNull();
    }

    // an included file changes: only that ledger runs again
    await writeFile(path.join(books, 'plain-03', 'accounts.beancount'), '2024-01-01 open Assets:Cash EUR\n2024-01-01 open Expenses:Food EUR\n2024-01-01 open Expenses:Rent EUR\n');
    // an output edited by hand is not trusted: that ledger runs again too
    await writeFile(path.join(books, 'plain-04', 'main.out.beancount'), 'edited\n');
    const third = path.join(tmp, 'r3');
    const res3 = await runCli(batchArgs('--report-dir', third), { env });
    expect(res3.code, res3.stderr).toBe(10);
    const r3 = byName(await readReport(third));
    expect(r3.get('plain-03')!.status).toBe('ok');
    expect(await readFile(path.join(books, 'plain-03', 'main.out.beancount'), 'utf8')).toContain('Expenses:Rent');
    expect(r3.get('plain-04')!.status).toBe('ok');
    expect(await sha(path.join(books, 'plain-04', 'main.out.beancount'))).toBe(firstOutputs.get('plain-04'));
    expect([...r3.values()].filter((l) => l.status === 'skipped')).toHaveLength(14);
  });

  it('after SIGKILL mid-batch, the next run finishes only what was not done: no partial file, no container left', async () => {
    const reportDir = path.join(tmp, 'killed');
    // a fresh output name, so nothing is skipped
    const args = batchArgs('--report-dir', reportDir, '--output', '{dir}/{name}.night2.beancount');
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const pid = child.pid!;
    // kill it once a few ledgers are done and others are running
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await readReport(reportDir).catch(() => undefined);
      if (r && r.totals.ledgers - r.totals.notRun >= 5) break;
    }
    child.kill('SIGKILL');
    expect(await exited, stderr).toBeNull();
    const partial = await readReport(reportDir);
    expect(partial.state).toBe('running');
    const doneBefore = partial.totals.ledgers - partial.totals.notRun;
    expect(doneBefore).toBeGreaterThanOrEqual(5);
    expect(doneBefore).toBeLessThan(20);

    const resumed = path.join(tmp, 'resumed');
    const res = await runCli(batchArgs('--report-dir', resumed, '--output', '{dir}/{name}.night2.beancount'), { env });
    expect(res.code, res.stderr).toBe(10);
    const r = await readReport(resumed);
    expect(r.totals.notRun).toBe(0);
    // what finished before the kill is not run again
    const okBefore = partial.ledgers.filter((l) => l.status === 'ok').map((l) => l.ledger);
    for (const l of r.ledgers) if (okBefore.includes(l.ledger)) expect(l.status).toBe('skipped');
    expect(r.totals.ok + r.totals.skipped).toBe(16);
    // each output is whole: the same bytes as a run that was never killed
    for (const [name, digest] of firstOutputs) {
      if (name === 'syntax-error' || name === 'plain-03') continue;
      expect(await sha(path.join(books, name, 'main.night2.beancount')), name).toBe(digest);
    }
    expect(await workInProgress(tmp)).toEqual([]);
    const left = await engine.listContainers({ [Labels.owner]: String(pid) });
    expect(left).toEqual([]);
  });

  it('reads a batch file: per-ledger profile and deadline, an output folder; a bad file is refused before anything runs', async () => {
    await writeLedger('hangs', 50, 'test.hangs');
    const file = path.join(tmp, 'nightly.yaml');
    await writeFile(
      file,
      [
        'profile: standard',
        `pluginsDirs: [${FIXTURE_PLUGINS}]`,
        'outputDir: out',
        'reportDir: nightly-report',
        'jobs: 2',
        'ledgers:',
        '  - path: books/hangs/main.beancount',
        '    deadline: 4s',
        '  - path: books/plain-0[12]/main.beancount',
        '    profile: strict',
      ].join('\n') + '\n',
    );
    const t0 = Date.now();
    const res = await runCli(['batch', '--file', file], { env });
    expect(res.code, res.stderr).toBe(10);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const r = await readReport(path.join(tmp, 'nightly-report'));
    const got = byName(r);
    expect(got.get('hangs')).toMatchObject({ status: 'failed', profile: 'standard', output: null, diagnostics: [expect.objectContaining({ code: 'deadline', title: expect.stringMatching(/did not finish within its deadline of 4 s/) })] });
    for (const n of ['plain-01', 'plain-02']) {
      expect(got.get(n)).toMatchObject({ status: 'ok', profile: 'strict', output: path.join(tmp, 'out', n, 'main.out.beancount') });
      expect(await readFile(path.join(tmp, 'out', n, 'main.out.beancount'), 'utf8')).toContain('Expenses:Food');
    }
    expect(await readFile(path.join(tmp, 'nightly-report', 'report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/);
    const left = await engine.listContainers({ [Labels.managed]: 'true' });
    expect(left.filter((c) => r.ledgers.some((l) => l.runId === c.labels[Labels.run]))).toEqual([]);

    await writeFile(file, 'ledgers:\n  - path: books/hangs/main.beancount\n    deadlin: 4s\n');
    const bad = await runCli(['batch', '--file', file], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ledgers\.0\.deadlin: line 3: unknown key "deadlin"/);
  });

  it("loads a root-owned private ledger from a copy the sandbox's user owns: no container runs as root, the original is never mounted", async () => {
    const bodies: CreateContainerBody[] = [];
    const spy = new Proxy(engine, {
      get(target, prop, receiver) {
        if (prop === 'createContainer') return (body: CreateContainerBody) => (bodies.push(body), target.createContainer(body));
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Engine;
    const ledger = path.join(books, PRIVATE, 'main.beancount');
    const output = path.join(books, PRIVATE, 'lib.out.beancount');
    const job: LedgerJob = { index: 0, ledger, pluginsDirs: [FIXTURE_PLUGINS], output, deadlineMs: 120_000 };
    const audit = await openAuditLog(env.SANDBOXCTL_AUDIT_LOG!, { actor: currentActor(), argv: ['test'] });
    const sink = { write: () => true };
    try {
      const out = await runBatch({
        engine: spy,
        audit,
        logger: createLogger('warn'),
        signal: new AbortController().signal,
        root: ROOT,
        env: { ...process.env, ...env },
        batchId: 'lib-batch',
        format: 'beancount',
        stageTimeoutMs: 120_000,
        force: true,
        inputs: new BatchInputs({ engine: spy, root: ROOT, env: process.env, sandboxctlVersion: 'test', format: 'beancount' }),
        defaultProfile: 'standard',
        asRoot: true,
        jobs: [{ ...job, profile: 'standard' }],
        concurrency: 1,
        reportDir: path.join(tmp, 'lib'),
        sandboxctlVersion: 'test',
        progress: new Progress(sink),
      });
      expect(out.report.ledgers[0]).toMatchObject({ status: 'ok', output });
    } finally {
      await audit.close();
    }
    expect(bodies.length).toBeGreaterThan(0);
    const ledgerDir = path.dirname(ledger);
    for (const b of bodies) {
      // an unprivileged uid:gid, never root
      expect(b.User, JSON.stringify(b.Labels)).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      const sources = (b.HostConfig?.Mounts ?? []).map((m) => m.Source ?? '');
      expect(sources).not.toContain(ledgerDir);
    }
    // the loader read the private copy: a 0700 directory of the sandbox's uid beside the original
    const loader = bodies.find((b) => b.Labels?.[Labels.kind] === 'loader')!;
    const copyDir = loader.HostConfig!.Mounts!.map((m) => m.Source ?? '').find((src) => path.dirname(src) === ledgerDir);
    expect(path.basename(copyDir ?? '')).toMatch(/^\.sandboxctl-copy-\d+-[0-9a-f]{8}$/);
    expect(loader.User).toBe('65532:65532');
    // the copy is gone, the original untouched and still private
    expect((await readdir(path.dirname(ledger))).filter((n) => n.startsWith('.sandboxctl-copy-'))).toEqual([]);
    expect((await stat(ledger)).mode & 0o777).toBe(0o600);
    expect(await readFile(output, 'utf8')).toContain('Shop 99');
  });
});
