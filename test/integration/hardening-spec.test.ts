// For each shipped profile: the container the engine creates from our spec has every
// hardening field as intended (read back from the engine's own inspect, not our input).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { ContainerHandle } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { Labels } from '../../src/labels.js';
import type { HostFacts } from '../../src/policy/grant.js';
import { hostFacts } from '../../src/policy/host-facts.js';
import { runscHostPids } from '../../src/blueprint/container-blueprint.js';
import { baseImage } from './hardening/images.js';
import { ASKS, PROFILES, specFor, writableLedgerDir, type ProfileName } from './hardening/spec-for.js';
import { removeWorkDir } from './helpers/work-dir.js';

const engine = createDockerEngine();
const runId = `test-${newRunId()}`;
let host: HostFacts;
let image: string;
let ledgerDir: string;
const created: ContainerHandle[] = [];

beforeAll(async () => {
  host = (await hostFacts(engine)).facts;
  image = (await engine.inspectImage(await baseImage(engine)))!.id;
  ledgerDir = await writableLedgerDir();
});

afterAll(async () => {
  for (const c of created) await c.remove();
  if (ledgerDir) await removeWorkDir(ledgerDir);
  expect(await engine.listContainers({ [Labels.run]: runId })).toEqual([]);
});

type Inspect = {
  Config: { User: string; Env: string[]; Labels: Record<string, string>; Image: string; AttachStdin: boolean; OpenStdin: boolean; StdinOnce: boolean; Tty: boolean };
  HostConfig: Record<string, unknown> & { SecurityOpt: string[]; Ulimits: Array<{ Name: string; Soft: number; Hard: number }>; Tmpfs: Record<string, string> };
  Mounts: Array<{ Type: string; Source: string; Destination: string; RW: boolean; Propagation: string }>;
  AppArmorProfile: string;
};

async function createAndInspect(profile: ProfileName, opts: { runtime?: 'runc' | 'runsc'; egress?: boolean; ledgerDir?: string } = {}) {
  const ask = opts.egress ? { ...ASKS[profile], capabilities: { ...ASKS[profile].capabilities, network: 'egress' as const } } : ASKS[profile];
  const spec = await specFor({ profile, runtime: opts.runtime, host, image, runId, ledgerDir: opts.ledgerDir ?? ledgerDir, ask });
  const handle = await engine.createContainer(spec.body);
  created.push(handle);
  const raw = (await handle.inspect()).raw as unknown as Inspect;
  return { spec, raw };
}

