import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Grant } from '../policy/grant.js';
import { resolve } from '../policy/resolve.js';
import { checkSeccomp } from '../policy/seccomp.js';
import { manifest, shippedProfile } from '../../test/fixtures/policy-fixtures.js';
import { buildContainerSpec } from './container-blueprint.js';
import { composeFile, composeService, composeServiceName } from './compose-service.js';
import { renderComposeYaml } from './compose-yaml.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const IMAGE = `sha256:${'d'.repeat(64)}`;
const LABELS = { 'io.sandboxctl.managed': 'true', 'io.sandboxctl.kind': 'plugin', 'io.sandboxctl.run': 'compose-test' };
const HOST = { apparmor: false, runtimes: ['runc', 'runsc'] };

const ASKS = {
  strict: manifest({ capabilities: { scratch: '16Mi', effects: ['add'] } }),
  standard: manifest({ capabilities: { ledger: 'read', scratch: '64Mi', env: ['TZ', 'LANG'], effects: ['add', 'modify'] }, resources: { memory: '512Mi', cpus: 1, timeout: '2m', pids: 100 } }),
  permissive: manifest({ capabilities: { ledger: 'read', network: 'egress', scratch: '256Mi', env: ['TZ'], effects: ['add', 'modify', 'remove'] }, resources: { cpus: 0.5 } }),
};

function specFor(name: keyof typeof ASKS, host = HOST) {
  const d = resolve({ manifest: ASKS[name], profile: shippedProfile(name), host });
  if (d.kind !== 'grant') throw new Error(JSON.stringify(d.denials));
  const g: Grant = d;
  const seccomp = checkSeccomp(readFileSync(path.join(ROOT, 'seccomp', g.seccomp), 'utf8'), `seccomp/${g.seccomp}`);
  return buildContainerSpec({
    grant: g,
    image: IMAGE,
    seccomp,
    labels: LABELS,
    command: ['plugin', '--bundle', '/plugin'],
    ledgerDir: g.capabilities.ledger === 'read' ? '/home/me/ledger' : undefined,
    ledgerAtHostPath: true,
    env: { TZ: 'Europe/Paris', SECRET: 'never' },
  });
}

const serviceFor = (name: keyof typeof ASKS, host = HOST) =>
  composeService({ body: specFor(name, host).body, profile: name, seccompFile: `/srv/export/seccomp/${name}.json` });

describe.each(['strict', 'standard', 'permissive'] as const)('compose service for profile %s', (name) => {
  const spec = specFor(name);
  const hc = spec.body.HostConfig;
  const svc = serviceFor(name);

  it('matches the reviewed snapshot, whole, as YAML', async () => {
    const yaml = renderComposeYaml(composeFile([{ name: composeServiceName('acme.tag-large'), service: svc }]), [`profile ${name}`]);
    await expect(yaml).toMatchFileSnapshot(`./__snapshots__/compose-${name}.yaml`);
  });

  it('carries every hardening field of the body, value for value', () => {
    expect(svc).toMatchObject({
      image: IMAGE,
      profiles: [name],
      command: spec.body.Cmd,
      user: spec.body.User,
      working_dir: '/',
      labels: LABELS,
      stdin_open: true,
      tty: false,
      network_mode: hc.NetworkMode,
      read_only: true,
      cap_drop: ['ALL'],
      privileged: false,
      mem_limit: hc.Memory,
      memswap_limit: hc.Memory,
      oom_kill_disable: false,
      pids_limit: hc.PidsLimit,
      ipc: 'private',
      devices: [],
      init: true,
      logging: { driver: 'none' },
      runtime: hc.Runtime,
    });
    expect([svc.cpu_period, svc.cpu_quota]).toEqual([hc.CpuPeriod, hc.CpuQuota]);
    expect(svc.security_opt).toEqual(['no-new-privileges', `seccomp:/srv/export/seccomp/${name}.json`]);
    expect(Object.fromEntries(svc.tmpfs.map((t) => [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)]))).toEqual(hc.Tmpfs);
    expect(Object.entries(svc.ulimits).map(([n, u]) => ({ Name: n, Soft: u.soft, Hard: u.hard }))).toEqual(hc.Ulimits);
    expect(svc.volumes.map((v) => ({ Type: v.type, Source: v.source, Target: v.target, ReadOnly: v.read_only, BindOptions: { Propagation: v.bind.propagation } }))).toEqual(hc.Mounts);
  });

  it('never writes an environment value from the host into the file', () => {
    expect(JSON.stringify(svc)).not.toContain('Europe/Paris');
    expect(JSON.stringify(svc)).not.toContain('never');
    expect(svc.environment).toEqual(name === 'strict' ? ['TMPDIR=/scratch'] : ['TZ', 'TMPDIR=/scratch']);
  });
});

