// Isolation levels, on the real engine: Beancount's builtins in the trusted session (standard
// profile) or each in its own container (standard-isolated), with the same result; a
// third-party bundle always in its own container, whatever it calls itself; each in-session
// plugin audited as its own execution and held to its grant; the session confined as any
// stage is; and a bundle laid out as a package, with relative imports, run for real.
import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { CreateContainerBody, Engine } from '../../src/engine/engine.js';
import { SandboxViolation } from '../../src/errors.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { Labels } from '../../src/labels.js';
import { createLogger } from '../../src/logger.js';
import type { PreparedPlugin } from '../../src/pipeline/execute-plugins.js';
import { sessionBody, TrustedSession } from '../../src/pipeline/trusted-session.js';
import { loadPolicy } from '../../src/policy/load-policy.js';
import { runLimits } from '../../src/run/run-limits.js';
import { buildProbeImage } from './hardening/images.js';
import { writableLedgerDir } from './hardening/spec-for.js';
import { ROOT, runCli } from './helpers/cli.js';
import { beanExample } from './helpers/parity-ledgers.js';
import { hostPathWorkDir, removeWorkDir } from './helpers/work-dir.js';

const engine: Engine = createDockerEngine();
const runId = `test-${newRunId()}`;
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'plugins', 'relative-imports');
const BUILTINS = path.join(ROOT, 'plugins');
let work: string;
let ledger: string;
let bigLedger: string;

type Json = Record<string, any>;

const HEAD = [
  'option "operating_currency" "USD"',
  'plugin "beancount.plugins.implicit_prices"',
  'plugin "test.relative-imports"',
  'plugin "beancount.plugins.check_commodity"',
  'plugin "beancount.plugins.noduplicates"',
].join('\n');

beforeAll(async () => {
  // a host-path directory: the session also mounts the ledger's directory at its own path
  work = await hostPathWorkDir('sbx-isolation-');
  bigLedger = path.join(work, 'example.beancount');
  const example = await beanExample(bigLedger, 3, '2022-01-01', '2024-01-01');
  ledger = path.join(work, 'main.beancount');
  await writeFile(ledger, HEAD + '\n' + example);
  await mkdir(path.join(work, 'plugins'), { mode: 0o755 });
  await cp(FIXTURE, path.join(work, 'plugins', 'relative-imports'), { recursive: true });
});

afterAll(async () => {
  for (const c of await engine.listContainers({ [Labels.run]: runId })) await engine.removeContainer(c.id);
  await removeWorkDir(work);
});

async function run(profile: string, pluginsDir: string, name: string): Promise<{ report: Json; out: string; records: Json[]; code: number | null; stderr: string }> {
  const out = path.join(work, `${name}.jsonl`);
  // one audit log per run: runs side by side would interleave their records
  const auditLog = path.join(work, `audit-${name}.jsonl`);
  const res = await runCli(['run', ledger, '--profile', profile, '--plugins-dir', pluginsDir, '--format', 'jsonl', '-o', out, '--json'], {
    env: { SANDBOXCTL_AUDIT_LOG: auditLog, SANDBOXCTL_LOG_LEVEL: 'info' },
  });
  const records = (await readFile(auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Json);
  return { report: JSON.parse(res.stdout || '{}') as Json, out: await readFile(out, 'utf8').catch(() => ''), records, code: res.code, stderr: res.stderr };
}

describe('builtins in the trusted session (standard) and each in its own container (standard-isolated)', () => {
  let session: Awaited<ReturnType<typeof run>>;
  let isolated: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    [session, isolated] = await Promise.all([run('standard', path.join(work, 'plugins'), 'session'), run('standard-isolated', path.join(work, 'plugins'), 'isolated')]);
  });

  it('give the same ledger, and the package bundle with relative imports ran in its container', () => {
    expect(session.code, session.stderr.slice(-2000)).toBe(0);
    expect(isolated.code, isolated.stderr.slice(-2000)).toBe(0);
    expect(session.out.length).toBeGreaterThan(0);
    expect(session.out).toBe(isolated.out);
    // every transaction got the tag that pkg/mod.py adds with pkg/common.py's helper
    const txns = session.out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json).filter((d) => d.type === 'Transaction');
    expect(txns.length).toBeGreaterThan(100);
    expect(txns.every((t) => (t.tags as string[]).includes('relative-import'))).toBe(true);
  });

  it('feed each Python plugin container the loader\'s pickle, not JSON (docs/protocol.md, Input encodings)', () => {
    const encodings = (r: typeof session) =>
      r.stderr
        .split('\n')
        .filter((l) => l.includes('"msg":"plugin run ok"'))
        .map((l) => JSON.parse(l) as Json)
        .map((l) => `${l.plugin}:${l.inputEncoding}`)
        .sort();
    expect(encodings(session)).toEqual(['test.relative-imports:pickle']);
    expect(encodings(isolated)).toEqual(
      ['beancount.plugins.check_commodity', 'beancount.plugins.implicit_prices', 'beancount.plugins.noduplicates', 'test.relative-imports'].map((n) => `${n}:pickle`),
    );
  });

  it('say in the report and in each audit record which isolation each plugin got', () => {
    const where = (r: Json) => Object.fromEntries((r.plugins as Json[]).map((p) => [p.name, p.isolation]));
    expect(where(session.report)).toEqual({
      'beancount.plugins.implicit_prices': 'session',
      'test.relative-imports': 'container',
      'beancount.plugins.check_commodity': 'session',
      'beancount.plugins.noduplicates': 'session',
    });
    expect(Object.values(where(isolated.report))).toEqual(['container', 'container', 'container', 'container']);
    const runs = session.records.filter((r) => r.event === 'plugin-run');
    expect(runs.map((r) => [r.plugin.name, r.isolation])).toEqual(Object.entries(where(session.report)));
    expect(isolated.records.filter((r) => r.event === 'plugin-run').every((r) => r.isolation === 'container')).toBe(true);
  });

  it('audit each in-session plugin as its own execution: its effects, its timing, the session it ran in', () => {
    const runs = session.records.filter((r) => r.event === 'plugin-run');
    const byName = (n: string) => runs.find((r) => r.plugin.name === n)!;
    const prices = byName('beancount.plugins.implicit_prices');
    const isoPrices = isolated.records.find((r) => r.event === 'plugin-run' && r.plugin.name === 'beancount.plugins.implicit_prices')!;
    // the same effects, counted the same way, as in its own container
    expect(prices.effects).toEqual(isoPrices.effects);
    expect(prices.effects.inserted).toBeGreaterThan(0);
    expect(prices.io).toEqual(isoPrices.io);
    expect(prices.outcome.status).toBe('ok');
    expect(prices.durationMs).toBeGreaterThan(0);
    expect(prices.usage.cpuNanos).toBeGreaterThan(0);
    // it ran in the session: runc, the session's image and spec, not a plugin image of its own
    expect(prices.runtime).toBe('runc');
    expect(prices.imageId).not.toBe(isoPrices.imageId);
    expect(prices.specDigest).not.toBe(isoPrices.specDigest);
    expect(byName('beancount.plugins.noduplicates').specDigest).toBe(prices.specDigest);
    expect(byName('test.relative-imports').specDigest).not.toBe(prices.specDigest);
  });
});

