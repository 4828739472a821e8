import { z } from 'zod';
import { AuditWriteError } from '../errors.js';

/** Bumped when a field changes meaning; readers refuse versions they do not know. */
export const AUDIT_SCHEMA_VERSION = 1;

/** The `prev` of the first record in a log: no record came before it. */
export const GENESIS = '0'.repeat(64);

// Untrusted text (plugin messages, validation errors) is bounded so one record stays small.
export const MAX_TEXT = 2000;
export const MAX_VALIDATION_MESSAGES = 5;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

export const AuditEvent = z
  .enum(['plugin-run', 'plugin-discarded', 'refused', 'engine-unavailable', 'interrupted', 'run-summary'])
  .describe(
    'plugin-run: one plugin execution (whatever its outcome); plugin-discarded: a plugin container started ' +
      'ahead of its turn was removed unused because the chain stopped before it; refused: policy refused a plugin before it ran; ' +
      'engine-unavailable: no engine answered; interrupted: the invocation was stopped by a signal outside a ' +
      'plugin execution; run-summary: the end of an invocation',
  );
export type AuditEvent = z.infer<typeof AuditEvent>;

export const OutcomeStatus = z.enum([
  'ok',
  'refused',
  'violation',
  'crash',
  'timeout',
  'oom',
  'interrupted',
  'discarded',
  'engine-unavailable',
  'error',
]);
export type OutcomeStatus = z.infer<typeof OutcomeStatus>;

export const Actor = z.object({
  user: z.string(),
  uid: z.number().int().nullable(),
  host: z.string(),
  /** The user who called sudo, when sandboxctl runs under sudo. */
  sudoUser: z.string().nullable(),
});
export type Actor = z.infer<typeof Actor>;

const Granted = z.object({ capability: z.string(), value: z.json() });
const Denied = z.object({ capability: z.string(), requested: z.string(), allowed: z.string(), reason: z.string() });

const Limits = z
  .object({
    memoryBytes: z.number().nullable(),
    nanoCpus: z.number().nullable(),
    pids: z.number().nullable(),
    timeoutMs: z.number().nullable(),
    outputBytes: z.number().nullable(),
  })
  .partial()
  // other limits the policy grows later are recorded as scalars
  .catchall(z.union([z.number(), z.string(), z.boolean(), z.null()]));

const Outcome = z.object({
  status: OutcomeStatus,
  exitCode: z.number().int().nullable(),
  /** The SandboxViolation kind, when status is 'violation' (or 'timeout' / 'oom'). */
  violation: z.string().nullable(),
  message: z.string().nullable(),
});

export const Isolation = z.enum(['session', 'container']);

const Io = z.object({
  inputCount: z.number().int().nonnegative(),
  inputDigest: z.string().nullable(),
  outputCount: z.number().int().nonnegative(),
  outputDigest: z.string().nullable(),
});

const Effects = z.object({
  kept: z.number().int().nonnegative(),
  modified: z.number().int().nonnegative(),
  inserted: z.number().int().nonnegative(),
  deleted: z.number().int().nonnegative(),
});

/**
 * One audit record as stored (minus `level`, which pino writes first, and `hash`, which
 * seals the line). Every field is present in every record: null means "not applicable".
 */
export const AuditRecordBody = z.strictObject({
  level: z.number().int(),
  v: z.literal(AUDIT_SCHEMA_VERSION),
  seq: z.number().int().positive(),
  prev: sha256Hex,
  time: z.string(),
  runId: z.string(),
  /** The batch the run belonged to (`sandboxctl batch`); absent from runs outside a batch and from older records. */
  batchId: z.string().optional(),
  event: AuditEvent,
  actor: Actor,
  argv: z.array(z.string()),
  ledger: z.object({ path: z.string(), sha256: z.string().nullable() }).nullable(),
  plugin: z.object({ name: z.string(), version: z.string().nullable(), bundleHash: z.string().nullable() }).nullable(),
  imageId: z.string().nullable(),
  profile: z.string().nullable(),
  capabilities: z.object({ granted: z.array(Granted), denied: z.array(Denied) }),
  specDigest: z.string().nullable(),
  seccompDigest: z.string().nullable(),
  runtime: z.string().nullable(),
  apparmorApplied: z.boolean().nullable(),
  limits: Limits.nullable(),
  usage: z
    .object({
      peakMemoryBytes: z.number().nullable(),
      cpuNanos: z.number().nullable(),
      // added later: records written before have neither
      source: z.enum(['cgroup', 'engine-stats']).nullable().optional(),
      unavailable: z.string().nullable().optional(),
    })
    .nullable(),
  durationMs: z.number().nullable(),
  outcome: Outcome,
  io: Io.nullable(),
  effects: Effects.nullable(),
  validationErrors: z.object({ count: z.number().int().nonnegative(), first: z.array(z.string()) }),
  /**
   * Where a plugin ran: 'container' (its own) or 'session' (the trusted session, a Beancount
   * builtin the profile lets run there); null for records about no plugin execution. Added
   * within schema version 1: a record written before it has no such key.
   */
  isolation: Isolation.nullable().optional(),
});
export type AuditRecordBody = z.infer<typeof AuditRecordBody>;

