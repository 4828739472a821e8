// Every way `sandboxctl run` can end leaves exactly the audit records issue 6 asks for:
// the real CLI, the real engine, one audit log per case. Each case checks the sequence
// of records, every per-plugin field against an independent source (our own sha256 of
// the ledger, `docker image inspect`, `sandboxctl plan`, the host), that the chain
// verifies, and that no container of the run is left behind.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditRecordBody } from '../../src/audit/record.js';
import { Labels } from '../../src/labels.js';
import { loadBundle } from '../../src/manifest/bundle.js';
import { BUNDLE_DIGEST_LABEL, PLUGIN_IMAGE_KIND } from '../../src/run/plugin-image.js';
import { specDigest } from '../../src/blueprint/container-blueprint.js';
import { SAMPLE_DIRECTIVES } from '../fixtures/run/sample-directives.js';
import { CLI, ROOT } from './helpers/cli.js';

const run = promisify(execFile);
const LEDGERS = path.join(ROOT, 'test', 'fixtures', 'audit-ledgers');
/** Where each fixture bundle lives; a ledger's `plugin "..."` line names the manifest's name. */
const BUNDLES: Record<string, string> = {
  'test.audit-slow-passthrough': path.join(LEDGERS, 'plugins', 'slow-passthrough'),
  'test.passthrough': path.join(ROOT, 'test', 'fixtures', 'plugins', 'passthrough'),
  'test.wants-network': path.join(ROOT, 'test', 'fixtures', 'plugins', 'wants-network'),
  'test.sleep-forever': path.join(ROOT, 'test', 'fixtures', 'plugins', 'sleep-forever'),
  'test.memory-hog': path.join(ROOT, 'test', 'fixtures', 'plugins', 'memory-hog'),
  'test.stdout-flood': path.join(ROOT, 'test', 'fixtures', 'plugins', 'stdout-flood'),
  'test.modifies-without-modify': path.join(ROOT, 'test', 'fixtures', 'plugins', 'modifies-without-modify'),
  'test.crash': path.join(ROOT, 'test', 'fixtures', 'plugins', 'crash'),
  'test.hangs': path.join(ROOT, 'test', 'fixtures', 'plugins', 'hangs'),
  'test.reports-error': path.join(ROOT, 'test', 'fixtures', 'ledger-cli', 'plugins', 'test.reports-error'),
};
const PLUGINS_DIRS = [path.join(ROOT, 'test', 'fixtures', 'plugins'), path.join(ROOT, 'test', 'fixtures', 'ledger-cli', 'plugins'), path.join(LEDGERS, 'plugins')];
const SHA256 = /^sha256:[0-9a-f]{64}$/;
const LEDGER_DIRECTIVES = 4; // two opens, two transactions in every fixture ledger
const MiB = 1024 * 1024;
// the kernel here has no AppArmor, so no record may claim it was applied
const HOST_HAS_APPARMOR = existsSync('/sys/kernel/security/apparmor');

type Rec = Record<string, any>;
let tmp: string;
let imagesBefore: Set<string>;
/** The shipped standard profile with an 8 MiB output ceiling, so a flood is stopped in moments. */
let smallOutputProfile: string;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-audit-outcomes-'));
  imagesBefore = new Set(await pluginImages());
  const standard = await readFile(path.join(ROOT, 'profiles', 'standard.yaml'), 'utf8');
  const small = standard.replace(/^name: standard$/m, 'name: standard-small-output').replace(/^(\s+outputBytes:) 256Mi$/m, '$1 8Mi');
  expect(small).toMatch(/^name: standard-small-output$/m);
  expect(small).toMatch(/^\s+outputBytes: 8Mi$/m);
  smallOutputProfile = path.join(tmp, 'standard-small-output.yaml');
  await writeFile(smallOutputProfile, small);
});

afterAll(async () => {
  // plugin images of these fixtures built during this file; one in use by someone else's run stays
  for (const id of await pluginImages()) if (!imagesBefore.has(id)) await docker(['image', 'rm', id]).catch(() => undefined);
  await rm(tmp, { recursive: true, force: true });
});

async function docker(args: string[]): Promise<string> {
  return (await run('docker', args, { maxBuffer: 64 * MiB })).stdout;
}

