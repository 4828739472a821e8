import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Grant } from '../policy/grant.js';
import { resolve } from '../policy/resolve.js';
import { manifest, shippedProfile } from '../../test/fixtures/policy-fixtures.js';
import { buildContainerSpec, cpuNanos, NPROC_RUNC_BACKSTOP, redactEnv, runscHostPids, specDigest } from './container-blueprint.js';
import { checkSeccomp } from '../policy/seccomp.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const IMAGE = `sha256:${'d'.repeat(64)}`;
const LABELS = { 'io.sandboxctl.managed': 'true', 'io.sandboxctl.kind': 'plugin', 'io.sandboxctl.run': 'test-run' };
const HOST = { apparmor: false, runtimes: ['runc', 'runsc'] };
const seccompFor = (g: Grant) => {
  const file = path.join(ROOT, 'seccomp', g.seccomp);
  return checkSeccomp(readFileSync(file, 'utf8'), `seccomp/${g.seccomp}`);
};

// the most each shipped profile allows (network only where allowed)
const ASKS = {
  strict: manifest({ capabilities: { scratch: '16Mi', effects: ['add'] } }),
  standard: manifest({ capabilities: { ledger: 'read', scratch: '64Mi', env: ['TZ', 'LANG'], effects: ['add', 'modify'] }, resources: { memory: '512Mi', cpus: 1, timeout: '2m', pids: 100 } }),
  permissive: manifest({ capabilities: { ledger: 'read', network: 'egress', scratch: '256Mi', env: ['TZ'], effects: ['add', 'modify', 'remove'] } }),
};

function grantFor(name: keyof typeof ASKS, host = HOST): Grant {
  const d = resolve({ manifest: ASKS[name], profile: shippedProfile(name), host });
  if (d.kind !== 'grant') throw new Error(JSON.stringify(d.denials));
  return d;
}

function specFor(name: keyof typeof ASKS, host = HOST) {
  const grant = grantFor(name, host);
  return buildContainerSpec({
    grant,
    image: IMAGE,
    seccomp: seccompFor(grant),
    labels: LABELS,
    command: ['plugin', '--bundle', '/plugin'],
    ledgerDir: grant.capabilities.ledger === 'read' ? '/home/me/ledger' : undefined,
    ledgerAtHostPath: true,
    env: { TZ: 'Europe/Paris', LANG: undefined, SECRET: 'never' },
  });
}

describe.each(['strict', 'standard', 'permissive'] as const)('container spec for profile %s', (name) => {
  const spec = specFor(name);
  const hc = spec.body.HostConfig;

  it('matches the reviewed snapshot, whole', async () => {
    const seccompOpt = hc.SecurityOpt!.find((o) => o.startsWith('seccomp='))!;
    // the body is the checked file, byte for byte (asserted here); the snapshot names it by digest
    expect(seccompOpt).toBe(`seccomp=${seccompFor(grantFor(name)).body}`);
    const shown = { ...spec, body: { ...spec.body, HostConfig: { ...hc, SecurityOpt: hc.SecurityOpt!.map((o) => (o === seccompOpt ? `seccomp=<seccomp/${name}.json ${spec.applied.seccomp.digest}>` : o)) } } };
    await expect(JSON.stringify(shown, null, 2) + '\n').toMatchFileSnapshot(`./__snapshots__/spec-${name}.json`);
  });

  it('has every hardening field', () => {
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd).toBeUndefined();
    expect(hc.Privileged).toBe(false);
    expect(hc.SecurityOpt?.[0]).toBe('no-new-privileges');
    expect(hc.SecurityOpt?.some((o) => o.startsWith('apparmor='))).toBe(false);
    expect(hc.Memory).toBe(hc.MemorySwap);
    expect(hc.IpcMode).toBe('private');
    expect(hc.PidMode).toBeUndefined();
    expect(hc.UTSMode).toBeUndefined();
    expect(hc.UsernsMode).toBeUndefined();
    expect(hc.Devices).toEqual([]);
    expect(hc.Init).toBe(true);
    expect(hc.LogConfig).toEqual({ Type: 'none' });
    expect(hc.Tmpfs?.['/dev/shm']).toMatch(/^ro,/);
    expect(hc.Tmpfs?.['/tmp']).toMatch(/^ro,/);
    expect(spec.body.User).toBe('65532:65532');
    expect(spec.body.Labels).toEqual(LABELS);
    expect(spec.body.Tty).toBe(false);
    expect(spec.applied.apparmor).toEqual({ applied: false, profile: null, reason: 'the host kernel has no AppArmor; not applied' });
    expect(hc.Ulimits?.map((u) => u.Name)).toEqual(['nofile', 'nproc', 'fsize', 'core', 'cpu']);
    expect(hc.Ulimits?.find((u) => u.Name === 'core')).toEqual({ Name: 'core', Soft: 0, Hard: 0 });
  });

  it('passes only granted env names, with values given as data', () => {
    const names = spec.body.Env!.map((e) => e.split('=')[0]);
    expect(names).not.toContain('SECRET');
    expect(spec.body.Env).toContain('TMPDIR=/scratch');
    for (const n of names) expect([...grantFor(name).capabilities.env, 'TMPDIR']).toContain(n);
  });
});

