// manifest + admin profile + ledger options + host facts -> a Grant or a Refusal. Pure.
//
// Choices, written down:
// - A request (capability or resource) beyond the profile refuses the plugin, with every
//   reason at once. We never quietly shrink a request: a plugin that asked for 512Mi and
//   silently got 256Mi would fail later in a way nobody can diagnose.
// - Ledger limits (plugin_timeout, plugin_memory_limit) clamp: the ledger's author runs
//   the plugin tighter than it asked for, knowingly, and a breach is reported as a violation.
// - Nothing is granted that the manifest did not ask for: the grant is the request, checked.
import type { Denial } from '../errors.js';
import { formatSize, sizeBytes, durationMs, formatDuration } from '../manifest/quantity.js';
import type { Manifest } from '../manifest/schema.js';
import type { Decision, Grant, HostFacts, OciRuntime, PluginRef } from './grant.js';
import { chooseProfile, ledgerLimits, type LedgerOptions, type Notice } from './ledger-options.js';
import type { Profile } from './profile-schema.js';

export interface ResolveInput {
  manifest: Manifest;
  /** The admin's profile: the ceiling. */
  profile: Profile;
  ledger?: {
    options: LedgerOptions;
    /** The profile options.sandbox names, loaded by the caller; undefined when not installed. */
    requestedProfile?: Profile;
  };
  host: HostFacts;
}

function deny(capability: string, requested: string, allowed: string, reason: string): Denial {
  return { capability, requested, allowed, reason };
}

function checkCapabilities(m: Manifest, p: Profile): Denial[] {
  const out: Denial[] = [];
  const a = p.allow;
  const c = m.capabilities;
  if (!a.runtimes.includes(m.runtime)) {
    out.push(deny('runtime', m.runtime, a.runtimes.join(', '), `profile ${p.name} does not run ${m.runtime} plugins`));
  }
  if (c.ledger === 'read' && a.ledger === 'none') {
    out.push(deny('capabilities.ledger', 'read', 'none', `profile ${p.name} gives plugins no access to ledger files`));
  }
  if (c.network === 'egress' && a.network === 'none') {
    out.push(deny('capabilities.network', 'egress', 'none', `profile ${p.name} gives plugins no network`));
  }
  if (c.scratch !== 'none') {
    if (a.scratchMax === 'none') out.push(deny('capabilities.scratch', c.scratch, 'none', `profile ${p.name} gives plugins no scratch space`));
    else if (sizeBytes(c.scratch) > sizeBytes(a.scratchMax)) {
      out.push(deny('capabilities.scratch', c.scratch, a.scratchMax, `above profile ${p.name}'s scratch maximum`));
    }
  }
  for (const name of c.env) {
    if (!a.env.includes(name)) {
      out.push(deny('capabilities.env', name, a.env.join(', ') || 'none', `profile ${p.name} does not pass ${name} to plugins`));
    }
  }
  for (const e of c.effects) {
    if (!a.effects.includes(e)) {
      out.push(deny('capabilities.effects', e, a.effects.join(', ') || 'none', `profile ${p.name} does not let plugins ${e} directives`));
    }
  }
  return out;
}

function checkResources(m: Manifest, p: Profile): Denial[] {
  const out: Denial[] = [];
  const r = m.resources;
  const k = p.ceilings;
  const over = (what: string, req: string, ceil: string) =>
    out.push(deny(`resources.${what}`, req, ceil, `above profile ${p.name}'s ceiling; ask for at most ${ceil} or run under a looser profile`));
  if (sizeBytes(r.memory) > sizeBytes(k.memory)) over('memory', formatSize(sizeBytes(r.memory)), formatSize(sizeBytes(k.memory)));
  if (r.cpus > k.cpus) over('cpus', String(r.cpus), String(k.cpus));
  if (durationMs(r.timeout) > durationMs(k.timeout)) over('timeout', r.timeout, k.timeout);
  if (r.pids > k.pids) over('pids', String(r.pids), String(k.pids));
  return out;
}

