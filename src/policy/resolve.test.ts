import { describe, expect, it } from 'vitest';
import type { Grant, Refusal } from './grant.js';
import { resolve } from './resolve.js';
import { manifest, shippedProfile } from '../../test/fixtures/policy-fixtures.js';

const strict = shippedProfile('strict');
const standard = shippedProfile('standard');
const permissive = shippedProfile('permissive');
const GVISOR_HOST = { apparmor: false, runtimes: ['runc', 'runsc'] };
const PLAIN_HOST = { apparmor: false, runtimes: ['runc'] };

function grant(d: ReturnType<typeof resolve>): Grant {
  if (d.kind !== 'grant') throw new Error(`refused: ${JSON.stringify(d.denials)}`);
  return d;
}
function refusal(d: ReturnType<typeof resolve>): Refusal {
  if (d.kind !== 'refusal') throw new Error('expected a refusal');
  return d;
}

describe('resolve', () => {
  it('grants a plugin that asks for nothing exactly nothing, under every profile', () => {
    for (const profile of [strict, standard, permissive]) {
      const g = grant(resolve({ manifest: manifest(), profile, host: PLAIN_HOST }));
      expect(g.capabilities).toEqual({ ledger: 'none', network: 'none', scratchBytes: null, env: [], effects: [] });
      expect(g.limits).toMatchObject({ memoryBytes: 128 * 1024 ** 2, cpus: 0.5, timeoutMs: 30_000, pids: 64 });
      expect(g.user).toBe('65532:65532');
    }
  });

  it('grants what was asked and allowed, and no more', () => {
    const g = grant(
      resolve({
        manifest: manifest({ capabilities: { ledger: 'read', scratch: '16Mi', env: ['TZ'], effects: ['add'] } }),
        profile: permissive,
        host: PLAIN_HOST,
      }),
    );
    expect(g.capabilities).toEqual({ ledger: 'read', network: 'none', scratchBytes: 16 * 1024 ** 2, env: ['TZ'], effects: ['add'] });
    expect(g.limits).toMatchObject({ outputBytes: 1024 ** 3, lineBytes: 16 * 1024 ** 2 });
  });

  it('refuses a manifest asking for more than strict allows, listing every reason', () => {
    const greedy = manifest({
      runtime: 'image',
      entrypoint: undefined,
      image: { id: `sha256:${'c'.repeat(64)}` },
      capabilities: { ledger: 'read', network: 'egress', scratch: '1Gi', env: ['AWS_SECRET_ACCESS_KEY', 'HOME'], effects: ['add', 'remove'] },
      resources: { memory: '2Gi', cpus: 4, timeout: '1h', pids: 1000 },
    });
    const r = refusal(resolve({ manifest: greedy, profile: strict, host: GVISOR_HOST }));
    expect(r.denials.map((d) => [d.capability, d.requested, d.allowed])).toEqual([
      ['runtime', 'image', 'python, node'],
      ['capabilities.ledger', 'read', 'none'],
      ['capabilities.network', 'egress', 'none'],
      ['capabilities.scratch', '1Gi', '16Mi'],
      ['capabilities.env', 'AWS_SECRET_ACCESS_KEY', 'none'],
      ['capabilities.env', 'HOME', 'none'],
      ['resources.memory', '2Gi', '256Mi'],
      ['resources.cpus', '4', '1'],
      ['resources.timeout', '1h', '60s'],
      ['resources.pids', '1000', '64'],
    ]);
    for (const d of r.denials) expect(d.reason).toMatch(/profile strict/);
    expect(r.profile).toBe('strict');
  });

  it('refuses egress under standard but grants it under permissive', () => {
    const m = manifest({ capabilities: { network: 'egress' } });
    expect(refusal(resolve({ manifest: m, profile: standard, host: PLAIN_HOST })).denials).toEqual([
      expect.objectContaining({ capability: 'capabilities.network', requested: 'egress', allowed: 'none' }),
    ]);
    expect(grant(resolve({ manifest: m, profile: permissive, host: PLAIN_HOST })).capabilities.network).toBe('egress');
  });

  it('refuses effects a profile does not allow', () => {
    const noRemove = { ...standard, allow: { ...standard.allow, effects: ['add' as const] } };
    const r = refusal(resolve({ manifest: manifest({ capabilities: { effects: ['add', 'modify', 'remove'] } }), profile: noRemove, host: PLAIN_HOST }));
    expect(r.denials.map((d) => d.requested)).toEqual(['modify', 'remove']);
  });

  it('runs strict on gVisor whenever the engine has runsc, and says so when it has not', () => {
    expect(grant(resolve({ manifest: manifest(), profile: strict, host: GVISOR_HOST })).ociRuntime).toBe('runsc');
    const g = grant(resolve({ manifest: manifest(), profile: strict, host: PLAIN_HOST }));
    expect(g.ociRuntime).toBe('runc');
    expect(g.notices).toEqual([expect.objectContaining({ option: 'runtime', requested: 'runsc', applied: 'runc' })]);
    expect(grant(resolve({ manifest: manifest(), profile: standard, host: GVISOR_HOST })).ociRuntime).toBe('runc');
  });

  it('refuses when the profile requires a runtime the engine lacks', () => {
    const mustGvisor = { ...strict, runtime: { prefer: 'runsc' as const, require: true } };
    expect(refusal(resolve({ manifest: manifest(), profile: mustGvisor, host: PLAIN_HOST })).denials).toEqual([
      expect.objectContaining({ capability: 'runtime.oci', requested: 'runsc' }),
    ]);
  });

  it('records that AppArmor was not applied on a host without it, and refuses where it is required', () => {
    const g = grant(resolve({ manifest: manifest(), profile: strict, host: PLAIN_HOST }));
    expect(g.apparmor).toEqual({ mode: 'if-available', profile: 'sandboxctl-plugin', apply: false, reason: 'the host kernel has no AppArmor; not applied' });
    expect(grant(resolve({ manifest: manifest(), profile: strict, host: { ...PLAIN_HOST, apparmor: true } })).apparmor.apply).toBe(true);
    const required = { ...strict, apparmor: 'required' as const };
    expect(refusal(resolve({ manifest: manifest(), profile: required, host: PLAIN_HOST })).denials).toEqual([
      expect.objectContaining({ capability: 'apparmor', requested: 'required', allowed: 'absent on this host' }),
    ]);
    const off = { ...strict, apparmor: 'off' as const };
    expect(grant(resolve({ manifest: manifest(), profile: off, host: { ...PLAIN_HOST, apparmor: true } })).apparmor.apply).toBe(false);
  });

  describe('with ledger options', () => {
    it('lets a ledger choose a tighter profile, and judges the plugin by it', () => {
      const m = manifest({ capabilities: { ledger: 'read' } });
      const r = refusal(resolve({ manifest: m, profile: standard, ledger: { options: { sandbox: 'strict' }, requestedProfile: strict }, host: PLAIN_HOST }));
      expect(r.profile).toBe('strict');
      expect(r.ceilingProfile).toBe('standard');
      expect(r.denials.map((d) => d.capability)).toEqual(['capabilities.ledger']);
      expect(r.notices).toEqual([expect.objectContaining({ option: 'plugin_sandbox', requested: 'strict', applied: 'strict' })]);
    });

    it('never lets a ledger loosen the admin ceiling, and reports the attempt', () => {
      const m = manifest({ capabilities: { network: 'egress' } });
      const r = refusal(resolve({ manifest: m, profile: strict, ledger: { options: { sandbox: 'permissive' }, requestedProfile: permissive }, host: PLAIN_HOST }));
      expect(r.profile).toBe('strict');
      expect(r.notices).toEqual([
        expect.objectContaining({ option: 'plugin_sandbox', requested: 'permissive', applied: 'strict', reason: expect.stringMatching(/looser than the admin's ceiling strict \(rank 30 > 10; .*allow.network egress/) }),
      ]);
    });

    it('clamps to tighter ledger limits and reports looser ones without applying them', () => {
      const g = grant(resolve({ manifest: manifest(), profile: strict, ledger: { options: { timeoutMs: 10_000, memoryBytes: 64e6 } }, host: PLAIN_HOST }));
      expect(g.limits).toMatchObject({ timeoutMs: 10_000, memoryBytes: 64e6 });
      expect(g.notices.map((n) => n.option)).toEqual(['plugin_memory_limit', 'plugin_timeout', 'runtime']);
      const loose = grant(resolve({ manifest: manifest(), profile: strict, ledger: { options: { timeoutMs: 3_600_000, memoryBytes: 8 * 1024 ** 3 } }, host: GVISOR_HOST }));
      expect(loose.limits).toMatchObject({ timeoutMs: 30_000, memoryBytes: 128 * 1024 ** 2 });
      expect(loose.notices).toEqual([
        { option: 'plugin_memory_limit', requested: '8Gi', applied: '256Mi', reason: "above profile strict's ceiling; a ledger can only tighten limits" },
        { option: 'plugin_timeout', requested: '1h', applied: '1m', reason: "above profile strict's ceiling; a ledger can only tighten limits" },
      ]);
    });

    it('reports a ledger naming a profile that is not installed', () => {
      const g = grant(resolve({ manifest: manifest(), profile: standard, ledger: { options: { sandbox: 'paranoid' } }, host: PLAIN_HOST }));
      expect(g.profile).toBe('standard');
      expect(g.notices[0]).toMatchObject({ option: 'plugin_sandbox', requested: 'paranoid', applied: 'standard' });
    });
  });
});
