// Turns what happened to one plugin into an audit entry (src/audit). Pure apart from
// hashing; digests of directive lists are cached per list, since plugins share inputs.
import { createHash } from 'node:crypto';
import type { AuditEntry, OutcomeStatus } from '../audit/index.js';
import { InterruptedError, PolicyRefusal, SandboxViolation, SandboxctlError } from '../errors.js';
import type { Directive } from '../ledger/directive-schema.js';
import { directiveJson } from '../ledger/directive-json.js';
import type { Isolation } from '../policy/isolation.js';
import type { PluginRun } from '../run/run-plugin.js';
import type { ResourceUsage } from '../run/usage-sampler.js';

/** What the policy decided for a plugin, as the audit records it. */
export interface GrantRecord {
  profile: string;
  granted: Array<{ capability: string; value: string | number | boolean | string[] | null }>;
  specDigest: string;
  seccompDigest: string | null;
  runtime: string;
  apparmorApplied: boolean;
  limits: { memoryBytes: number; nanoCpus: number; pids: number; timeoutMs: number; outputBytes: number };
  /** Where the plugin runs: its own container, or the trusted session. */
  isolation?: Isolation;
}

/** The trusted session's own confinement: what an in-session plugin runs under. */
export interface SessionConfinement {
  imageId: string;
  specDigest: string;
  seccompDigest: string;
  runtime: string;
  apparmorApplied: boolean;
  memoryBytes: number;
  nanoCpus: number;
  pids: number;
}

/**
 * What the audit says of an in-session plugin's grant: the capabilities policy granted (its
 * effects checked as a container's are), under the session's confinement rather than a
 * container of its own; its timeout is the grant's, enforced by the host.
 */
export function sessionGrantRecord(grant: GrantRecord, s: SessionConfinement): GrantRecord {
  return {
    ...grant,
    isolation: 'session',
    // the session reads the ledger's directory, whatever the plugin asked for
    granted: grant.granted.map((g) => (g.capability === 'ledger' ? { capability: 'ledger', value: 'read' } : g)),
    specDigest: s.specDigest,
    seccompDigest: s.seccompDigest,
    runtime: s.runtime,
    apparmorApplied: s.apparmorApplied,
    limits: { memoryBytes: s.memoryBytes, nanoCpus: s.nanoCpus, pids: s.pids, timeoutMs: grant.limits.timeoutMs, outputBytes: grant.limits.outputBytes },
  };
}

export interface PluginIdentity {
  name: string;
  version: string | null;
  bundleHash: string | null;
}

const VALIDATION_KINDS = new Set(['invalid-output', 'effect', 'protocol']);
const digests = new WeakMap<readonly Directive[], string>();

/** sha256 over the directives' JSON, in order. */
export function digestDirectives(list: readonly Directive[]): string {
  let d = digests.get(list);
  if (!d) {
    const h = createHash('sha256');
    for (const x of list) h.update(directiveJson(x) + '\n');
    d = `sha256:${h.digest('hex')}`;
    digests.set(list, d);
  }
  return d;
}