describe.each(PROFILES)('profile %s: the created container, as the engine reports it', (profile) => {
  it('has every hardening field of the spec', async () => {
    const { spec, raw } = await createAndInspect(profile);
    const hc = raw.HostConfig;
    const want = spec.body.HostConfig;
    expect(hc.NetworkMode).toBe('none');
    expect(hc.ReadonlyRootfs).toBe(true);
    expect(hc.CapDrop).toEqual(['ALL']);
    expect(hc.CapAdd).toBeNull();
    expect(hc.Privileged).toBe(false);
    expect(hc.SecurityOpt).toContain('no-new-privileges');
    const seccomp = hc.SecurityOpt.find((o) => o.startsWith('seccomp='));
    expect(seccomp).toBe(want.SecurityOpt!.find((o) => o.startsWith('seccomp=')));
    expect(JSON.parse(seccomp!.slice('seccomp='.length)).defaultAction).toBe('SCMP_ACT_ERRNO');
    // AppArmor is absent on these hosts: nothing applied, and the spec says so
    expect(host.apparmor).toBe(false);
    expect(hc.SecurityOpt.some((o) => o.startsWith('apparmor='))).toBe(false);
    expect(raw.AppArmorProfile).toBe('');
    expect(spec.applied.apparmor.applied).toBe(false);
    expect(hc.Memory).toBe(128 * 1024 ** 2);
    expect(hc.MemorySwap).toBe(hc.Memory);
    // the granted CPUs as a quota per one-second period (hardening-cpu.test.ts shows what the kernel makes of it)
    expect([hc.CpuQuota, hc.CpuPeriod, hc.NanoCpus]).toEqual([Math.round(ASKS[profile].resources!.cpus! * 1e6), 1_000_000, 0]);
    expect(hc.PidsLimit).toBe(want.PidsLimit);
    expect(hc.Ulimits).toEqual(want.Ulimits);
    expect(hc.Ulimits.find((u) => u.Name === 'core')).toEqual({ Name: 'core', Soft: 0, Hard: 0 });
    expect(hc.Tmpfs).toEqual({
      '/dev/shm': 'ro,noexec,nosuid,nodev,size=4k',
      '/tmp': 'ro,noexec,nosuid,nodev,size=4k',
      '/scratch': 'rw,noexec,nosuid,nodev,size=16777216,uid=65532,gid=65532,mode=0700',
    });
    expect(hc.IpcMode).toBe('private');
    expect(hc.PidMode).toBe('');
    expect(hc.UTSMode).toBe('');
    expect(hc.UsernsMode).toBe('');
    expect(hc.Devices).toEqual([]);
    expect(hc.Init).toBe(true);
    expect(hc.LogConfig).toEqual({ Type: 'none', Config: {} });
    expect(hc.Binds).toBeNull();
    expect(raw.Config.User).toBe('65532:65532');
    expect(raw.Config.Labels).toMatchObject({ [Labels.managed]: 'true', [Labels.run]: runId });
    expect(raw.Config).toMatchObject({ AttachStdin: true, OpenStdin: true, StdinOnce: true, Tty: false });
    if (profile === 'strict') {
      expect(raw.Mounts).toEqual([]);
      expect(hc.Runtime).toBe(host.runtimes.includes('runsc') ? 'runsc' : 'runc');
    } else {
      // at /ledger and at its own host path, both read-only (inspect lists mounts in no set order)
      expect(raw.Mounts).toHaveLength(2);
      expect(raw.Mounts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Type: 'bind', Source: ledgerDir, Destination: '/ledger', RW: false, Propagation: 'rprivate' }),
          expect.objectContaining({ Type: 'bind', Source: ledgerDir, Destination: ledgerDir, RW: false, Propagation: 'rprivate' }),
        ]),
      );
      expect(hc.Runtime).toBe('runc');
    }
    const envNames = raw.Config.Env.map((e) => e.split('=')[0]);
    expect(envNames).toContain('TMPDIR');
    expect(envNames.includes('TZ')).toBe(profile === 'permissive');
  });
});

describe('runtime and network choices, as the engine reports them', () => {
  it('strict on runsc caps host pids with room for gVisor and holds the plugin with nproc', async () => {
    if (!host.runtimes.includes('runsc')) throw new Error('this machine registers runsc (see MACHINE.md); it is missing');
    const { raw } = await createAndInspect('strict', { runtime: 'runsc' });
    expect(raw.HostConfig.Runtime).toBe('runsc');
    expect(raw.HostConfig.PidsLimit).toBe(runscHostPids(64));
    expect(raw.HostConfig.Ulimits.find((u) => u.Name === 'nproc')).toEqual({ Name: 'nproc', Soft: 64, Hard: 64 });
  });

  it('strict forced onto runc caps pids in the cgroup', async () => {
    const { raw } = await createAndInspect('strict', { runtime: 'runc' });
    expect(raw.HostConfig.Runtime).toBe('runc');
    expect(raw.HostConfig.PidsLimit).toBe(64);
  });

  it('a ledger under /tmp is mounted at /ledger only: the container needs /tmp for itself', async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-ledger-'));
    try {
      const { spec, raw } = await createAndInspect('standard', { ledgerDir: tmp });
      expect(raw.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: tmp, Destination: '/ledger', RW: false, Propagation: 'rprivate' })]);
      expect(spec.applied.ledgerHostPath).toEqual({ path: tmp, available: false, reason: expect.stringMatching(/^it is inside \/tmp, /) });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it('permissive with egress granted gets the bridge network, and only then', async () => {
    const { raw } = await createAndInspect('permissive', { egress: true });
    expect(raw.HostConfig.NetworkMode).toBe('bridge');
  });
});