describe('compose service mapping', () => {
  it('runs strict on runsc and standard on runc, as the body does', () => {
    expect(serviceFor('strict').runtime).toBe('runsc');
    expect(serviceFor('standard').runtime).toBe('runc');
    expect(serviceFor('strict', { apparmor: false, runtimes: ['runc'] }).runtime).toBe('runc');
    expect(serviceFor('permissive').network_mode).toBe('bridge');
  });

  it('keeps AppArmor where the body applies it', () => {
    expect(serviceFor('strict', { apparmor: true, runtimes: ['runc'] }).security_opt).toContain('apparmor=sandboxctl-plugin');
  });

  it('refuses a body field it does not map, instead of dropping it', () => {
    const body = specFor('standard').body;
    const svc = (b: typeof body) => composeService({ body: b, profile: 'standard', seccompFile: '/x.json' });
    expect(() => svc({ ...body, HostConfig: { ...body.HostConfig, CapAdd: ['NET_ADMIN'] } })).toThrow(/HostConfig\.CapAdd/);
    expect(() => svc({ ...body, HostConfig: { ...body.HostConfig, ShmSize: 1 } })).toThrow(/HostConfig\.ShmSize/);
    expect(() => svc({ ...body, Entrypoint: ['sh'] })).toThrow(/body\.Entrypoint/);
    expect(() => svc({ ...body, HostConfig: { ...body.HostConfig, AutoRemove: true } })).toThrow(/AutoRemove/);
    expect(() => svc({ ...body, HostConfig: { ...body.HostConfig, Devices: [{ PathOnHost: '/dev/kvm' }] } })).toThrow(/Devices/);
    expect(() => svc({ ...body, HostConfig: { ...body.HostConfig, SecurityOpt: ['no-new-privileges'] } })).toThrow(/exactly one seccomp/);
    expect(() => svc({ ...body, HostConfig: { ...body.HostConfig, Mounts: [{ Type: 'volume', Source: 'v', Target: '/v' }] } })).toThrow(/mount/);
  });

  it('names services for compose and refuses two plugins under one name', () => {
    expect(composeServiceName('beancount.plugins.check_commodity')).toBe('beancount.plugins.check_commodity');
    expect(composeServiceName('acme/odd name')).toBe('acme-odd-name');
    const s = serviceFor('strict');
    expect(() => composeFile([{ name: 'a', service: s }, { name: 'a', service: s }])).toThrow(/two plugins/);
  });
});

describe('what a compose service cannot say is refused, not approximated', () => {
  const body = () => structuredClone(specFor('standard').body);
  const svc = (b: ReturnType<typeof body>) => composeService({ body: b, profile: 'standard', seccompFile: '/x/seccomp.json' });

  it.each([
    ['an unknown body field', (b: ReturnType<typeof body>) => Object.assign(b, { Healthcheck: { Test: ['NONE'] } }), /body\.Healthcheck/],
    ['an unknown HostConfig field', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { CgroupParent: '/x' }), /HostConfig\.CgroupParent/],
    ['AutoRemove', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { AutoRemove: true }), /AutoRemove/],
    ['devices', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { Devices: [{ PathOnHost: '/dev/kvm' }] }), /Devices/],
    ['log driver options', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { LogConfig: { Type: 'none', Config: { tag: 'x' } } }), /LogConfig\.Config/],
    ['a mount that is not a bind', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { Mounts: [{ Type: 'volume', Source: 'v', Target: '/v' }] }), /mount/],
    ['a bind mount with an unknown key', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { Mounts: [{ Type: 'bind', Source: '/a', Target: '/a', BindOptions: { Propagation: 'rprivate' }, Consistency: 'cached' }] }), /Mounts\[\]\.Consistency/],
    ['a bind mount without propagation', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { Mounts: [{ Type: 'bind', Source: '/a', Target: '/a' }] }), /bind propagation/],
    ['no seccomp option', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { SecurityOpt: ['no-new-privileges'] }), /exactly one seccomp option; this one has 0/],
    ['two seccomp options', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { SecurityOpt: ['seccomp={}', 'seccomp={}'] }), /this one has 2/],
    ['no memory limit', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { Memory: undefined }), /no Memory/],
    ['a CPU cap as NanoCpus (sandboxctl writes a quota per period)', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { NanoCpus: 5e8 }), /HostConfig\.NanoCpus/],
    ['no CPU quota', (b: ReturnType<typeof body>) => Object.assign(b.HostConfig, { CpuQuota: undefined }), /no CpuQuota/],
  ])('%s', (_what, change, message) => {
    const b = body();
    change(b);
    expect(() => svc(b)).toThrow(message);
  });

  it('writes a granted variable by name only, so no host value lands in the file', () => {
    const b = body();
    b.Env = ['TZ=Europe/Paris', 'LANG', 'TMPDIR=/scratch'];
    expect(svc(b).environment).toEqual(['TZ', 'LANG', 'TMPDIR=/scratch']);
  });

  it('fills what a body may leave out with the safe value', () => {
    const b = body();
    delete b.Cmd;
    b.HostConfig.Mounts = undefined;
    b.HostConfig.Tmpfs = undefined;
    b.HostConfig.CapDrop = undefined;
    b.HostConfig.Ulimits = undefined;
    b.Env = undefined;
    const s = svc(b);
    expect(s).not.toHaveProperty('command');
    expect([s.volumes, s.tmpfs, s.cap_drop, s.environment, s.ulimits]).toEqual([[], [], [], [], {}]);
  });

  it('names services as compose allows', () => {
    expect(composeServiceName('acme/tag large!')).toBe('acme-tag-large-');
    expect(composeServiceName('..hidden')).toBe('hidden');
    expect(composeServiceName('***')).toBe('plugin');
  });

  it('writes YAML without a header when none is given', () => {
    expect(renderComposeYaml(composeFile([]), []).startsWith('#')).toBe(false);
  });
});
