// Signals to a ledger run, mid-run, as a terminal sends them: to the whole process group
// (Ctrl-C, a service manager stopping a unit). SIGINT/SIGTERM to the process alone are in
// audit-outcomes.test.ts; here the group, and what both leave behind: no output file, no
// temp file, an intact chain, no container. SIGKILL cannot be caught: `gc` removes its
// containers, and the next run staging beside its output its staging directory.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { Labels } from '../../src/labels.js';
import { runCli } from './helpers/cli.js';
import { auditRecords, containersOfRun, expectChainIntact, expectNoOutput, ledgerRunArgs, LEDGERS, sequence, spawnCli, waitForPlugin } from './helpers/fault-run.js';
import { findLeftovers } from './helpers/leftovers.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-faults-signals-'));
  await chmod(tmp, 0o755);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A run of the ledger whose plugin sleeps a minute, in its own process group, once that plugin runs. */
async function startHanging(name: string) {
  const dir = await mkdtemp(path.join(tmp, `${name}-`));
  const out = path.join(dir, 'out.beancount');
  const audit = path.join(dir, 'audit.jsonl');
  const s = spawnCli(ledgerRunArgs(path.join(LEDGERS, 'hangs.beancount'), out, audit), { detached: true });
  try {
    const { runId } = await waitForPlugin(s, 'test.hangs');
    return { s, out, audit, runId };
  } catch (err) {
    process.kill(-s.pid, 'SIGKILL');
    throw err;
  }
}

describe('a signal to the process group of `sandboxctl run LEDGER`, mid-run', () => {
  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: exit ${exitCode}, the interruption audited on an intact chain, no output or temp file, no container left`, async () => {
      const { s, out, audit, runId } = await startHanging(signal);
      process.kill(-s.pid, signal);
      const { code } = await s.closed;
      expect(code, s.stderr()).toBe(exitCode);
      expect(s.stdout()).toBe('');
      expect(s.stderr()).toMatch(new RegExp(`^error: interrupted by ${signal}`, 'm'));
      await expectNoOutput(out);
      const records = await auditRecords(audit);
      expect(sequence(records)).toEqual([
        ['plugin-run', 'interrupted', 137],
        ['interrupted', 'interrupted', exitCode],
      ]);
      expect(records.every((r) => r.runId === runId)).toBe(true);
      await expectChainIntact(audit, 2);
      expect(await containersOfRun(runId)).toEqual([]);
    });
  }
});

describe('SIGKILL mid-run: nothing can clean up in the process, so `sandboxctl gc` and the next run do', () => {
  it('leaves the run\'s containers and no output; `gc` then removes every one of them, the next run beside it its staging directory', async () => {
    const { s, out, audit, runId } = await startHanging('SIGKILL');
    process.kill(-s.pid, 'SIGKILL');
    const { signal } = await s.closed;
    expect(signal).toBe('SIGKILL');
    // no output. The private directory the result is staged in stays behind until the next run
    // that stages beside it: the ledger may already be printed there, ahead of a plugin that only
    // reports errors and never finished
    expect(existsSync(out)).toBe(false);
    const staged = (await readdir(path.dirname(out))).filter((f) => f !== path.basename(audit) && !f.startsWith(`${path.basename(audit)}.`));
    expect(staged).toHaveLength(1);
    expect(staged[0]).toMatch(/^\.sandboxctl-out-/);
    const dir = path.join(path.dirname(out), staged[0]!);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await readdir(dir)).filter((f) => f !== 'out')).toEqual([]);
    // killed before any record was due: the log is as the run opened it, and intact
    expect(await auditRecords(audit)).toEqual([]);
    await expectChainIntact(audit, 0);

    const left = await containersOfRun(runId);
    expect(left.map((c) => c.kind).sort()).toEqual(['loader', 'plugin']);
    const gc = await runCli(['gc', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    const removed = (JSON.parse(gc.stdout).removed as Array<{ id: string }>).map((r) => r.id.slice(0, 12));
    expect(removed).toEqual(expect.arrayContaining(left.map((c) => c.id)));
    expect(await containersOfRun(runId)).toEqual([]);
    // nothing of this run is left of any kind (containers, networks, volumes)
    const leftovers = await findLeftovers(createDockerEngine());
    expect(leftovers.filter((l) => l.labels[Labels.run] === runId)).toEqual([]);

    // the next run writing beside it removes the dead run's staging directory, and leaves its own output only
    const next = path.join(path.dirname(out), 'next.beancount');
    const again = await runCli(ledgerRunArgs(path.join(LEDGERS, 'success.beancount'), next, audit));
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(dir)).toBe(false);
    expect((await readdir(path.dirname(out))).filter((f) => !f.startsWith(path.basename(audit))).sort()).toEqual(['next.beancount']);
  });
});
