// grant -> Docker Engine create body: the whole translation a security reviewer reads.
// Pure: the image, the checked seccomp body, labels, the ledger path and env values are
// passed in; nothing is read from the process, the disk or the engine here.
import { createHash } from 'node:crypto';
import type { CreateContainerBody, HostConfig, Ulimit } from '../engine/types.js';
import { InternalError } from '../errors.js';
import type { Grant } from '../policy/grant.js';
import { hostPathMountable, LEDGER_MOUNT, SCRATCH_MOUNT } from './container-paths.js';
import type { CheckedSeccomp } from '../policy/seccomp.js';


/** The CFS period a container's CPU cap is enforced over, in microseconds (the kernel's longest). */
export const CPU_PERIOD_US = 1_000_000;

/** The CPUs a spec's quota allows, in billionths of a CPU (as the audit records them); 0: no cap. */
export function cpuNanos(hc: Pick<HostConfig, 'CpuQuota' | 'CpuPeriod'>): number {
  return hc.CpuQuota && hc.CpuQuota > 0 && hc.CpuPeriod ? Math.round((hc.CpuQuota / hc.CpuPeriod) * 1e9) : 0;
}

export { LEDGER_MOUNT, SCRATCH_MOUNT };
/** Open files per process: the runners need a few dozen. */
export const NOFILE = 1024;
/**
 * Under runc RLIMIT_NPROC counts every process of the uid on the whole host (all plugin
 * containers share uid 65532), so a per-plugin value would let one plugin's fork bomb
 * starve another's: there it is a host-wide backstop, and the cgroup PidsLimit is the
 * per-container cap. Under gVisor the sandbox has its own kernel, so nproc is exact there.
 */
export const NPROC_RUNC_BACKSTOP = 4096;
/**
 * gVisor's sentry and gofer are host threads in the container's pids cgroup (about 60
 * idle, and about 8 more per sandboxed process on the ptrace platform, measured): the
 * host cap must leave room for them; the sandbox-internal nproc limit holds the plugin.
 */
export function runscHostPids(pids: number): number {
  return 128 + 16 * pids;
}

