// Engine create body -> docker-compose service: the same container, written for
// docker-compose 1.29 (the Compose spec, no version key). Pure: the body is the one
// buildContainerSpec made, so a compose service can only hold what `plan` and `run` hold.
// Every field of the body is mapped or refused: a new hardening field cannot be dropped
// silently here; it fails until it is mapped.
import { InternalError, UsageError } from '../errors.js';
import type { CreateContainerBody, HostConfig } from '../engine/types.js';
import { SCRATCH_MOUNT } from './container-paths.js';

export interface ComposeBindVolume {
  type: 'bind';
  source: string;
  target: string;
  read_only: boolean;
  bind: { propagation: string };
}

export interface ComposeService {
  image: string;
  profiles: string[];
  command?: string[];
  user: string;
  working_dir: string;
  /** Literal TMPDIR; granted names without a value: compose passes the value of its own environment. */
  environment: string[];
  labels: Record<string, string>;
  stdin_open: boolean;
  tty: boolean;
  network_mode: string;
  read_only: boolean;
  volumes: ComposeBindVolume[];
  tmpfs: string[];
  cap_drop: string[];
  security_opt: string[];
  privileged: boolean;
  mem_limit: number;
  memswap_limit: number;
  oom_kill_disable: boolean;
  cpu_period: number;
  cpu_quota: number;
  pids_limit: number;
  ulimits: Record<string, { soft: number; hard: number }>;
  ipc: string;
  devices: string[];
  init: boolean;
  logging: { driver: string };
  runtime: string;
}

export interface ComposeServiceInput {
  body: CreateContainerBody;
  /** The compose profile the service is under: the admin profile's name. */
  profile: string;
  /** Where compose reads the seccomp profile (absolute: docker-compose 1.29 opens it relative to its own cwd). */
  seccompFile: string;
}

// Fields of the body this mapping carries; anything else in a body is refused below.
const BODY_KEYS = new Set(['Image', 'Cmd', 'User', 'Env', 'Labels', 'WorkingDir', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'OpenStdin', 'StdinOnce', 'Tty', 'HostConfig']);
const HOST_KEYS = new Set<keyof HostConfig>([
  'NetworkMode', 'ReadonlyRootfs', 'Mounts', 'Tmpfs', 'CapDrop', 'SecurityOpt', 'Privileged', 'Memory', 'MemorySwap',
  'OomKillDisable', 'CpuPeriod', 'CpuQuota', 'PidsLimit', 'Ulimits', 'IpcMode', 'Devices', 'Init', 'LogConfig', 'Runtime', 'AutoRemove',
]);

function refuse(what: string, value: unknown): never {
  throw new InternalError(`cannot write ${what} ${JSON.stringify(value)?.slice(0, 200)} as a compose service field: the mapping in compose-service.ts does not know it`);
}

function checkKeys(obj: object, known: Set<string>, where: string): void {
  for (const [k, v] of Object.entries(obj)) if (v !== undefined && !known.has(k)) refuse(`${where}.${k}`, v);
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new InternalError(`the container body has no ${what}: every plugin body sets it`);
  return value;
}

/** `NAME=value` from the host is never written to a file: the name alone takes compose's environment. */
function environment(env: readonly string[]): string[] {
  return env.map((e) => (e === `TMPDIR=${SCRATCH_MOUNT}` ? e : e.slice(0, e.includes('=') ? e.indexOf('=') : e.length)));
}

function securityOpt(opts: readonly string[], seccompFile: string): string[] {
  const seccomp = opts.filter((o) => o.startsWith('seccomp='));
  if (seccomp.length !== 1) throw new InternalError(`a plugin body has exactly one seccomp option; this one has ${seccomp.length}`);
  // compose reads the file and sends its JSON inline, as seccomp=<json>: the same profile the body carries
  return opts.map((o) => (o.startsWith('seccomp=') ? `seccomp:${seccompFile}` : o));
}

