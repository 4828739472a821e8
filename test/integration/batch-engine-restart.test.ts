// `sandboxctl batch` while dockerd goes away: restarted mid-batch, the batch retries what the
// engine failed under and finishes; stopped for good, the batch stops cleanly (exit 11,
// the rest not-run, audited), and the next batch cleans up what the dead engine left.
//
// This file stops dockerd. Run it only under the exclusive engine lock, e.g.
//   flock -x /tmp/sandboxctl-engine.lock npx vitest run --project integration test/integration/batch-engine-restart.test.ts
// (in CI, which is alone on its machine, it runs as part of the suite). dockerd is always
// started again (scripts/engine-up.sh) before the file ends.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchReport } from '../../src/batch/report-schema.js';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { CLI, ROOT, runCli } from './helpers/cli.js';
import { Labels } from '../../src/labels.js';
import { findLeftovers } from './helpers/leftovers.js';

const LOCK = '/tmp/sandboxctl-engine.lock';
// another process (our flock -x parent) holds the lock exclusively when a shared try fails
const exclusive = spawnSync('flock', ['-n', '-s', LOCK, 'true']).status !== 0;
const allowed = process.env.CI === 'true' || exclusive;
// each with a plugin, so a ledger takes a couple of seconds and dockerd goes away mid-batch
const LEDGERS = 16;
let tmp: string;
let env: NodeJS.ProcessEnv;

function dockerdPid(): number | undefined {
  const r = spawnSync('pidof', ['dockerd'], { encoding: 'utf8' });
  const pid = Number(r.stdout.trim().split(/\s+/)[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function stopDockerd(): Promise<void> {
  const pid = dockerdPid();
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 300 && dockerdPid() === pid; i++) await new Promise((r) => setTimeout(r, 100));
}

function startDockerd(): void {
  execFileSync('bash', [path.join(ROOT, 'scripts', 'engine-up.sh')], { stdio: 'ignore' });
}

async function readReport(dir: string): Promise<BatchReport | undefined> {
  return readFile(path.join(dir, 'report.json'), 'utf8').then((t) => BatchReport.parse(JSON.parse(t)), () => undefined);
}

/** Starts a batch; resolves once `done` ledgers have finished, with the child's exit to come. */
async function batchUntil(reportDir: string, done: number, extra: string[]) {
  const child = spawn(process.execPath, [CLI, 'batch', `${tmp}/books/*/main.beancount`, '--profile', 'standard', '--jobs', '1', '--force', '--plugins-dir', path.join(ROOT, 'test', 'fixtures', 'plugins'), '--report-dir', reportDir, ...extra], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  for (let i = 0; i < 1200; i++) {
    const r = await readReport(reportDir);
    if (r && r.totals.ledgers - r.totals.notRun >= done) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { exited, out: () => ({ stdout, stderr }) };
}

function auditRecords(): Array<{ runId: string; batchId?: string; event: string; outcome: { status: string } }> {
  return spawnSync('cat', [env.SANDBOXCTL_AUDIT_LOG!], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-batch-engine-'));
  await chmod(tmp, 0o755);
  env = { SANDBOXCTL_AUDIT_LOG: path.join(tmp, 'audit.jsonl'), SANDBOXCTL_LOG_LEVEL: 'warn' };
  for (let i = 0; i < LEDGERS; i++) {
    const dir = path.join(tmp, 'books', `l${i}`);
    await mkdir(dir, { recursive: true });
    await chmod(path.join(tmp, 'books'), 0o755);
    await chmod(dir, 0o755);
    await writeFile(path.join(dir, 'main.beancount'), `plugin "test.passthrough"\n2024-01-01 open Assets:Cash EUR\n2024-01-01 open Expenses:Food EUR\n2024-01-02 * "Shop ${i}"\n  Assets:Cash  -${i + 1}.00 EUR\n  Expenses:Food\n`);
  }
});
afterAll(async () => {
  if (!dockerdPid()) startDockerd();
  await rm(tmp, { recursive: true, force: true });
});

describe.runIf(allowed)('sandboxctl batch when the engine goes away', () => {
  it('dockerd restarted mid-batch: the runs it broke are retried, and the batch finishes', async () => {
    const reportDir = path.join(tmp, 'restart');
    const batch = await batchUntil(reportDir, 2, ['--engine-wait', '120s']);
    try {
      await stopDockerd();
      await new Promise((r) => setTimeout(r, 2000));
    } finally {
      startDockerd();
    }
    const code = await batch.exited;
    const { stdout, stderr } = batch.out();
    expect(code, stderr).toBe(0);
    const r = (await readReport(reportDir))!;
    expect(r).toMatchObject({ state: 'done', exitCode: 0, totals: { ok: LEDGERS } });
    expect(stdout).toMatch(new RegExp(`^batch ${r.batchId}: ${LEDGERS} ok, 0 skipped, 0 failed in `));
    // the engine failed under at least one run; it was retried, each attempt audited under its own run id
    expect(Math.max(...r.ledgers.map((l) => l.attempts))).toBeGreaterThan(1);
    expect(stderr).toMatch(/the engine failed under .* \(attempt 1\): waiting for it, then retrying/);
    const ofBatch = auditRecords().filter((x) => x.batchId === r.batchId);
    const runIds = new Set(ofBatch.map((x) => x.runId));
    expect(runIds.size).toBeGreaterThan(LEDGERS + 1);
    for (const l of r.ledgers) expect(ofBatch.some((x) => x.runId === l.runId && x.event === 'run-summary' && x.outcome.status === 'ok')).toBe(true);
  });

  it('dockerd stopped for good: the batch stops cleanly (exit 11, the rest not-run, audited), and the next one cleans up', async () => {
    const reportDir = path.join(tmp, 'down');
    const batch = await batchUntil(reportDir, 1, ['--engine-wait', '5s']);
    let code: number | null;
    try {
      await stopDockerd();
      code = await batch.exited;
    } finally {
      startDockerd();
    }
    const { stdout, stderr } = batch.out();
    expect(code, stderr).toBe(11);
    const r = (await readReport(reportDir))!;
    expect(r.state).toBe('stopped');
    expect(r.exitCode).toBe(11);
    expect(r.stoppedBecause).toMatch(/did not come back within 5 s/);
    expect(r.totals.notRun).toBeGreaterThan(0);
    for (const l of r.ledgers.filter((x) => x.status === 'not-run')) expect(l.skippedBecause).toBe(r.stoppedBecause);
    expect(stdout).toMatch(/ not run in .*; report: /);
    expect(auditRecords().at(-1)).toMatchObject({ runId: r.batchId, batchId: r.batchId, event: 'engine-unavailable', outcome: { status: 'engine-unavailable' } });

    // containers the dead engine stopped under the batch are gone after the next batch starts
    const next = await runCli(['batch', `${tmp}/books/*/main.beancount`, '--profile', 'standard', '--plugins-dir', path.join(ROOT, 'test', 'fixtures', 'plugins'), '--report-dir', path.join(tmp, 'after')], { env });
    expect(next.code, next.stderr).toBe(0);
    const ours = new Set(auditRecords().filter((x) => x.batchId === r.batchId).map((x) => x.runId));
    const left = (await findLeftovers(createDockerEngine())).filter((o) => ours.has(o.labels[Labels.run] ?? ''));
    expect(left).toEqual([]);
  });
});