function sameItems(a: readonly Directive[], b: readonly Directive[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function outcomeOf(err: Error | undefined, exitCode: number | null): AuditEntry['outcome'] {
  if (!err) return { status: 'ok', exitCode };
  if (err instanceof InterruptedError) return { status: 'interrupted', exitCode, message: err.message };
  if (err instanceof PolicyRefusal) return { status: 'refused', exitCode, message: err.message };
  if (err instanceof SandboxViolation) {
    const status: OutcomeStatus = err.kind === 'timeout' ? 'timeout' : err.kind === 'memory' ? 'oom' : err.kind === 'crash' || err.kind === 'early-exit' ? 'crash' : 'violation';
    return { status, exitCode, violation: err.kind, message: err.message };
  }
  if (err instanceof SandboxctlError && err.code === 'engine-unavailable') return { status: 'engine-unavailable', exitCode, message: err.message };
  return { status: 'error', exitCode, message: err.message };
}

/** A plugin refused before it ran: no container, so no exit code; what was denied, and why. */
export function refusedEntry(
  runId: string,
  ledger: AuditEntry['ledger'],
  plugin: PluginIdentity,
  profile: string | null,
  error: Error,
): AuditEntry {
  const violation = error instanceof SandboxViolation ? error.kind : null;
  return {
    runId,
    event: 'refused',
    outcome: { status: violation ? 'violation' : 'refused', exitCode: null, violation, message: error.message },
    ledger,
    plugin,
    profile,
    capabilities: { granted: [], denied: error instanceof PolicyRefusal ? error.denials : [] },
  };
}

export function pluginRunEntry(
  runId: string,
  ledger: AuditEntry['ledger'],
  plugin: PluginIdentity,
  grant: GrantRecord,
  run: PluginRun,
  input: readonly Directive[],
): AuditEntry {
  const output = run.ok ? run.output : undefined;
  return {
    runId,
    event: 'plugin-run',
    // errors the plugin reported do not fail its run, but the record says there were some
    outcome: run.ok && run.errors.length > 0 ? { status: 'ok', exitCode: run.exitCode, message: `the plugin reported ${run.errors.length} error(s)` } : outcomeOf(run.ok ? undefined : run.error, run.exitCode),
    ledger,
    plugin,
    imageId: run.imageId,
    ...grantFields(grant),
    // in the session, the plugin's CPU is the session's process time for it; its memory is the session's, not its own
    usage: grant.isolation === 'session' ? { ...usageOf(run.usage), peakMemoryBytes: null, cpuNanos: run.usage.samples ? run.usage.cpuNanos : null } : usageOf(run.usage),
    durationMs: run.durationMs,
    io: {
      inputCount: input.length,
      inputDigest: digestDirectives(input),
      outputCount: output?.length ?? 0,
      // an output that is the input, item for item (every error-only plugin's), has its digest
      outputDigest: output ? (sameItems(output, input) ? digestDirectives(input) : digestDirectives(output)) : null,
    },
    effects: { kept: run.counts.kept, modified: run.counts.modified, inserted: run.counts.inserted, deleted: run.counts.deleted },
    // what the host's validation rejected (plugin-reported errors are the ledger's business)
    validationErrors: !run.ok && run.error instanceof SandboxViolation && VALIDATION_KINDS.has(run.error.kind) ? [run.error.message] : [],
  };
}

/** Measured figures, or nulls and the reason nothing was measured: never a made-up zero. */
function usageOf(u: ResourceUsage): NonNullable<AuditEntry['usage']> {
  const measured = u.source !== null;
  return { peakMemoryBytes: measured ? u.peakMemoryBytes : null, cpuNanos: measured ? u.cpuNanos : null, source: u.source, unavailable: u.unavailable };
}

/**
 * A plugin container started ahead of its turn and removed unused: the chain stopped
 * before it. The runner may have imported the plugin's code; no input reached it.
 */
export function discardedEntry(runId: string, ledger: AuditEntry['ledger'], plugin: PluginIdentity, grant: GrantRecord, containerId: string): AuditEntry {
  return {
    runId,
    event: 'plugin-discarded',
    outcome: {
      status: 'discarded',
      exitCode: null,
      message:
        grant.isolation === 'session'
          ? `its run was asked of the trusted session (container ${containerId.slice(0, 12)}) ahead of its turn and its result was not used: the chain stopped before it`
          : `container ${containerId.slice(0, 12)} was started ahead of the plugin's turn and removed unused: the chain stopped before it`,
    },
    ledger,
    plugin,
    ...grantFields(grant),
  };
}

/** What a record says of a plugin's grant and the container made from it. */
function grantFields(grant: GrantRecord): Pick<AuditEntry, 'profile' | 'capabilities' | 'specDigest' | 'seccompDigest' | 'runtime' | 'apparmorApplied' | 'limits' | 'isolation'> {
  return {
    profile: grant.profile,
    capabilities: { granted: grant.granted, denied: [] },
    specDigest: grant.specDigest,
    seccompDigest: grant.seccompDigest,
    runtime: grant.runtime,
    apparmorApplied: grant.apparmorApplied,
    limits: grant.limits,
    isolation: grant.isolation ?? 'container',
  };
}

/** The record that closes an invocation which ran to its end (each plugin has its own before it). */
export function runSummaryEntry(s: {
  runId: string;
  ledger: AuditEntry['ledger'];
  profile: string;
  durationMs: number;
  status: OutcomeStatus;
  exitCode: number;
  errors: number;
  inputCount: number;
  outputCount: number;
}): AuditEntry {
  return {
    runId: s.runId,
    event: 'run-summary',
    ledger: s.ledger,
    profile: s.profile,
    durationMs: s.durationMs,
    outcome: { status: s.status, exitCode: s.exitCode, message: `${s.errors} error(s)` },
    io: { inputCount: s.inputCount, inputDigest: null, outputCount: s.outputCount, outputDigest: null },
  };
}