/** A record read back from the log, with the hash that sealed its line. */
export type AuditRecord = AuditRecordBody & { hash: string };

/**
 * What the run path hands to the audit log: the chain fields (level, v, seq, prev,
 * time, actor, argv) are filled in by the log itself, everything not given becomes null.
 */
export interface AuditEntry {
  runId: string;
  /** Set by `sandboxctl batch` on every record its ledgers' runs write. */
  batchId?: string;
  event: AuditEvent;
  outcome: {
    status: OutcomeStatus;
    exitCode?: number | null;
    violation?: string | null;
    message?: string | null;
  };
  ledger?: { path: string; sha256: string | null } | null;
  plugin?: { name: string; version?: string | null; bundleHash?: string | null } | null;
  imageId?: string | null;
  profile?: string | null;
  capabilities?: {
    granted?: Array<{ capability: string; value: z.infer<typeof Granted>['value'] }>;
    denied?: Array<z.infer<typeof Denied>>;
  };
  specDigest?: string | null;
  seccompDigest?: string | null;
  runtime?: string | null;
  apparmorApplied?: boolean | null;
  limits?: z.infer<typeof Limits> | null;
  usage?: { peakMemoryBytes: number | null; cpuNanos: number | null; source?: 'cgroup' | 'engine-stats' | null; unavailable?: string | null } | null;
  durationMs?: number | null;
  io?: z.infer<typeof Io> | null;
  effects?: z.infer<typeof Effects> | null;
  /** All validation error messages; the record keeps the count and the first few. */
  validationErrors?: string[];
  isolation?: z.infer<typeof Isolation> | null;
}

/** What the log itself knows at append time. */
export interface ChainContext {
  seq: number;
  prev: string;
  time: Date;
  actor: Actor;
  argv: string[];
}

/** Builds the stored body from an entry: pure, bounded, every field present, keys in a fixed order. */
export function buildRecordBody(entry: AuditEntry, chain: ChainContext): AuditRecordBody {
  const validation = entry.validationErrors ?? [];
  const body: AuditRecordBody = {
    level: 30,
    v: AUDIT_SCHEMA_VERSION,
    seq: chain.seq,
    prev: chain.prev,
    time: chain.time.toISOString(),
    runId: entry.runId,
    // written only when set, so a record outside a batch is byte-for-byte what it always was
    ...(entry.batchId !== undefined ? { batchId: entry.batchId } : {}),
    event: entry.event,
    actor: chain.actor,
    argv: chain.argv,
    ledger: entry.ledger ?? null,
    plugin: entry.plugin
      ? { name: entry.plugin.name, version: entry.plugin.version ?? null, bundleHash: entry.plugin.bundleHash ?? null }
      : null,
    imageId: entry.imageId ?? null,
    profile: entry.profile ?? null,
    capabilities: { granted: entry.capabilities?.granted ?? [], denied: entry.capabilities?.denied ?? [] },
    specDigest: entry.specDigest ?? null,
    seccompDigest: entry.seccompDigest ?? null,
    runtime: entry.runtime ?? null,
    apparmorApplied: entry.apparmorApplied ?? null,
    limits: entry.limits ?? null,
    usage: entry.usage
      ? { peakMemoryBytes: entry.usage.peakMemoryBytes, cpuNanos: entry.usage.cpuNanos, source: entry.usage.source ?? null, unavailable: entry.usage.unavailable ?? null }
      : null,
    durationMs: entry.durationMs ?? null,
    outcome: {
      status: entry.outcome.status,
      exitCode: entry.outcome.exitCode ?? null,
      violation: entry.outcome.violation ?? null,
      message: entry.outcome.message ?? null,
    },
    io: entry.io ?? null,
    effects: entry.effects ?? null,
    validationErrors: { count: validation.length, first: validation.slice(0, MAX_VALIDATION_MESSAGES) },
    isolation: entry.isolation ?? null,
  };
  // Check at the edge of the log: a malformed entry is a bug in the caller, caught before it is sealed.
  const checked = AuditRecordBody.safeParse(boundStrings(body));
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new AuditWriteError(
      `the audit record for run ${entry.runId} is not valid: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'schema mismatch'}`,
      { cause: checked.error, hint: 'this is a bug in sandboxctl: the run path built a malformed audit entry', details: { runId: entry.runId } },
    );
  }
  return checked.data as AuditRecordBody;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

// Strings are made well-formed (a lone surrogate would not survive UTF-8) and bounded in length.
function boundStrings<T>(value: T): T {
  if (typeof value === 'string') {
    const s = value.replace(LONE_SURROGATE, '\ufffd');
    return (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}... (${s.length - MAX_TEXT} more characters)` : s) as T;
  }
  if (Array.isArray(value)) return value.map(boundStrings) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, boundStrings(v)])) as T;
  }
  return value;
}
