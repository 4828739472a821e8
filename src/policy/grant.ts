// What policy decides for one plugin: a grant (exactly what it may have, nothing it did
// not ask for) or a refusal (every reason). Plain data: printed by `plan`, kept in the audit.
import type { Denial } from '../errors.js';
import type { Effect, PluginRuntime } from '../manifest/schema.js';
import type { Notice } from './ledger-options.js';

export type OciRuntime = 'runc' | 'runsc';

/** What the policy needs to know about the engine's host. */
export interface HostFacts {
  apparmor: boolean;
  /** OCI runtimes the engine has registered (runc, runsc, ...). */
  runtimes: string[];
}

export interface PluginRef {
  name: string;
  version: string;
  runtime: PluginRuntime;
}

export interface GrantedCapabilities {
  ledger: 'none' | 'read';
  network: 'none' | 'egress';
  /** Size of the scratch tmpfs, or null for none. */
  scratchBytes: number | null;
  env: string[];
  effects: Effect[];
}

export interface GrantedLimits {
  memoryBytes: number;
  cpus: number;
  timeoutMs: number;
  /** Processes and threads the plugin may have at once. */
  pids: number;
  outputBytes: number;
  lineBytes: number;
  results: number;
  errors: number;
}

export interface Grant {
  kind: 'grant';
  plugin: PluginRef;
  /** The profile the plugin runs under. */
  profile: string;
  /** The admin's profile (the most any ledger could choose). */
  ceilingProfile: string;
  capabilities: GrantedCapabilities;
  limits: GrantedLimits;
  /** Seccomp file the profile names (the spec gets its checked body). */
  seccomp: string;
  apparmor: { mode: 'required' | 'if-available' | 'off'; profile: string; apply: boolean; reason: string };
  ociRuntime: OciRuntime;
  /** uid:gid, never root. */
  user: string;
  notices: Notice[];
}

export interface Refusal {
  kind: 'refusal';
  plugin: PluginRef;
  profile: string;
  ceilingProfile: string;
  denials: Denial[];
  notices: Notice[];
}

export type Decision = Grant | Refusal;
