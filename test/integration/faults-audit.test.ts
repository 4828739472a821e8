// No run goes unaudited, whatever happens to the audit log's disk: full before the run,
// filling while a plugin runs, mounted read-only, made immutable mid-run, or refusing
// only the run's last record. Each run fails with exit 6 before it reports success,
// leaves no output and no temp file, and the records already there stay an intact chain.
// Needs root (mount, chattr); as root, chmod alone would not stop a write.
import { execFile } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { auditRecords, containersCreatedBy, containersOfRun, expectChainIntact, expectNoOutput, ledgerRunArgs, LEDGERS, spawnCli, waitForPlugin, type Spawned } from './helpers/fault-run.js';

const sh = promisify(execFile);
const asRoot = process.getuid?.() === 0;
const SLOW = path.join(LEDGERS, 'success.beancount'); // its plugin works for about 3 s
const SLOW_PLUGIN = 'test.audit-slow-passthrough';

let tmp: string;
const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-faults-audit-'));
  await chmod(tmp, 0o755);
});
afterEach(async () => {
  // undo mounts and attributes even when a test failed half-way, last made first
  for (const undo of cleanups.splice(0).reverse()) await undo().catch(() => undefined);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function mountTmpfs(dir: string, size: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await sh('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', dir]);
  cleanups.push(() => sh('umount', [dir]));
}

async function bindReadOnly(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  await sh('mount', ['--bind', from, to]);
  cleanups.push(() => sh('umount', [to]));
  await sh('mount', ['-o', 'remount,bind,ro', to]);
}

async function immutable(file: string): Promise<void> {
  cleanups.push(() => sh('chattr', ['-i', file]));
  await sh('chattr', ['+i', file]);
}

/** Writes to `file` until the file system holding it has no space left. */
function fillUp(file: string): void {
  const fd = openSync(file, 'a');
  const block = Buffer.alloc(4096, 0x61);
  try {
    for (;;) writeSync(fd, block);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

/** Two records from runs that found no engine (quick, no container): a chain that must survive. */
async function seed(audit: string): Promise<string> {
  for (let i = 0; i < 2; i++) {
    const r = await runCli(['run', SLOW, '--audit-log', audit], { env: { DOCKER_HOST: 'unix:///nonexistent.sock', SANDBOXCTL_LOG_LEVEL: 'warn' } });
    expect(r.code, r.stderr).toBe(5);
  }
  await expectChainIntact(audit, 2);
  return readFile(audit, 'utf8');
}

function outPath(name: string): string {
  return path.join(tmp, `${name}.beancount`);
}

/** The run failed on its audit log: exit 6, the error form on stderr, nothing on stdout. */
function expectAuditFailure(r: { code: number | null; stdout: string; stderr: string }, errno: RegExp): void {
  expect(r.code, r.stderr).toBe(6);
  expect(r.stdout).toBe('');
  expect(r.stderr).toMatch(/^error: .*audit/m);
  expect(r.stderr).toMatch(errno);
  expect(r.stderr).toMatch(/^ {2}= hint: /m);
}

async function finish(s: Spawned) {
  const { code } = await s.closed;
  return { code, stdout: s.stdout(), stderr: s.stderr() };
}

describe.skipIf(!asRoot)('the audit log cannot be written', () => {
  it('disk full before the run: exit 6 at once, no container created, nothing written, the chain intact', async () => {
    const disk = path.join(tmp, 'full-before');
    await mountTmpfs(disk, '64k');
    const audit = path.join(disk, 'audit.jsonl');
    const before = await seed(audit);
    fillUp(path.join(disk, 'filler'));
    const out = outPath('full-before');
    const t0 = Date.now();
    const s = spawnCli(ledgerRunArgs(SLOW, out, audit));
    const r = await finish(s);
    expectAuditFailure(r, /ENOSPC/);
    expect(r.stderr).toMatch(/hint: the disk holding the audit log is full/);
    await expectNoOutput(out);
    expect(await containersCreatedBy(s.pid, t0, Date.now())).toEqual([]);
    // the log is as it was, and nothing half-made is left beside it
    expect(await readFile(audit, 'utf8')).toBe(before);
    expect((await readdir(disk)).sort()).toEqual(['audit.jsonl', 'filler']);
    await expectChainIntact(audit, 2);
  });

  it('disk fills while a plugin runs: its record cannot be written, so exit 6 before any success, nothing written, the chain intact', async () => {
    const disk = path.join(tmp, 'full-mid-run');
    await mountTmpfs(disk, '64k');
    const audit = path.join(disk, 'audit.jsonl');
    const before = await seed(audit);
    const out = outPath('full-mid-run');
    const s = spawnCli(ledgerRunArgs(SLOW, out, audit));
    const { runId } = await waitForPlugin(s, SLOW_PLUGIN);
    fillUp(path.join(disk, 'filler'));
    const r = await finish(s);
    expectAuditFailure(r, /ENOSPC/);
    await expectNoOutput(out);
    expect(await readFile(audit, 'utf8')).toBe(before);
    expect((await readdir(disk)).sort()).toEqual(['audit.jsonl', 'filler']);
    await expectChainIntact(audit, 2);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('the log on a read-only mount: exit 6 before anything runs, nothing written', async () => {
    const dir = path.join(tmp, 'rw');
    await mkdir(dir);
    const before = await seed(path.join(dir, 'audit.jsonl'));
    const ro = path.join(tmp, 'ro');
    await bindReadOnly(dir, ro);
    const audit = path.join(ro, 'audit.jsonl');
    const out = outPath('read-only');
    const t0 = Date.now();
    const s = spawnCli(ledgerRunArgs(SLOW, out, audit));
    const r = await finish(s);
    expectAuditFailure(r, /EROFS/);
    await expectNoOutput(out);
    expect(await containersCreatedBy(s.pid, t0, Date.now())).toEqual([]);
    expect(await readFile(audit, 'utf8')).toBe(before);
    await expectChainIntact(audit, 2);
  });

  it('the log made immutable (chattr +i) while a plugin runs: exit 6, nothing written, the chain intact', async () => {
    const dir = path.join(tmp, 'immutable');
    await mkdir(dir);
    const audit = path.join(dir, 'audit.jsonl');
    const before = await seed(audit);
    const out = outPath('immutable');
    const s = spawnCli(ledgerRunArgs(SLOW, out, audit));
    const { runId } = await waitForPlugin(s, SLOW_PLUGIN);
    await immutable(audit);
    const r = await finish(s);
    expectAuditFailure(r, /EPERM/);
    await expectNoOutput(out);
    expect(await readFile(audit, 'utf8')).toBe(before);
    await expectChainIntact(audit, 2);
    expect(await containersOfRun(runId)).toEqual([]);
  });

  it('only the run\'s last record cannot be written: the finished ledger is not released (exit 6, no output)', async () => {
    // a plugin that may add runs before Beancount's validation and printing: the run-summary
    // comes only after those, seconds after the plugin's record on a ledger this size
    const dir = await mkdtemp(path.join(tmp, 'last-record-'));
    await chmod(dir, 0o755);
    const ledger = path.join(dir, 'main.beancount');
    const lines = ['option "operating_currency" "EUR"', 'plugin "beancount.plugins.implicit_prices"', '2020-01-01 open Assets:Cash EUR', '2020-01-01 open Expenses:Food EUR', ''];
    for (let i = 0; i < 4000; i++) {
      const day = new Date(Date.UTC(2020, 0, 2) + Math.floor(i / 4) * 86_400_000).toISOString().slice(0, 10);
      lines.push(`${day} * "Shop ${i}" "Lunch"`, `  Assets:Cash  -${(i % 50) + 1}.25 EUR`, '  Expenses:Food', '');
    }
    await writeFile(ledger, lines.join('\n'), { mode: 0o644 });
    const audit = path.join(dir, 'audit.jsonl');
    const out = path.join(dir, 'out.beancount');
    const s = spawnCli(ledgerRunArgs(ledger, out, audit, 'standard', []));
    // the moment the plugin's record is on disk, the log stops taking more
    let done = false;
    void s.closed.then(() => (done = true));
    while (!done && (await stat(audit).catch(() => ({ size: 0 }))).size === 0) await new Promise((r) => setTimeout(r, 5));
    await immutable(audit);
    const r = await finish(s);
    expectAuditFailure(r, /EPERM/);
    await expectNoOutput(out);
    const records = await auditRecords(audit);
    expect(records.map((x) => [x.event, x.outcome.status])).toEqual([['plugin-run', 'ok']]);
    await expectChainIntact(audit, 1);
    expect(await containersOfRun(records[0]!.runId)).toEqual([]);
  });
});
