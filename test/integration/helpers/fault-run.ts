// What the fault tests share: the CLI as a child process (optionally in its own process
// group), waiting for a plugin container to run, and the promises every fault must keep:
// an intact audit chain, no output file or temp file, no container of the run left.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { Labels } from '../../../src/labels.js';
import { CLI, ROOT } from './cli.js';

const run = promisify(execFile);
export const LEDGERS = path.join(ROOT, 'test', 'fixtures', 'audit-ledgers');
/** Where the fixture ledgers' plugins are installed. */
export const PLUGINS_DIRS = [path.join(ROOT, 'test', 'fixtures', 'plugins'), path.join(LEDGERS, 'plugins')];

export type Rec = Record<string, any>;

export interface Spawned {
  child: ChildProcess;
  pid: number;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
}

export async function docker(args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 64 * 1024 * 1024 })).stdout;
}

/** Starts the built CLI; `detached` puts it in a process group of its own (its pid is the group id). */
export function spawnCli(args: string[], opts: { env?: NodeJS.ProcessEnv; detached?: boolean } = {}): Spawned {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, SANDBOXCTL_LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: !!opts.detached,
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, pid: child.pid!, closed, stdout: () => stdout, stderr: () => stderr };
}

/** `sandboxctl run LEDGER` over a fixture ledger, its audit log and output where the test says. */
export function ledgerRunArgs(ledger: string, out: string, audit: string, profile = 'standard', pluginsDirs = PLUGINS_DIRS): string[] {
  return ['run', ledger, ...pluginsDirs.flatMap((d) => ['--plugins-dir', d]), '--profile', profile, '-o', out, '--audit-log', audit];
}

/** Waits until sandboxctl `pid` has a running container of `plugin`; returns its id and run id. */
export async function waitForPlugin(s: Spawned, plugin: string, timeoutMs = 240_000): Promise<{ containerId: string; runId: string }> {
  let done = false;
  void s.closed.then(() => (done = true));
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline && !done; ) {
    const line = (await docker(['ps', '--filter', `label=${Labels.owner}=${s.pid}`, '--filter', `label=${Labels.plugin}=${plugin}`, '--format', `{{.ID}} {{.Label "${Labels.run}"}}`])).trim();
    if (line) {
      const [containerId, runId] = line.split('\n')[0]!.split(' ');
      return { containerId: containerId!, runId: runId! };
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`no running container of plugin ${plugin} from sandboxctl ${s.pid} (exited: ${done}); stderr:\n${s.stderr()}`);
}

export async function auditRecords(file: string): Promise<Rec[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
}

/** `sandboxctl audit verify` passes on the log, which holds exactly `count` records. */
export async function expectChainIntact(file: string, count: number): Promise<void> {
  const r = await run(process.execPath, [CLI, 'audit', 'verify', '--audit-log', file, '--json']).catch((e: { code: number; stdout: string; stderr: string }) => e);
  const v = JSON.parse(r.stdout);
  expect(v, JSON.stringify(v)).toMatchObject({ ok: true, length: count });
}

/** No output file, and nothing staged beside it (`.sandboxctl-out-*` directories, `.NAME.*.tmp` files). */
export async function expectNoOutput(out: string): Promise<void> {
  expect(existsSync(out)).toBe(false);
  const base = path.basename(out);
  const beside = (await readdir(path.dirname(out))).filter((f) => f.startsWith('.sandboxctl-out-') || (f.startsWith(`.${base}.`) && f.endsWith('.tmp')));
  expect(beside).toEqual([]);
}

/** Every container (running or not) that carries this run's id. */
export async function containersOfRun(runId: string): Promise<Array<{ id: string; state: string; kind: string }>> {
  const out = await docker(['ps', '-a', '--filter', `label=${Labels.run}=${runId}`, '--format', `{{.ID}} {{.State}} {{.Label "${Labels.kind}"}}`]);
  return out.split('\n').filter(Boolean).map((l) => {
    const [id, state, kind] = l.split(' ');
    return { id: id!, state: state!, kind: kind! };
  });
}

/** Kinds of the containers sandboxctl `pid` created between t0 and t1 (engine event history). */
export async function containersCreatedBy(pid: number, t0: number, t1: number): Promise<string[]> {
  const out = await docker([
    'events', '--since', String(Math.floor(t0 / 1000) - 1), '--until', String(Math.ceil(t1 / 1000) + 1),
    '--filter', 'type=container', '--filter', 'event=create', '--filter', `label=${Labels.owner}=${pid}`,
    '--format', `{{index .Actor.Attributes "${Labels.kind}"}}`,
  ]);
  return out.split('\n').filter(Boolean);
}

/** The (event, outcome status, outcome exit code) of each record. */
export function sequence(records: Rec[]): Array<[string, string, number | null]> {
  return records.map((r) => [r.event, r.outcome.status, r.outcome.exitCode]);
}