describe('container spec choices', () => {
  it('has no network unless egress is granted', () => {
    expect(specFor('strict').body.HostConfig.NetworkMode).toBe('none');
    expect(specFor('standard').body.HostConfig.NetworkMode).toBe('none');
    expect(specFor('permissive').body.HostConfig.NetworkMode).toBe('bridge');
    const noEgress = resolve({ manifest: manifest(), profile: shippedProfile('permissive'), host: HOST });
    if (noEgress.kind !== 'grant') throw new Error('refused');
    expect(buildContainerSpec({ grant: noEgress, image: IMAGE, seccomp: seccompFor(noEgress), labels: LABELS }).body.HostConfig.NetworkMode).toBe('none');
  });

  it('mounts the ledger read-only at /ledger and at its host path only when granted, and nothing else from the host', () => {
    expect(specFor('strict').body.HostConfig.Mounts).toEqual([]);
    expect(specFor('strict').applied).toMatchObject({ ledgerMounts: [], ledgerHostPath: null });
    expect(specFor('standard').body.HostConfig.Mounts).toEqual([
      { Type: 'bind', Source: '/home/me/ledger', Target: '/ledger', ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
      { Type: 'bind', Source: '/home/me/ledger', Target: '/home/me/ledger', ReadOnly: true, BindOptions: { Propagation: 'rprivate' } },
    ]);
    expect(specFor('standard').applied).toMatchObject({
      ledgerMounts: ['/ledger', '/home/me/ledger'],
      ledgerHostPath: { path: '/home/me/ledger', available: true, reason: 'also mounted read-only at /home/me/ledger' },
    });
    expect(specFor('standard').body.HostConfig.Binds).toBeUndefined();
    const g = grantFor('strict');
    expect(() => buildContainerSpec({ grant: g, image: IMAGE, seccomp: seccompFor(g), labels: LABELS, ledgerDir: '/etc' })).toThrow(/not granted ledger read/);
    const s = grantFor('standard');
    expect(() => buildContainerSpec({ grant: s, image: IMAGE, seccomp: seccompFor(s), labels: LABELS })).toThrow(/no ledger directory/);
  });

  it('mounts the ledger at /ledger only where its host path is not free inside the container, and says why', () => {
    const g = grantFor('standard');
    const at = (ledgerDir: string, over: { ledgerAtHostPath?: boolean; grant?: Grant } = {}) =>
      buildContainerSpec({ grant: over.grant ?? g, image: IMAGE, seccomp: seccompFor(g), labels: LABELS, ledgerDir, ledgerAtHostPath: over.ledgerAtHostPath ?? true });
    for (const [dir, why] of [
      ['/tmp/sbx-parity-1', 'it is inside /tmp, which the container needs for itself (an empty read-only tmpfs in every plugin container)'],
      ['/opt', 'it is /opt, which the container needs for itself (the runner lives at /opt/sandboxctl)'],
      ['/var/lib/ledgers', 'it is inside /var'],
      ['/root/books', 'it is inside /root'],
      ['/scratch/x', 'it is inside /scratch'],
      ['/', 'it is the root directory'],
      ['/home/me/../etc', 'not in normal form'],
    ] as const) {
      const s = at(dir);
      expect([dir, s.body.HostConfig.Mounts?.map((m) => m.Target)]).toEqual([dir, ['/ledger']]);
      expect(s.applied.ledgerMounts).toEqual(['/ledger']);
      expect(s.applied.ledgerHostPath).toEqual({ path: dir, available: false, reason: expect.stringContaining(why) });
    }
    // the host path is /ledger itself: one mount, and host paths resolve through it
    expect(at('/ledger').body.HostConfig.Mounts?.map((m) => m.Target)).toEqual(['/ledger']);
    expect(at('/ledger').applied.ledgerHostPath).toMatchObject({ available: true });
    // trusted stages do not ask for it
    expect(at('/home/me/ledger', { ledgerAtHostPath: false }).applied.ledgerHostPath).toEqual({ path: '/home/me/ledger', available: false, reason: 'only /ledger was asked for' });
    expect(at('/home/me/ledger', { ledgerAtHostPath: false }).body.HostConfig.Mounts?.map((m) => m.Target)).toEqual(['/ledger']);
    // a pinned image's own files could be anywhere: /ledger only
    const image = { ...g, plugin: { ...g.plugin, runtime: 'image' as const } };
    expect(at('/home/me/ledger', { grant: image }).body.HostConfig.Mounts?.map((m) => m.Target)).toEqual(['/ledger']);
    expect(at('/home/me/ledger', { grant: image }).applied.ledgerHostPath?.reason).toMatch(/its own image/);
  });

  it('makes scratch a noexec,nosuid,nodev tmpfs of the granted size owned by the plugin user', () => {
    expect(specFor('strict').body.HostConfig.Tmpfs?.['/scratch']).toBe('rw,noexec,nosuid,nodev,size=16777216,uid=65532,gid=65532,mode=0700');
    const g = resolve({ manifest: manifest(), profile: shippedProfile('strict'), host: HOST });
    if (g.kind !== 'grant') throw new Error('refused');
    const spec = buildContainerSpec({ grant: g, image: IMAGE, seccomp: seccompFor(g), labels: LABELS });
    expect(Object.keys(spec.body.HostConfig.Tmpfs!)).toEqual(['/dev/shm', '/tmp']);
    expect(spec.body.HostConfig.Ulimits?.find((u) => u.Name === 'fsize')).toEqual({ Name: 'fsize', Soft: 0, Hard: 0 });
  });

  it('runs strict on runsc with a host pids cap that leaves room for gVisor, and nproc as the plugin cap', () => {
    const s = specFor('strict');
    expect(s.body.HostConfig.Runtime).toBe('runsc');
    expect(s.body.HostConfig.PidsLimit).toBe(runscHostPids(64));
    expect(s.body.HostConfig.Ulimits?.find((u) => u.Name === 'nproc')).toEqual({ Name: 'nproc', Soft: 64, Hard: 64 });
    const r = specFor('strict', { apparmor: false, runtimes: ['runc'] });
    expect(r.body.HostConfig.Runtime).toBe('runc');
    expect(r.body.HostConfig.PidsLimit).toBe(64);
    expect(r.body.HostConfig.Ulimits?.find((u) => u.Name === 'nproc')?.Soft).toBe(NPROC_RUNC_BACKSTOP);
  });

  it('applies AppArmor where the host has it, and records it', () => {
    const s = specFor('strict', { apparmor: true, runtimes: ['runc'] });
    expect(s.body.HostConfig.SecurityOpt).toContain('apparmor=sandboxctl-plugin');
    expect(s.applied.apparmor).toEqual({ applied: true, profile: 'sandboxctl-plugin', reason: 'the host has AppArmor' });
  });

  it('sets memory, swap, CPU and a CPU-time ulimit that cannot fire before the timeout', () => {
    const hc = specFor('standard').body.HostConfig;
    expect(hc.Memory).toBe(512 * 1024 ** 2);
    expect(hc.MemorySwap).toBe(512 * 1024 ** 2);
    // one CPU as a quota per one-second period (no NanoCpus, whose period is 100 ms)
    expect([hc.CpuQuota, hc.CpuPeriod, hc.NanoCpus]).toEqual([1_000_000, 1_000_000, undefined]);
    expect(cpuNanos(hc)).toBe(1e9);
    expect(hc.PidsLimit).toBe(100);
    expect(hc.Ulimits?.find((u) => u.Name === 'cpu')).toEqual({ Name: 'cpu', Soft: 121, Hard: 122 });
  });

  it('refuses to build a spec for root, whatever the grant says', () => {
    const g = { ...grantFor('strict'), user: '0:0' };
    expect(() => buildContainerSpec({ grant: g, image: IMAGE, seccomp: seccompFor(g), labels: LABELS })).toThrow(/not a non-root uid:gid/);
  });

  it('has a digest that is stable across runs and changes with anything that matters', () => {
    const a = specFor('standard');
    const relabelled = { ...a.body, Labels: { ...LABELS, 'io.sandboxctl.run': 'other-run' } };
    expect(specDigest(relabelled)).toBe(a.digest);
    expect(specDigest({ ...a.body, Env: ['TZ=UTC', 'TMPDIR=/scratch'] })).toBe(a.digest);
    expect(specDigest({ ...a.body, HostConfig: { ...a.body.HostConfig, ReadonlyRootfs: false } })).not.toBe(a.digest);
    expect(redactEnv(a.body).Env).toEqual(['TZ=<redacted>', 'TMPDIR=/scratch']);
    expect(a.applied.env).toEqual({ passed: ['TZ'], missing: ['LANG'] });
  });
});
