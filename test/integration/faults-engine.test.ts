// The Docker engine stops in the middle of a ledger run. This file stops and restarts the
// machine's dockerd (the one scripts/engine-up.sh started), so nothing else may use the
// engine meanwhile: run it alone, holding the engine lock exclusively:
//   flock -x -o /tmp/sandboxctl-engine.lock npx vitest run --project integration test/integration/faults-engine.test.ts
// (in CI integration files run one at a time, so no lock is needed there).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, readdirSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { auditRecords, containersOfRun, docker, expectChainIntact, expectNoOutput, ledgerRunArgs, LEDGERS, sequence, spawnCli, waitForPlugin } from './helpers/fault-run.js';

const PID_FILE = '/var/run/docker.pid';
const ENGINE_LOCK = '/tmp/sandboxctl-engine.lock';
// only an engine this machine started itself (scripts/engine-up.sh, as root) can be stopped and started again
const ownEngine = process.getuid?.() === 0 && existsSync(PID_FILE) && (!process.env.DOCKER_HOST || process.env.DOCKER_HOST === 'unix:///var/run/docker.sock');

/** The running dockerd's pid; undefined once it is gone (it removes its pid file when it stops). */
function dockerdPid(): number | undefined {
  if (!existsSync(PID_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/** Stops dockerd the way an admin does (SIGTERM) and waits until it is gone. */
async function stopEngine(): Promise<void> {
  const pid = dockerdPid();
  if (!pid) throw new Error('dockerd is not running');
  process.kill(pid, 'SIGTERM');
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  throw new Error(`dockerd ${pid} did not stop within 90 s`);
}

/** Starts dockerd again with the project's script, then checks it does not hold the engine lock. */
async function startEngine(): Promise<void> {
  const code = await new Promise<number | null>((resolve, reject) => {
    const c = spawn('bash', [path.join(ROOT, 'scripts', 'engine-up.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('close', resolve);
  });
  if (code !== 0) throw new Error(`scripts/engine-up.sh exited ${code}`);
  // a dockerd that inherited the lock's descriptor would hold the lock for as long as it runs
  const pid = dockerdPid();
  if (!pid) throw new Error('scripts/engine-up.sh succeeded but no dockerd runs');
  const held = readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`) === ENGINE_LOCK;
    } catch {
      return false;
    }
  });
  expect(held, 'dockerd keeps the engine lock open').toEqual([]);
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-faults-engine-'));
  await chmod(tmp, 0o755);
});
afterAll(async () => {
  // whatever happened above, the engine answers again for what comes next
  if (ownEngine && !dockerdPid()) await startEngine();
  await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!ownEngine)('dockerd stops in the middle of a ledger run', () => {
  it('ends with exit 5 and the error on stderr, audited as engine unavailable; nothing written; `gc` removes what the run left once the engine is back', async () => {
    const out = path.join(tmp, 'out.beancount');
    const audit = path.join(tmp, 'audit.jsonl');
    const s = spawnCli(ledgerRunArgs(path.join(LEDGERS, 'hangs.beancount'), out, audit));
    let runId: string;
    let exit: { code: number | null };
    try {
      // the plugin sleeps for a minute: the engine stops while it runs
      ({ runId } = await waitForPlugin(s, 'test.hangs'));
      await stopEngine();
      exit = await Promise.race([s.closed, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('sandboxctl did not end after the engine stopped')), 60_000))]);
    } finally {
      if (!dockerdPid()) await startEngine();
      s.child.kill('SIGKILL');
    }

    expect(exit.code, s.stderr()).toBe(5);
    expect(s.stdout()).toBe('');
    // the error form: what failed, then how to fix it
    expect(s.stderr()).toMatch(/^error: the Docker engine stopped answering while plugin test\.hangs ran/m);
    expect(s.stderr()).toMatch(/^ {2}= hint: start the engine again .*sandboxctl gc/m);
    await expectNoOutput(out);

    const records = await auditRecords(audit);
    expect(sequence(records), s.stderr()).toEqual([
      ['plugin-run', 'engine-unavailable', records[0]?.outcome.exitCode ?? null],
      ['run-summary', 'engine-unavailable', 5],
    ]);
    expect(records.every((r) => r.runId === runId)).toBe(true);
    expect(records[0]!.plugin.name).toBe('test.hangs');
    expect(records[1]!.outcome.message).toMatch(/engine stopped answering/);
    await expectChainIntact(audit, 2);

    // dockerd stopped the run's containers (live-restore is off). sandboxctl's removals race the
    // shutdown: a stopping dockerd still serves the connections it has open, so some may be
    // removed; what is left is exited, owned by a process that is gone, and `gc` removes it
    const left = await containersOfRun(runId);
    expect(left.every((c) => c.state === 'exited' && ['loader', 'plugin'].includes(c.kind)), JSON.stringify(left)).toBe(true);
    const gc = await runCli(['gc', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    const removed = (JSON.parse(gc.stdout).removed as Array<{ id: string }>).map((r) => r.id.slice(0, 12));
    expect(removed).toEqual(expect.arrayContaining(left.map((c) => c.id)));
    expect(await containersOfRun(runId)).toEqual([]);
    // and the engine runs containers again
    expect((await docker(['version', '--format', '{{.Server.Version}}'])).trim()).not.toBe('');
  });
});