function checkHost(p: Profile, host: HostFacts): Denial[] {
  const out: Denial[] = [];
  if (p.apparmor === 'required' && !host.apparmor) {
    out.push(deny('apparmor', 'required', 'absent on this host', `profile ${p.name} requires AppArmor and this host's kernel has none; run on a host with AppArmor or use a profile with apparmor: if-available`));
  }
  if (p.runtime.require && !host.runtimes.includes(p.runtime.prefer)) {
    out.push(deny('runtime.oci', p.runtime.prefer, host.runtimes.join(', ') || 'none', `profile ${p.name} requires the ${p.runtime.prefer} runtime and the engine has not registered it`));
  }
  return out;
}

function ociRuntime(p: Profile, host: HostFacts, notices: Notice[]): OciRuntime {
  if (p.runtime.prefer === 'runsc') {
    if (host.runtimes.includes('runsc')) return 'runsc';
    notices.push({ option: 'runtime', requested: 'runsc', applied: 'runc', reason: `profile ${p.name} prefers gVisor (runsc) but the engine has not registered it` });
  }
  return 'runc';
}

export function resolve(input: ResolveInput): Decision {
  const { manifest: m, profile: ceiling, host } = input;
  const options = input.ledger?.options ?? {};
  const choice = chooseProfile(ceiling, options, input.ledger?.requestedProfile);
  const p = choice.profile;
  const limitsFromLedger = ledgerLimits(p, options);
  const notices = [...choice.notices, ...limitsFromLedger.notices];
  const plugin: PluginRef = { name: m.name, version: m.version, runtime: m.runtime };

  const denials = [...checkCapabilities(m, p), ...checkResources(m, p), ...checkHost(p, host)];
  if (denials.length > 0) return { kind: 'refusal', plugin, profile: p.name, ceilingProfile: ceiling.name, denials, notices };

  let memoryBytes = sizeBytes(m.resources.memory);
  if (limitsFromLedger.memoryBytes !== undefined && limitsFromLedger.memoryBytes < memoryBytes) {
    notices.push({ option: 'plugin_memory_limit', requested: formatSize(limitsFromLedger.memoryBytes), applied: formatSize(limitsFromLedger.memoryBytes), reason: `tighter than the ${formatSize(memoryBytes)} the plugin asked for` });
    memoryBytes = limitsFromLedger.memoryBytes;
  }
  let timeoutMs = durationMs(m.resources.timeout);
  if (limitsFromLedger.timeoutMs !== undefined && limitsFromLedger.timeoutMs < timeoutMs) {
    notices.push({ option: 'plugin_timeout', requested: formatDuration(limitsFromLedger.timeoutMs), applied: formatDuration(limitsFromLedger.timeoutMs), reason: `tighter than the ${m.resources.timeout} the plugin asked for` });
    timeoutMs = limitsFromLedger.timeoutMs;
  }
  const runtime = ociRuntime(p, host, notices);
  const apparmor: Grant['apparmor'] =
    p.apparmor === 'off'
      ? { mode: 'off', profile: p.apparmorProfile, apply: false, reason: `profile ${p.name} turns AppArmor off` }
      : host.apparmor
        ? { mode: p.apparmor, profile: p.apparmorProfile, apply: true, reason: 'the host has AppArmor' }
        : { mode: p.apparmor, profile: p.apparmorProfile, apply: false, reason: 'the host kernel has no AppArmor; not applied' };
  const c = m.capabilities;
  return {
    kind: 'grant',
    plugin,
    profile: p.name,
    ceilingProfile: ceiling.name,
    capabilities: {
      ledger: c.ledger,
      network: c.network,
      scratchBytes: c.scratch === 'none' ? null : sizeBytes(c.scratch),
      env: [...c.env],
      effects: [...c.effects],
    },
    limits: {
      memoryBytes,
      cpus: m.resources.cpus,
      timeoutMs,
      pids: m.resources.pids,
      outputBytes: sizeBytes(p.ceilings.outputBytes),
      lineBytes: sizeBytes(p.ceilings.lineBytes),
      results: p.ceilings.results,
      errors: p.ceilings.errors,
    },
    seccomp: p.seccomp,
    apparmor,
    ociRuntime: runtime,
    user: p.user,
    notices,
  };
}