export interface SpecInput {
  grant: Grant;
  /** Image to run, by ID (sha256:...), so what runs is what was checked. */
  image: string;
  seccomp: CheckedSeccomp;
  /** ourLabels(...) of the caller: labels need the run id and owner, which are not policy. */
  labels: Record<string, string>;
  command?: string[];
  /** Host path of the ledger's directory; required when the grant gives ledger read. */
  ledgerDir?: string;
  /**
   * Also mount the ledger's directory at its own host path, when that path is free inside the
   * container (hostPathMountable), so host paths in a plugin's config resolve there. Plugins
   * get it through the planner; trusted stages read the ledger at /ledger only.
   * @default false
   */
  ledgerAtHostPath?: boolean;
  /** Values of the granted env names (the caller takes them from its environment). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What was applied, in words and values, alongside the body (printed by plan, kept by the audit). */
export interface Applied {
  ociRuntime: 'runc' | 'runsc';
  network: 'none' | 'bridge';
  seccomp: { source: string; digest: string };
  apparmor: { applied: boolean; profile: string | null; reason: string };
  /** Where the ledger's directory is mounted read-only: [] when not granted, /ledger first. */
  ledgerMounts: string[];
  /** Whether the ledger directory's host path resolves inside the container, and why (or why not). */
  ledgerHostPath: LedgerHostPath | null;
  scratch: { path: string; bytes: number } | null;
  /** Env names granted and given a value; granted names the host did not have. */
  env: { passed: string[]; missing: string[] };
  pids: { plugin: number; engineLimit: number; nproc: number };
}

type Mount = NonNullable<HostConfig['Mounts']>[number];

export interface LedgerHostPath {
  path: string;
  available: boolean;
  reason: string;
}

export interface ContainerSpec {
  body: CreateContainerBody;
  applied: Applied;
  /** sha256 of the canonical JSON of the body, labels left out and env values redacted. */
  digest: string;
}

function parseUser(user: string): { uid: number; gid: number } {
  const m = /^([1-9][0-9]*):([1-9][0-9]*)$/.exec(user);
  // the profile schema already refuses root; this guards the invariant at the last step too
  if (!m) throw new InternalError(`refusing to build a spec for user ${JSON.stringify(user)}: not a non-root uid:gid`);
  return { uid: Number(m[1]), gid: Number(m[2]) };
}

function ledgerBind(source: string, target: string): Mount {
  return { Type: 'bind', Source: source, Target: target, ReadOnly: true, BindOptions: { Propagation: 'rprivate' } };
}

/** Where the ledger's directory goes: always /ledger, and its own host path when that is free. */
function ledgerPlacement(input: SpecInput, dir: string): { mounts: Mount[]; hostPath: LedgerHostPath } {
  const mounts = [ledgerBind(dir, LEDGER_MOUNT)];
  const no = (reason: string) => ({ mounts, hostPath: { path: dir, available: false, reason } });
  if (dir === LEDGER_MOUNT) return { mounts, hostPath: { path: dir, available: true, reason: `the host path is ${LEDGER_MOUNT}, where the directory is mounted` } };
  if (!input.ledgerAtHostPath) return no(`only ${LEDGER_MOUNT} was asked for`);
  // a pinned image's layout is not known here: its own files could be at that path
  if (input.grant.plugin.runtime === 'image') return no('the plugin runs its own image, whose layout sandboxctl does not know');
  const verdict = hostPathMountable(dir);
  if (!verdict.ok) return no(verdict.reason);
  return { mounts: [...mounts, ledgerBind(dir, dir)], hostPath: { path: dir, available: true, reason: `also mounted read-only at ${dir}` } };
}

function ulimit(name: string, soft: number, hard = soft): Ulimit {
  return { Name: name, Soft: soft, Hard: hard };
}

export function buildContainerSpec(input: SpecInput): ContainerSpec {
  const { grant: g, seccomp } = input;
  const { uid, gid } = parseUser(g.user);
  const caps = g.capabilities;
  const lim = g.limits;

  if (caps.ledger === 'read' && !input.ledgerDir) throw new InternalError('the grant gives ledger read but no ledger directory was passed');
  if (caps.ledger === 'none' && input.ledgerDir) throw new InternalError('a ledger directory was passed for a plugin not granted ledger read');

  const securityOpt = ['no-new-privileges', `seccomp=${seccomp.body}`];
  if (g.apparmor.apply) securityOpt.push(`apparmor=${g.apparmor.profile}`);

  const tmpfs: Record<string, string> = {
    // IpcMode private would give a writable 64 MiB /dev/shm; nothing may write there
    '/dev/shm': 'ro,noexec,nosuid,nodev,size=4k',
    // gVisor puts a writable tmpfs on an empty /tmp even with a read-only root: pin it read-only
    '/tmp': 'ro,noexec,nosuid,nodev,size=4k',
  };
  if (caps.scratchBytes !== null) {
    tmpfs[SCRATCH_MOUNT] = `rw,noexec,nosuid,nodev,size=${caps.scratchBytes},uid=${uid},gid=${gid},mode=0700`;
  }

  const ledger = caps.ledger === 'read' ? ledgerPlacement(input, input.ledgerDir!) : null;

  const runsc = g.ociRuntime === 'runsc';
  const engineLimit = runsc ? runscHostPids(lim.pids) : lim.pids;
  const nproc = runsc ? lim.pids : NPROC_RUNC_BACKSTOP;
  const timeoutSec = Math.ceil(lim.timeoutMs / 1000);
  // CPU seconds one process can use before the wall-clock timeout: never fires first
  const cpuSoft = Math.ceil(timeoutSec * lim.cpus) + 1;

  const env: string[] = [];
  const passed: string[] = [];
  const missing: string[] = [];
  for (const name of caps.env) {
    const v = input.env?.[name];
    if (v === undefined) missing.push(name);
    else {
      env.push(`${name}=${v}`);
      passed.push(name);
    }
  }
  if (caps.scratchBytes !== null) env.push(`TMPDIR=${SCRATCH_MOUNT}`);

  const hostConfig: HostConfig = {
    NetworkMode: caps.network === 'egress' ? 'bridge' : 'none',
    ReadonlyRootfs: true,
    Mounts: ledger?.mounts ?? [],
    Tmpfs: tmpfs,
    CapDrop: ['ALL'],
    SecurityOpt: securityOpt,
    Privileged: false,
    Memory: lim.memoryBytes,
    // equal to Memory: no swap on top of the cap
    MemorySwap: lim.memoryBytes,
    OomKillDisable: false,
    // the granted CPUs as a quota per one-second period, not NanoCpus (whose period is 100 ms):
    // a short run (a container's start under gVisor, a small ledger) goes at full speed, and
    // any run longer than a second averages its share all the same
    CpuPeriod: CPU_PERIOD_US,
    CpuQuota: Math.round(lim.cpus * CPU_PERIOD_US),
    PidsLimit: engineLimit,
    Ulimits: [
      ulimit('nofile', NOFILE),
      ulimit('nproc', nproc),
      // no scratch: no file may grow at all (the root fs is read-only anyway)
      ulimit('fsize', caps.scratchBytes ?? 0),
      ulimit('core', 0),
      ulimit('cpu', cpuSoft, cpuSoft + 1),
    ],
    IpcMode: 'private',
    Devices: [],
    Init: true,
    // nothing written to the host's disk; stdout/stderr still stream through attach
    LogConfig: { Type: 'none' },
    Runtime: g.ociRuntime,
    AutoRemove: false,
  };

  const body: CreateContainerBody = {
    Image: input.image,
    ...(input.command ? { Cmd: [...input.command] } : {}),
    User: `${uid}:${gid}`,
    Env: env,
    Labels: { ...input.labels },
    WorkingDir: '/',
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    HostConfig: hostConfig,
  };

  const applied: Applied = {
    ociRuntime: g.ociRuntime,
    network: caps.network === 'egress' ? 'bridge' : 'none',
    seccomp: { source: seccomp.source, digest: seccomp.digest },
    apparmor: { applied: g.apparmor.apply, profile: g.apparmor.apply ? g.apparmor.profile : null, reason: g.apparmor.reason },
    ledgerMounts: ledger?.mounts.map((m) => m.Target) ?? [],
    ledgerHostPath: ledger?.hostPath ?? null,
    scratch: caps.scratchBytes === null ? null : { path: SCRATCH_MOUNT, bytes: caps.scratchBytes },
    env: { passed, missing },
    pids: { plugin: lim.pids, engineLimit, nproc },
  };
  return { body, applied, digest: specDigest(body) };
}

/** Env values from the host replaced (they may be secrets): what plan prints and the audit keeps. */
export function redactEnv(body: CreateContainerBody): CreateContainerBody {
  return { ...body, Env: body.Env?.map((e) => (e === `TMPDIR=${SCRATCH_MOUNT}` ? e : `${e.slice(0, e.indexOf('='))}=<redacted>`)) };
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}

/** Stable across runs: labels (run id, owner pid) left out, env values redacted, keys sorted. */
export function specDigest(body: CreateContainerBody): string {
  const { Labels: _labels, ...rest } = redactEnv(body);
  return `sha256:${createHash('sha256').update(JSON.stringify(canonical(rest))).digest('hex')}`;
}