/** Plugin images of the bundles this file runs. */
async function pluginImages(): Promise<string[]> {
  const out = await docker(['image', 'ls', '--no-trunc', '--filter', `label=${Labels.kind}=${PLUGIN_IMAGE_KIND}`, '--format', '{{.ID}} {{.Repository}}']);
  const ours = new Set(Object.keys(BUNDLES).map((name) => `sandboxctl/plugin-${name}`));
  return out.split('\n').map((l) => l.split(' ')).filter(([id, repo]) => id && ours.has(repo!)).map(([id]) => id!);
}

const sha256 = async (file: string) => `sha256:${createHash('sha256').update(await readFile(file)).digest('hex')}`;

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
  argv: string[];
  t0: number;
  t1: number;
  records: Rec[];
  audit: string;
}

interface RunOpts {
  env?: NodeJS.ProcessEnv;
  audit?: string;
  /** Called once the container of this plugin is running (signals, damage to the log). */
  whilePluginRuns?: { plugin: string; then: (pid: number, containerId: string) => Promise<void> };
}

/** Spawns the CLI as a user would, with `--audit-log` pointing at this case's own log. */
async function sandboxctl(args: string[], opts: RunOpts = {}): Promise<CliRun> {
  const audit = opts.audit ?? path.join(await mkdtemp(path.join(tmp, 'case-')), 'audit.jsonl');
  const argv = [...args, '--audit-log', audit];
  const t0 = Date.now();
  const child = spawn(process.execPath, [CLI, ...argv], { cwd: ROOT, env: { ...process.env, SANDBOXCTL_LOG_LEVEL: 'warn', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  if (opts.whilePluginRuns) {
    try {
      const containerId = await waitForRunningPlugin(child.pid!, opts.whilePluginRuns.plugin, closed);
      await opts.whilePluginRuns.then(child.pid!, containerId);
    } catch (err) {
      // stop it the way that still lets it remove its containers
      child.kill('SIGTERM');
      await closed;
      throw err;
    }
  }
  const code = await closed;
  const t1 = Date.now();
  const records = existsSync(audit) ? (await readFile(audit, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec) : [];
  return { code, stdout, stderr, pid: child.pid!, argv: [CLI, ...argv], t0, t1, records, audit };
}

async function waitForRunningPlugin(pid: number, plugin: string, closed: Promise<unknown>): Promise<string> {
  let done = false;
  void closed.then(() => (done = true));
  for (const deadline = Date.now() + 120_000; Date.now() < deadline && !done; ) {
    // by name: Beancount's finalizer runs beside a plugin that may only report errors
    const ids = await docker(['ps', '-q', '--filter', `label=${Labels.owner}=${pid}`, '--filter', `label=${Labels.plugin}=${plugin}`]);
    if (ids.trim()) return ids.trim();
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`no container of plugin ${plugin} started by sandboxctl ${pid}`);
}

function ledgerArgs(name: string, profile = 'standard'): { ledger: string; out: string; args: string[] } {
  const ledger = path.join(LEDGERS, `${name}.beancount`);
  const out = path.join(tmp, `${name}-${Math.random().toString(16).slice(2)}.beancount`);
  return { ledger, out, args: ['run', ledger, ...PLUGINS_DIRS.flatMap((d) => ['--plugins-dir', d]), '--profile', profile, '-o', out] };
}

/** Labels of the containers sandboxctl process `pid` created in [t0, t1], from the engine's event history. */
async function containersCreatedBy(pid: number, t0: number, t1: number): Promise<Array<Record<string, string>>> {
  const out = await docker([
    'events',
    '--since', String(Math.floor(t0 / 1000) - 1),
    '--until', String(Math.ceil(t1 / 1000)),
    '--filter', 'type=container',
    '--filter', 'event=create',
    '--filter', `label=${Labels.owner}=${pid}`,
    '--format', '{{json .Actor.Attributes}}',
  ]);
  return out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
}

/** `sandboxctl audit verify` says the log is an intact chain of exactly these records. */
async function expectIntact(r: CliRun): Promise<void> {
  const { stdout } = await run(process.execPath, [CLI, 'audit', 'verify', '--audit-log', r.audit, '--json']);
  const v = JSON.parse(stdout);
  expect(v).toMatchObject({ ok: true, length: r.records.length, headSeq: r.records.length, head: r.records.at(-1)!.hash });
}

async function expectNoContainersOf(runId: string): Promise<void> {
  expect(await docker(['ps', '-a', '-q', '--filter', `label=${Labels.run}=${runId}`])).toBe('');
}

/** Exactly these records, in this order: [event, outcome.status, outcome.exitCode, outcome.violation]. */
function expectSequence(r: CliRun, expected: Array<[string, string, number | null, string | null]>): void {
  expect(r.records.map((x) => [x.event, x.outcome.status, x.outcome.exitCode, x.outcome.violation]), r.stderr).toEqual(expected);
}

/** What every record of one invocation shares: chain position, schema, run id, time, actor, argv, ledger. */
async function expectInvocationFields(r: CliRun, ledger: { path: string; sha256: string } | null): Promise<void> {
  const me = os.userInfo();
  const runId = r.records[0]!.runId;
  expect(runId).toMatch(/^\d{14}-[0-9a-f]{8}$/);
  let lastTime = r.t0 - 1000;
  for (const [i, rec] of r.records.entries()) {
    const { hash, ...body } = rec;
    // every field present, nothing extra, each of the right type
    expect(AuditRecordBody.safeParse(body).success, JSON.stringify(AuditRecordBody.safeParse(body).error?.issues)).toBe(true);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.seq).toBe(i + 1);
    expect(rec.runId).toBe(runId);
    const t = Date.parse(rec.time);
    expect(t).toBeGreaterThanOrEqual(lastTime);
    expect(t).toBeLessThanOrEqual(r.t1 + 1000);
    lastTime = t;
    expect(rec.actor).toEqual({ user: me.username, uid: me.uid, host: os.hostname(), sudoUser: process.env.SUDO_USER ?? null });
    expect(rec.argv.slice(1)).toEqual(r.argv);
    expect(path.basename(rec.argv[0])).toMatch(/^node/);
    expect(rec.ledger).toEqual(ledger);
  }
}

interface Plan {
  bundle: { name: string; digest: string };
  decision: { kind: string; profile: string; ociRuntime: string; capabilities: Record<string, unknown>; limits: Record<string, number> };
  spec: { digest: string; body: Record<string, any>; applied: { seccomp: { digest: string }; apparmor: { applied: boolean } } };
}

/** What `sandboxctl plan` says the plugin is granted: an independent path to the same decision. */
async function planOf(bundleDir: string, profile: string, ledgerOptions: string[], ledgerDir?: string): Promise<Plan> {
  const args = ['plan', bundleDir, '--profile', profile, '--json', ...ledgerOptions.flatMap((o) => ['--ledger-option', o]), ...(ledgerDir ? ['--ledger-dir', ledgerDir] : [])];
  const { stdout } = await run(process.execPath, [CLI, ...args]);
  return JSON.parse(stdout).plans[0];
}

interface PluginExpectation {
  name: string;
  profile: string;
  /** How `plan` is told the profile, when not by that name (a profile file). */
  planProfile?: string;
  ledgerOptions?: string[];
  ledgerDir?: string;
  /** The run lasted long enough for the engine (about one sample a second) to be sampled. */
  sampled: boolean;
  inputCount: number;
  /** Output directives of a run that completed; undefined when it was stopped. */
  outputCount?: number;
  effects: { kept: number; modified: number; inserted: number; deleted: number };
  validationErrors: RegExp[];
}

/** Every per-plugin field of one plugin-run record, each against a source of its own. */
async function expectPluginRun(rec: Rec, r: CliRun, x: PluginExpectation): Promise<Plan> {
  const bundle = await loadBundle(BUNDLES[x.name]!);
  expect(rec.plugin).toEqual({ name: x.name, version: bundle.manifest.version, bundleHash: bundle.digest });

  // the image that ran: the engine knows it by that id, built from exactly that bundle
  const [img] = JSON.parse(await docker(['image', 'inspect', rec.imageId]));
  expect(img.Id).toBe(rec.imageId);
  expect(img.Config.Labels[Labels.plugin]).toBe(x.name);
  expect(img.Config.Labels[BUNDLE_DIGEST_LABEL]).toBe(bundle.digest);

  // the grant, the spec and the seccomp profile are what `plan` shows for the same inputs
  const plan = await planOf(BUNDLES[x.name]!, x.planProfile ?? x.profile, x.ledgerOptions ?? [], x.ledgerDir);
  expect(plan.decision.kind).toBe('grant');
  expect(rec.profile).toBe(x.profile);
  expect(rec.profile).toBe(plan.decision.profile);
  const c = plan.decision.capabilities;
  expect(rec.capabilities).toEqual({
    granted: [
      { capability: 'ledger', value: c.ledger },
      { capability: 'network', value: c.network },
      { capability: 'scratch', value: c.scratchBytes },
      { capability: 'env', value: c.env },
      { capability: 'effects', value: c.effects },
    ],
    denied: [],
  });
  expect(rec.specDigest).toMatch(SHA256);
  expect(rec.specDigest).toBe(specDigest({ ...plan.spec.body, Image: rec.imageId } as never));
  const seccompBody = (plan.spec.body.HostConfig.SecurityOpt as string[]).find((s) => s.startsWith('seccomp='))!.slice('seccomp='.length);
  expect(rec.seccompDigest).toBe(`sha256:${createHash('sha256').update(seccompBody).digest('hex')}`);
  expect(rec.runtime).toBe(plan.decision.ociRuntime);
  expect(rec.apparmorApplied).toBe(HOST_HAS_APPARMOR && plan.spec.applied.apparmor.applied);
  if (!HOST_HAS_APPARMOR) expect(rec.apparmorApplied).toBe(false);
  const l = plan.decision.limits;
  expect(rec.limits).toEqual({ memoryBytes: l.memoryBytes, nanoCpus: Math.round(l.cpus! * 1e9), pids: l.pids, timeoutMs: l.timeoutMs, outputBytes: l.outputBytes });

  // measured by the engine while it ran
  if (x.sampled) {
    expect(rec.usage.peakMemoryBytes).toBeGreaterThan(0);
    expect(rec.usage.cpuNanos).toBeGreaterThan(0);
  } else {
    // a run shorter than the engine's sampling interval may have no sample: null, never a made-up zero
    expect(rec.usage.cpuNanos === null).toBe(rec.usage.peakMemoryBytes === null);
    if (rec.usage.peakMemoryBytes !== null) expect(rec.usage.peakMemoryBytes).toBeGreaterThan(0);
  }
  expect(rec.durationMs).toBeGreaterThan(0);
  expect(rec.durationMs).toBeLessThanOrEqual(r.t1 - r.t0);

  expect(rec.io.inputCount).toBe(x.inputCount);
  expect(rec.io.inputDigest).toMatch(SHA256);
  if (x.outputCount === undefined) {
    expect(rec.io).toMatchObject({ outputCount: 0, outputDigest: null });
  } else {
    expect(rec.io.outputCount).toBe(x.outputCount);
    expect(rec.io.outputDigest).toMatch(SHA256);
  }
  expect(rec.effects).toEqual(x.effects);
  expect(rec.validationErrors.count).toBe(x.validationErrors.length);
  x.validationErrors.forEach((re, i) => expect(rec.validationErrors.first[i]).toMatch(re));
  return plan;
}

/** The invocation's last record: no plugin fields, the CLI's own exit code. */
function expectSummary(rec: Rec, profile: string | null, inputCount: number | null): void {
  expect(rec).toMatchObject({ plugin: null, imageId: null, specDigest: null, seccompDigest: null, runtime: null, limits: null, usage: null, effects: null });
  expect(rec.profile).toBe(profile);
  expect(rec.durationMs).toBeGreaterThan(0);
  if (inputCount !== null) expect(rec.io).toMatchObject({ inputCount });
}

const ok = { kept: LEDGER_DIRECTIVES, modified: 0, inserted: 0, deleted: 0 };
const none = { kept: 0, modified: 0, inserted: 0, deleted: 0 };

describe('sandboxctl run LEDGER: every ending leaves exactly its audit records', () => {
  it('success: one plugin-run (ok, exit 0, usage measured) and a run-summary', async () => {
    const { ledger, out, args } = ledgerArgs('success');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    expectSequence(r, [
      ['plugin-run', 'ok', 0, null],
      ['run-summary', 'ok', 0, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [p, s] = r.records;
    await expectPluginRun(p!, r, { name: 'test.audit-slow-passthrough', profile: 'standard', ledgerDir: LEDGERS, sampled: true, inputCount: LEDGER_DIRECTIVES, outputCount: LEDGER_DIRECTIVES, effects: ok, validationErrors: [] });
    expect(p!.outcome.message).toBeNull();
    // the plugin held 16 MiB for 3 s: the engine saw at least that much
    expect(p!.usage.peakMemoryBytes).toBeGreaterThan(16 * MiB);
    expect(p!.durationMs).toBeGreaterThanOrEqual(3000);
    // everything kept: what came out is what went in
    expect(p!.io.outputDigest).toBe(p!.io.inputDigest);
    expectSummary(s!, 'standard', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
    // the event history this file relies on (see the unwritable-log case) does see this run's containers
    expect((await containersCreatedBy(r.pid, r.t0, r.t1)).map((c) => c[Labels.plugin])).toContain('test.audit-slow-passthrough');
  });

  it('refusal by policy: one refused record (denied capability, no container) and a run-summary, exit 3', async () => {
    const { ledger, out, args } = ledgerArgs('refused');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(3);
    expect(existsSync(out)).toBe(false);
    expectSequence(r, [
      ['refused', 'refused', null, null],
      ['run-summary', 'refused', 3, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [x, s] = r.records;
    const bundle = await loadBundle(BUNDLES['test.wants-network']!);
    expect(x!.plugin).toEqual({ name: 'test.wants-network', version: '1.0.0', bundleHash: bundle.digest });
    expect(x!.profile).toBe('standard');
    expect(x!.capabilities.granted).toEqual([]);
    expect(x!.capabilities.denied).toEqual([expect.objectContaining({ capability: 'capabilities.network', requested: 'egress', allowed: 'none' })]);
    expect(x!.outcome.message).toMatch(/refused by profile standard/);
    // nothing ran, so nothing was measured or spec'd
    expect(x).toMatchObject({ imageId: null, specDigest: null, seccompDigest: null, runtime: null, usage: null, io: null, effects: null, durationMs: null });
    expectSummary(s!, 'standard', LEDGER_DIRECTIVES);
    await expectIntact(r);
    expect((await containersCreatedBy(r.pid, r.t0, r.t1)).map((c) => c[Labels.plugin])).not.toContain('test.wants-network');
  });

  it('timeout: plugin-run (timeout, killed, the ledger\'s 2 s limit recorded) and a run-summary, exit 4', async () => {
    const { ledger, args } = ledgerArgs('timeout');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(4);
    expectSequence(r, [
      ['plugin-run', 'timeout', 137, 'timeout'],
      ['run-summary', 'violation', 4, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [p, s] = r.records;
    await expectPluginRun(p!, r, { name: 'test.sleep-forever', profile: 'standard', ledgerOptions: ['plugin_timeout=2'], ledgerDir: LEDGERS, sampled: true, inputCount: LEDGER_DIRECTIVES, effects: none, validationErrors: [] });
    expect(p!.limits.timeoutMs).toBe(2000); // the manifest asks 3 s; the ledger tightened it
    expect(p!.durationMs).toBeGreaterThanOrEqual(2000);
    expect(p!.outcome.message).toMatch(/did not finish within its 2s timeout/);
    expectSummary(s!, 'standard', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });

  it('memory: plugin-run (oom, exit 137, memory) and a run-summary, exit 4', async () => {
    const { ledger, args } = ledgerArgs('oom');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(4);
    expectSequence(r, [
      ['plugin-run', 'oom', 137, 'memory'],
      ['run-summary', 'violation', 4, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [p, s] = r.records;
    await expectPluginRun(p!, r, { name: 'test.memory-hog', profile: 'standard', ledgerDir: LEDGERS, sampled: false, inputCount: LEDGER_DIRECTIVES, effects: none, validationErrors: [] });
    expect(p!.limits.memoryBytes).toBe(64 * MiB);
    expect(p!.outcome.message).toMatch(/out of memory/);
    expectSummary(s!, 'standard', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });

  it('output size: plugin-run (violation output-size, killed) and a run-summary, exit 4', async () => {
    const { ledger, args } = ledgerArgs('output-size', smallOutputProfile);
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(4);
    expectSequence(r, [
      ['plugin-run', 'violation', 137, 'output-size'],
      ['run-summary', 'violation', 4, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [p, s] = r.records;
    await expectPluginRun(p!, r, { name: 'test.stdout-flood', profile: 'standard-small-output', planProfile: smallOutputProfile, ledgerDir: LEDGERS, sampled: false, inputCount: LEDGER_DIRECTIVES, effects: none, validationErrors: [] });
    expect(p!.limits.outputBytes).toBe(8 * MiB);
    expect(p!.outcome.message).toMatch(/wrote more than 8388608 bytes/);
    expectSummary(s!, 'standard-small-output', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });

  it('effect violation: plugin-run (violation effect, the validation error kept) and a run-summary, exit 4', async () => {
    const { ledger, args } = ledgerArgs('effect');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(4);
    const [p, s] = r.records;
    // the plugin may exit on its own before the host, reading its second line, kills it
    expect([0, 137]).toContain(p?.outcome.exitCode);
    expectSequence(r, [
      ['plugin-run', 'violation', p!.outcome.exitCode, 'effect'],
      ['run-summary', 'violation', 4, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    // the two opens were kept before the first transaction's modification was refused
    await expectPluginRun(p!, r, {
      name: 'test.modifies-without-modify', profile: 'standard', ledgerDir: LEDGERS, sampled: false, inputCount: LEDGER_DIRECTIVES,
      effects: { kept: 2, modified: 0, inserted: 0, deleted: 0 },
      validationErrors: [/modified input directive 2, but its grant does not include the 'modify' effect/],
    });
    expectSummary(s!, 'standard', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });

  it('crash: plugin-run (crash, the runner\'s exit 4) and a run-summary, exit 4', async () => {
    const { ledger, args } = ledgerArgs('crash');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(4);
    expectSequence(r, [
      ['plugin-run', 'crash', 4, 'crash'],
      ['run-summary', 'violation', 4, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [p, s] = r.records;
    await expectPluginRun(p!, r, { name: 'test.crash', profile: 'standard', ledgerDir: LEDGERS, sampled: false, inputCount: LEDGER_DIRECTIVES, effects: none, validationErrors: [] });
    // the plugin's own last words are in the record
    expect(p!.outcome.message).toMatch(/plugin gave up after 4 entries/);
    expectSummary(s!, 'standard', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });

  it('a crash before a later plugin\'s turn: that plugin\'s container, started ahead, is discarded, recorded and removed', async () => {
    // standard-isolated: the builtin gets a container of its own (under standard it would run in the session)
    const { ledger, args } = ledgerArgs('crash-then-builtin', 'standard-isolated');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(4);
    expectSequence(r, [
      ['plugin-run', 'crash', 4, 'crash'],
      ['plugin-discarded', 'discarded', null, null],
      ['run-summary', 'violation', 4, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [, d, s] = r.records;
    const builtin = path.join(ROOT, 'plugins', 'beancount.plugins.implicit_prices');
    const bundle = await loadBundle(builtin);
    expect(d!.plugin).toEqual({ name: 'beancount.plugins.implicit_prices', version: bundle.manifest.version, bundleHash: bundle.digest });
    const plan = await planOf(builtin, 'standard-isolated', [], LEDGERS);
    expect(d!.profile).toBe('standard-isolated');
    expect(d!.runtime).toBe(plan.decision.ociRuntime);
    expect(d!.specDigest).toMatch(SHA256);
    expect(d!.outcome.message).toMatch(/started ahead .* removed unused/);
    expect(d).toMatchObject({ imageId: null, usage: null, io: null, effects: null });
    // the engine did create it (so it was really started ahead) and it is gone
    const created = (await containersCreatedBy(r.pid, r.t0, r.t1)).map((c) => c[Labels.plugin]);
    expect(created).toEqual(expect.arrayContaining(['test.crash', 'beancount.plugins.implicit_prices']));
    expectSummary(s!, 'standard-isolated', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(s!.runId);
  });

  it('a plugin-reported error: plugin-run ok (the error counted) and a run-summary ok with exit 1', async () => {
    const { ledger, out, args } = ledgerArgs('plugin-error');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(1);
    expect(existsSync(out)).toBe(true);
    expectSequence(r, [
      ['plugin-run', 'ok', 0, null],
      ['run-summary', 'ok', 1, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [p, s] = r.records;
    await expectPluginRun(p!, r, { name: 'test.reports-error', profile: 'standard', ledgerDir: LEDGERS, sampled: false, inputCount: LEDGER_DIRECTIVES, outputCount: LEDGER_DIRECTIVES, effects: ok, validationErrors: [] });
    expect(p!.outcome.message).toBe('the plugin reported 1 error(s)');
    expect(p!.limits.pids).toBe(16);
    expectSummary(s!, 'standard', LEDGER_DIRECTIVES);
    expect(s!.outcome.message).toBe('1 error(s)');
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });

  for (const [signal, exitCode] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} mid-run: plugin-run (interrupted), then an interrupted record; the container is removed`, async () => {
      const { ledger, out, args } = ledgerArgs('hangs');
      const r = await sandboxctl(args, {
        whilePluginRuns: { plugin: 'test.hangs', then: async (pid, containerId) => {
          // once the engine has a sample of the container (it samples about once a second, slower
          // under load), and sandboxctl's sampler has had time to ask for one too
          const mem = await docker(['stats', '--no-stream', '--format', '{{.MemUsage}}', containerId]);
          expect(mem).toMatch(/[1-9]/);
          await new Promise((res) => setTimeout(res, 1500));
          process.kill(pid, signal);
        } },
      });
      expect(r.code, r.stderr).toBe(exitCode);
      expect(existsSync(out)).toBe(false);
      expectSequence(r, [
        ['plugin-run', 'interrupted', 137, null],
        ['interrupted', 'interrupted', exitCode, null],
      ]);
      await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
      const [p, i] = r.records;
      await expectPluginRun(p!, r, { name: 'test.hangs', profile: 'standard', ledgerDir: LEDGERS, sampled: true, inputCount: LEDGER_DIRECTIVES, effects: none, validationErrors: [] });
      expect(p!.outcome.message).toBe(`interrupted by ${signal}`);
      expect(p!.durationMs).toBeGreaterThanOrEqual(2500);
      expect(i!.outcome.message).toBe(`interrupted by ${signal}`);
      expect(i).toMatchObject({ plugin: null, imageId: null, usage: null });
      await expectIntact(r);
      await expectNoContainersOf(p!.runId);
    });
  }

  it('engine unavailable: exactly one engine-unavailable record, exit 5', async () => {
    const { ledger, args } = ledgerArgs('success');
    const r = await sandboxctl(args, { env: { DOCKER_HOST: 'unix:///nonexistent.sock' } });
    expect(r.code, r.stderr).toBe(5);
    expectSequence(r, [['engine-unavailable', 'engine-unavailable', 5, null]]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    expect(r.records[0]).toMatchObject({ plugin: null, imageId: null, specDigest: null, usage: null, io: null });
    expect(r.records[0]!.outcome.message).toMatch(/no Docker engine answers/);
    await expectIntact(r);
  });

  it('audit log unwritable: exit 6 before anything runs, no container created', async () => {
    const notADir = path.join(tmp, 'not-a-directory');
    await writeFile(notADir, 'a regular file\n');
    const { out, args } = ledgerArgs('success');
    const r = await sandboxctl(args, { audit: path.join(notADir, 'audit.jsonl') });
    expect(r.code, r.stderr).toBe(6);
    expect(r.stderr).toMatch(/audit/);
    expect(await readFile(notADir, 'utf8')).toBe('a regular file\n');
    expect(existsSync(out)).toBe(false);
    // no plugin ran unaudited: the engine saw no container of this process at all
    expect(await containersCreatedBy(r.pid, r.t0, r.t1)).toEqual([]);
  });

  it('audit log damaged mid-run: the plugin\'s record cannot be written, so the run fails with exit 6 and writes nothing', async () => {
    const { out, args } = ledgerArgs('success');
    const audit = path.join(await mkdtemp(path.join(tmp, 'case-')), 'audit.jsonl');
    const junk = '{"not":"an audit record"}\n';
    const r = await sandboxctl(args, { audit, whilePluginRuns: { plugin: 'test.audit-slow-passthrough', then: () => appendFile(audit, junk) } });
    expect(r.code, r.stderr).toBe(6);
    expect(existsSync(out)).toBe(false);
    // nothing was appended after the damage: the log is exactly what the damage left
    expect(await readFile(audit, 'utf8')).toBe(junk);
    const v = await run(process.execPath, [CLI, 'audit', 'verify', '--audit-log', audit, '--json']).catch((e: { code: number; stdout: string }) => e);
    expect(v).toMatchObject({ code: 8 });
    expect(JSON.parse(v.stdout).problem).toMatchObject({ line: 1 });
    const created = await containersCreatedBy(r.pid, r.t0, r.t1);
    expect(created.map((c) => c[Labels.plugin])).toContain('test.audit-slow-passthrough');
    await expectNoContainersOf(created[0]![Labels.run]!);
  });

  it('strict (runsc): the record names the gVisor runtime, the strict seccomp profile and its ceilings', async () => {
    const { ledger, args } = ledgerArgs('success', 'strict');
    const r = await sandboxctl(args);
    expect(r.code, r.stderr).toBe(0);
    expectSequence(r, [
      ['plugin-run', 'ok', 0, null],
      ['run-summary', 'ok', 0, null],
    ]);
    await expectInvocationFields(r, { path: ledger, sha256: await sha256(ledger) });
    const [p, s] = r.records;
    await expectPluginRun(p!, r, { name: 'test.audit-slow-passthrough', profile: 'strict', ledgerDir: LEDGERS, sampled: true, inputCount: LEDGER_DIRECTIVES, outputCount: LEDGER_DIRECTIVES, effects: ok, validationErrors: [] });
    expect(p!.runtime).toBe('runsc');
    expect(p!.limits.outputBytes).toBe(64 * MiB);
    expectSummary(s!, 'strict', LEDGER_DIRECTIVES);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });
});

describe('sandboxctl run --input-format jsonl: the same records, the directive file in the ledger field', () => {
  let input: string;
  beforeAll(async () => {
    input = path.join(tmp, 'directives.jsonl');
    await writeFile(input, SAMPLE_DIRECTIVES.map((d) => JSON.stringify(d)).join('\n') + '\n');
  });
  const jsonlArgs = (plugin: string) => ['run', '--input-format', 'jsonl', '--input', input, '--plugin', BUNDLES[plugin]!, '--profile', 'standard', '-o', path.join(tmp, `${plugin}-${Date.now()}.jsonl`)];

  it('success: plugin-run ok and a run-summary', async () => {
    const r = await sandboxctl(jsonlArgs('test.passthrough'));
    expect(r.code, r.stderr).toBe(0);
    expectSequence(r, [
      ['plugin-run', 'ok', 0, null],
      ['run-summary', 'ok', 0, null],
    ]);
    await expectInvocationFields(r, { path: input, sha256: await sha256(input) });
    const [p, s] = r.records;
    const n = SAMPLE_DIRECTIVES.length;
    await expectPluginRun(p!, r, { name: 'test.passthrough', profile: 'standard', sampled: false, inputCount: n, outputCount: n, effects: { kept: n, modified: 0, inserted: 0, deleted: 0 }, validationErrors: [] });
    // the input digest is over the directives as sent, one JSON line each: here, the file's own bytes
    expect(p!.io.inputDigest).toBe(await sha256(input));
    expect(p!.io.outputDigest).toBe(p!.io.inputDigest);
    expectSummary(s!, 'standard', n);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });

  it('effect violation: plugin-run (violation effect) and a run-summary, exit 4', async () => {
    const r = await sandboxctl(jsonlArgs('test.modifies-without-modify'));
    expect(r.code, r.stderr).toBe(4);
    const [p, s] = r.records;
    expect([0, 137]).toContain(p?.outcome.exitCode);
    expectSequence(r, [
      ['plugin-run', 'violation', p!.outcome.exitCode, 'effect'],
      ['run-summary', 'violation', 4, 'effect'],
    ]);
    await expectInvocationFields(r, { path: input, sha256: await sha256(input) });
    const firstTxn = SAMPLE_DIRECTIVES.findIndex((d) => d.type === 'Transaction');
    await expectPluginRun(p!, r, {
      name: 'test.modifies-without-modify', profile: 'standard', sampled: false, inputCount: SAMPLE_DIRECTIVES.length,
      effects: { kept: p!.effects.kept, modified: 0, inserted: 0, deleted: 0 },
      validationErrors: [new RegExp(`modified input directive ${firstTxn}, but its grant does not include the 'modify' effect`)],
    });
    // what came before the first transaction was kept, nothing after it
    expect(p!.effects.kept).toBeLessThanOrEqual(firstTxn);
    expectSummary(s!, null, null);
    await expectIntact(r);
    await expectNoContainersOf(p!.runId);
  });
});