function volumes(mounts: NonNullable<HostConfig['Mounts']>): ComposeBindVolume[] {
  return mounts.map((m) => {
    if (m.Type !== 'bind' || !m.Source || m.TmpfsOptions) refuse('mount', m);
    checkKeys(m, new Set(['Type', 'Source', 'Target', 'ReadOnly', 'BindOptions']), 'Mounts[]');
    return { type: 'bind', source: m.Source, target: m.Target, read_only: m.ReadOnly === true, bind: { propagation: required(m.BindOptions?.Propagation, 'bind propagation') } };
  });
}

export function composeService(input: ComposeServiceInput): ComposeService {
  const { body } = input;
  const hc = body.HostConfig;
  checkKeys(body, BODY_KEYS, 'body');
  checkKeys(hc, HOST_KEYS as Set<string>, 'HostConfig');
  // what compose cannot say is refused, not approximated
  if (hc.AutoRemove) refuse('HostConfig.AutoRemove', hc.AutoRemove);
  if (hc.Devices && hc.Devices.length > 0) refuse('HostConfig.Devices', hc.Devices);
  if (hc.LogConfig?.Config && Object.keys(hc.LogConfig.Config).length > 0) refuse('HostConfig.LogConfig.Config', hc.LogConfig.Config);
  const ulimits: ComposeService['ulimits'] = {};
  for (const u of hc.Ulimits ?? []) ulimits[u.Name] = { soft: u.Soft, hard: u.Hard };

  return {
    image: body.Image,
    profiles: [input.profile],
    ...(body.Cmd ? { command: [...body.Cmd] } : {}),
    user: required(body.User, 'User'),
    working_dir: required(body.WorkingDir, 'WorkingDir'),
    environment: environment(body.Env ?? []),
    labels: { ...body.Labels },
    stdin_open: body.OpenStdin === true,
    tty: body.Tty === true,
    network_mode: required(hc.NetworkMode, 'NetworkMode'),
    read_only: hc.ReadonlyRootfs === true,
    volumes: volumes(hc.Mounts ?? []),
    tmpfs: Object.entries(hc.Tmpfs ?? {}).map(([target, opts]) => `${target}:${opts}`),
    cap_drop: [...(hc.CapDrop ?? [])],
    security_opt: securityOpt(hc.SecurityOpt ?? [], input.seccompFile),
    privileged: hc.Privileged === true,
    mem_limit: required(hc.Memory, 'Memory'),
    memswap_limit: required(hc.MemorySwap, 'MemorySwap'),
    oom_kill_disable: hc.OomKillDisable === true,
    cpu_period: required(hc.CpuPeriod, 'CpuPeriod'),
    cpu_quota: required(hc.CpuQuota, 'CpuQuota'),
    pids_limit: required(hc.PidsLimit, 'PidsLimit'),
    ulimits,
    ipc: required(hc.IpcMode, 'IpcMode'),
    devices: [],
    init: hc.Init === true,
    logging: { driver: required(hc.LogConfig, 'LogConfig').Type },
    runtime: required(hc.Runtime, 'Runtime'),
  };
}

/** Compose service names: [a-zA-Z0-9._-], starting with a letter or digit. */
export function composeServiceName(plugin: string): string {
  const cleaned = plugin.replace(/[^a-zA-Z0-9._-]+/g, '-').replace(/^[^a-zA-Z0-9]+/, '');
  return cleaned || 'plugin';
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
}

/** One file for many plugins; two plugins that would share a service name are refused. */
export function composeFile(services: ReadonlyArray<{ name: string; service: ComposeService }>): ComposeFile {
  const out: Record<string, ComposeService> = {};
  for (const { name, service } of services) {
    if (out[name]) throw new UsageError(`two plugins map to the compose service name ${name}`, { hint: 'give each plugin bundle once; plugins whose names differ only in characters compose does not allow need distinct names' });
    out[name] = service;
  }
  return { services: out };
}
