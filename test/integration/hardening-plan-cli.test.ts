// `sandboxctl plan` as a user runs it: grant or refusal with every reason, the exact
// container spec, exit 3 on refusal, and host facts from the engine (or stated assumptions).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.js';
import { runCli } from './helpers/cli.js';

let dir: string;
const bundle = async (name: string, manifest: string) => {
  const b = path.join(dir, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(b));
  await writeFile(path.join(b, 'plugin.yaml'), manifest);
  await writeFile(path.join(b, 'plugin.py'), '__plugins__ = ()\n');
  return b;
};
const HEAD = 'apiVersion: sandboxctl/v1\nversion: 1.0.0\nruntime: python\nentrypoint: plugin.py\n';
let modest: string;
let greedy: string;
let broken: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-plan-'));
  modest = await bundle('modest', `name: acme.modest\n${HEAD}capabilities: {scratch: 8Mi, effects: [add]}\n`);
  greedy = await bundle(
    'greedy',
    `name: acme.greedy\n${HEAD}capabilities: {ledger: read, network: egress, scratch: 1Gi, env: [AWS_SECRET_ACCESS_KEY], effects: [add, remove]}\nresources: {memory: 2Gi, cpus: 4, timeout: 1h, pids: 1000}\n`,
  );
  broken = await bundle('broken', `name: acme.broken\n${HEAD}capabilities: {network: internet}\nresorces: {}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sandboxctl plan', () => {
  it('prints the grant and the exact spec, with host facts from the engine', async () => {
    const res = await runCli(['plan', modest, '--json']);
    expect(res.code).toBe(ExitCode.ok);
    const out = JSON.parse(res.stdout);
    expect(out.host).toMatchObject({ source: 'engine', facts: { apparmor: false } });
    const [p] = out.plans;
    expect(p.decision).toMatchObject({ kind: 'grant', profile: 'strict', capabilities: { ledger: 'none', network: 'none', scratchBytes: 8 * 1024 ** 2, env: [], effects: ['add'] } });
    expect(p.decision.ociRuntime).toBe(out.host.facts.runtimes.includes('runsc') ? 'runsc' : 'runc');
    expect(p.spec.body.HostConfig).toMatchObject({ NetworkMode: 'none', ReadonlyRootfs: true, CapDrop: ['ALL'], LogConfig: { Type: 'none' } });
    // the whole seccomp body is in --json, as sent to the engine
    const sec = p.spec.body.HostConfig.SecurityOpt.find((o: string) => o.startsWith('seccomp='));
    expect(JSON.parse(sec.slice('seccomp='.length)).defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(p.spec.applied.apparmor).toEqual({ applied: false, profile: null, reason: 'the host kernel has no AppArmor; not applied' });
    expect(p.spec.digest).toMatch(/^sha256:/);

    const text = await runCli(['plan', modest]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/GRANTED under profile strict/);
    expect(text.stdout).toMatch(/AppArmor not applied: the host kernel has no AppArmor/);
    expect(text.stdout).toContain(`container spec ${p.spec.digest}`);
  });

  it('refuses a manifest asking for more than its profile allows, listing every reason, exit 3', async () => {
    const res = await runCli(['plan', greedy, '--profile', 'standard']);
    expect(res.code).toBe(ExitCode.refused);
    expect(res.stdout).toMatch(/REFUSED by profile standard \(admin ceiling standard\): 7 reasons/);
    for (const line of [
      '- capabilities.network: requested egress, allowed none',
      '- capabilities.scratch: requested 1Gi, allowed 256Mi',
      '- capabilities.env: requested AWS_SECRET_ACCESS_KEY, allowed TZ, LANG, LC_ALL',
      '- resources.memory: requested 2Gi, allowed 1Gi',
      '- resources.cpus: requested 4, allowed 2',
      '- resources.timeout: requested 1h, allowed 5m',
      '- resources.pids: requested 1000, allowed 128',
    ]) {
      expect(res.stdout).toContain(line);
    }
    expect(res.stdout).not.toContain('container spec');
    const json = JSON.parse((await runCli(['plan', greedy, modest, '--profile', 'strict', '--json'])).stdout);
    expect(json.plans.map((p: { decision: { kind: string } }) => p.decision.kind)).toEqual(['refusal', 'grant']);
    expect(json.plans[0].decision.denials.map((d: { capability: string }) => d.capability)).toEqual([
      'capabilities.ledger',
      'capabilities.network',
      'capabilities.scratch',
      'capabilities.env',
      'resources.memory',
      'resources.cpus',
      'resources.timeout',
      'resources.pids',
    ]);
  });

  it('lets ledger options only tighten, and reports a looser request', async () => {
    const res = await runCli(['plan', modest, '--ledger-option', 'plugin_sandbox=permissive', '--ledger-option', 'plugin_timeout=10', '--json']);
    expect(res.code).toBe(0);
    const d = JSON.parse(res.stdout).plans[0].decision;
    expect(d.profile).toBe('strict');
    expect(d.limits.timeoutMs).toBe(10_000);
    expect(d.notices[0]).toMatchObject({ option: 'plugin_sandbox', requested: 'permissive', applied: 'strict' });
  });

  it('rejects an invalid manifest naming every field, exit 2', async () => {
    const res = await runCli(['plan', broken]);
    expect(res.code).toBe(ExitCode.usage);
    expect(res.stderr).toContain('capabilities.network: line 6: expected one of "none" | "egress", found "internet"');
    expect(res.stderr).toContain('resorces: line 7: unknown key "resorces"');
  });

  it('says where the ledger directory is mounted: at /ledger, and at its host path unless the container needs that path', async () => {
    const reader = await bundle('reader', `name: acme.reader\n${HEAD}capabilities: {ledger: read, effects: [modify]}\n`);
    // plan needs no such directory to exist: it only decides on the path
    const free = '/home/alice/books';
    const json = JSON.parse((await runCli(['plan', reader, '--profile', 'standard', '--ledger-dir', free, '--json'])).stdout);
    expect(json.plans[0].spec.applied).toMatchObject({ ledgerMounts: ['/ledger', free], ledgerHostPath: { path: free, available: true } });
    expect(json.plans[0].spec.body.HostConfig.Mounts.map((m: { Target: string }) => m.Target)).toEqual(['/ledger', free]);
    const ok = await runCli(['plan', reader, '--profile', 'standard', '--ledger-dir', free]);
    expect(ok.stdout).toContain(`ledger directory ${free}: read-only at /ledger and ${free}; host paths under it resolve inside the container`);

    // under /tmp: the container's own read-only tmpfs is there
    const taken = await runCli(['plan', reader, '--profile', 'standard', '--ledger-dir', '/tmp/books']);
    expect(taken.code).toBe(ExitCode.ok);
    expect(taken.stdout).toContain(
      'ledger directory /tmp/books: read-only at /ledger only; its host path is not available inside the container: it is inside /tmp, which the container needs for itself',
    );
    // plugin inspect shares the planner
    const inspect = await runCli(['plugin', 'inspect', 'beancount.plugins.merge_meta', '--profile', 'standard', '--ledger-dir', '/opt', '--json']);
    expect(JSON.parse(inspect.stdout).plans[0].spec.applied.ledgerHostPath).toEqual({
      path: '/opt',
      available: false,
      reason: 'it is /opt, which the container needs for itself (the runner lives at /opt/sandboxctl)',
    });
    // no directory given: the rule, not a verdict
    expect((await runCli(['plan', reader, '--profile', 'standard'])).stdout).toContain('ledger directory: read-only at /ledger, and at its own host path unless the container needs that path for itself');
  });

  it('still plans without an engine, and says which host facts it assumed', async () => {
    const res = await runCli(['plan', modest], { env: { DOCKER_HOST: `unix://${path.join(dir, 'no-engine.sock')}` } });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^host \(ASSUMED: no Docker engine answers.*assumed no AppArmor and runc only\)/);
    expect(res.stdout).toMatch(/runtime runc/);
  });
});