describe('a third-party bundle always gets its own container', () => {
  it('even with the exact bytes of a builtin, or naming a builtin module, when it is not the install\'s', async () => {
    const dir = path.join(work, 'impostors');
    await mkdir(path.join(dir, 'implicit'), { recursive: true, mode: 0o755 });
    // byte for byte the shipped bundle, so its digest matches the pin: only its place differs
    await copyFile(path.join(BUILTINS, 'beancount.plugins.implicit_prices', 'plugin.yaml'), path.join(dir, 'implicit', 'plugin.yaml'));
    await mkdir(path.join(dir, 'dups'), { mode: 0o755 });
    const shipped = await readFile(path.join(BUILTINS, 'beancount.plugins.noduplicates', 'plugin.yaml'), 'utf8');
    // the shipped manifest with a comment added: same name, same module, other bytes
    await writeFile(path.join(dir, 'dups', 'plugin.yaml'), `# reviewed elsewhere\n${shipped}`);
    await cp(FIXTURE, path.join(dir, 'relative-imports'), { recursive: true });
    const r = await run('standard', dir, 'impostors');
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const where = Object.fromEntries((r.report.plugins as Json[]).map((p) => [p.name, p.isolation]));
    expect(where).toEqual({
      'beancount.plugins.implicit_prices': 'container',
      'test.relative-imports': 'container',
      // not shadowed: the install's own bundle of this name, so the session
      'beancount.plugins.check_commodity': 'session',
      'beancount.plugins.noduplicates': 'container',
    });
    const runs = r.records.filter((x) => x.event === 'plugin-run');
    const implicit = runs.find((x) => x.plugin.name === 'beancount.plugins.implicit_prices')!;
    expect(implicit.isolation).toBe('container');
    expect(implicit.runtime).toBe('runc');
    // plan and plugin inspect say the same, and why
    const plan = JSON.parse((await runCli(['plan', path.join(dir, 'implicit'), path.join(BUILTINS, 'beancount.plugins.implicit_prices'), '--profile', 'standard', '--json'])).stdout) as Json;
    expect(plan.plans.map((p: Json) => p.isolation)).toEqual(['container', 'session']);
    expect(plan.plans[0].isolationReason).toMatch(/not a bundle from the install's plugins\/ folder/);
    const inspect = await runCli(['plugin', 'inspect', 'beancount.plugins.noduplicates', '--plugins-dir', dir, '--profile', 'standard']);
    expect(inspect.stdout).toMatch(/isolation container: its own container: not a bundle from the install's plugins\/ folder/);
    const strict = await runCli(['plugin', 'inspect', 'beancount.plugins.noduplicates', '--profile', 'strict']);
    expect(strict.stdout).toMatch(/isolation container: its own container: profile strict runs builtins each in its own container/);
    const standard = await runCli(['plugin', 'inspect', 'beancount.plugins.noduplicates', '--profile', 'standard']);
    expect(standard.stdout).toMatch(/isolation session: the trusted session: a Beancount builtin as shipped, and profile standard runs builtins there/);
  });
});

describe('an in-session plugin is held to its grant', () => {
  const log = createLogger('silent');

  async function openSession(file: string): Promise<TrustedSession> {
    const policy = await loadPolicy({ root: ROOT, env: {}, profile: 'standard' });
    const runner = await requireRunnerImage(engine, { root: ROOT }, 'python');
    const s = await TrustedSession.open({
      engine, runId, ledgerPath: file, imageId: runner.id, logger: log, timeoutMs: 120_000, memoryBytes: 1024 ** 3,
      seccomp: policy.ceiling.seccompChecked, apparmor: false,
    });
    // every plugin here runs in the session: no container reads a pickle
    s.chooseLoad({ pickle: false });
    return s;
  }

  function builtin(name: string, over: Partial<PreparedPlugin> = {}): PreparedPlugin {
    return {
      position: 0, line: { name, config: null, filename: null, lineno: null }, name, version: '2.3.5',
      image: { id: 'unused', ref: 'unused' }, spec: {} as CreateContainerBody, effects: [], isolation: 'session', module: name,
      limits: runLimits({ timeoutMs: 60_000 }, 0), ...over,
    };
  }

  it('an effect its grant lacks is a violation, as in a container, and stops the session', async () => {
    const s = await openSession(ledger);
    try {
      await s.head;
      const loaded = await s.loaded;
      // implicit_prices inserts prices: granted no effects, its answer must be refused
      const r = await s.runPlugin(builtin('beancount.plugins.implicit_prices'), loaded.directives);
      expect(r.ok).toBe(false);
      const err = (r as { error: Error }).error;
      expect(err).toBeInstanceOf(SandboxViolation);
      expect((err as SandboxViolation).kind).toBe('effect');
      expect(err.message).toMatch(/inserted a directive, but its grant does not include the 'add' effect/);
      // nothing more runs in it
      const next = await s.runPlugin(builtin('beancount.plugins.check_commodity', { position: 1 }), loaded.directives);
      expect(next.ok).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('a plugin past its timeout is stopped with the session', async () => {
    const s = await openSession(bigLedger);
    try {
      const loaded = await s.loaded;
      const t = Date.now();
      const r = await s.runPlugin(builtin('beancount.plugins.noduplicates', { limits: runLimits({ timeoutMs: 5 }, 0) }), loaded.directives);
      expect(r.ok).toBe(false);
      expect(((r as { error: Error }).error as SandboxViolation).kind).toBe('timeout');
      expect(Date.now() - t).toBeLessThan(20_000);
      // the session was killed: its output has ended, nothing more is answered
      await expect(s.finalize(loaded.directives, new Map())).rejects.toThrow(/stopped/);
    } finally {
      await s.close();
    }
  });
});

describe('the trusted session stays confined', () => {
  it('runs as non-root, under seccomp, with no network, reading the ledger only read-only', async () => {
    const probe = await buildProbeImage(engine, runId);
    const policy = await loadPolicy({ root: ROOT, env: {}, profile: 'standard' });
    // world-writable files: only the read-only mounts can stop a write
    const dir = await writableLedgerDir();
    const body = sessionBody(
      { runId, ledgerPath: path.join(dir, 'main.beancount'), imageId: probe.id, timeoutMs: 60_000, memoryBytes: 256 * 1024 ** 2, seccomp: policy.ceiling.seccompChecked, apparmor: false },
      ['probe', 'nomem', dir],
    );
    const handle = await engine.createContainer(body);
    try {
      const streams = await handle.attach();
      let out = '';
      streams.stdout.on('data', (b: Buffer) => (out += b.toString()));
      streams.stderr.resume();
      const ended = new Promise<void>((res) => streams.stdout.on('end', res));
      await handle.start();
      streams.stdin.end();
      await handle.wait();
      await ended;
      const report = JSON.parse(out.trim().split('\n')[0]!) as Json;
      expect(report).toMatchObject({ uid: 65532, euid: 65532, cap_eff: '0000000000000000', seccomp_mode: '2', no_new_privs: '1' });
      expect(report).toMatchObject({ read_ledger: 'ok', write_ledger_existing: 'EROFS', write_ledger_new: 'EROFS' });
      expect(report).toMatchObject({ read_ledger_host: 'ok', write_ledger_host_existing: 'EROFS', write_ledger_host_new: 'EROFS' });
      expect(report.write_rootfs).toMatch(/^(EROFS|EACCES)$/);
      expect(report.interfaces_besides_lo).toBe(0);
      for (const k of ['tcp4_connect', 'udp4_connect', 'tcp6_connect']) expect([k, report[k]]).toEqual([k, expect.not.stringMatching(/^(ok|ETIMEDOUT)$/)]);
      expect(report).toMatchObject({ sys_ptrace: 'EPERM', sys_mount: 'EPERM', sys_unshare: 'EPERM', sys_setuid: 'EPERM', packet_socket: 'EPERM' });
    } finally {
      await handle.remove();
      await engine.removeImage(probe.id);
      await removeWorkDir(dir);
    }
  });
});
