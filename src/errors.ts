// Typed errors: each carries the exit code the CLI's single exit point maps it to.
// Messages say what failed, what was expected, what was found, and how to fix it.

export const ExitCode = {
  ok: 0,
  /** The run completed but the ledger or a plugin reported errors. */
  ledgerErrors: 1,
  /** Bad input: command-line usage, an invalid manifest, profile or input file. */
  usage: 2,
  /** A plugin was refused by policy before it ran. */
  refused: 3,
  /** A plugin broke the sandbox's rules: a limit, its effects, the protocol, or it crashed. */
  violation: 4,
  /** No Docker engine answers. */
  engineUnavailable: 5,
  /** The audit record could not be written: no run goes unaudited. */
  auditFailure: 6,
  /** The environment is not ready (images missing, a required feature absent). */
  notReady: 7,
  /** An audit log failed verification. */
  auditTampered: 8,
  /** The trusted Beancount session (loading, validating, printing) crashed, timed out or was killed. */
  stageFailed: 9,
  /** `batch`: it ran to its end, but some ledgers did not succeed (see its report). */
  batchFailures: 10,
  /** `batch`: it could not run (the engine was down at the start, or stayed down). */
  batchNotRun: 11,
  /** A bug in sandboxctl itself. */
  internal: 70,
  /** Interrupted by SIGINT / SIGTERM (128 + signal). */
  interrupted: 130,
  terminated: 143,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorOptions {
  cause?: unknown;
  hint?: string;
  /** Structured details, rendered by --json and the audit log. */
  details?: Record<string, unknown>;
}

export abstract class SandboxctlError extends Error {
  abstract readonly code: string;
  abstract readonly exitCode: ExitCodeValue;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;
  constructor(message: string, opts: ErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.hint = opts.hint;
    this.details = opts.details ?? {};
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, ...this.details };
  }
}

export class UsageError extends SandboxctlError {
  readonly code = 'usage';
  readonly exitCode = ExitCode.usage;
}

/** One problem found in a file, with the field and what was expected / found. */
export interface FieldIssue {
  path: string;
  expected?: string;
  found?: string;
  message: string;
}

export class InvalidInputError extends SandboxctlError {
  readonly code = 'invalid-input';
  readonly exitCode = ExitCode.usage;
  readonly file: string;
  readonly issues: FieldIssue[];
  constructor(file: string, issues: FieldIssue[], opts: ErrorOptions = {}) {
    super(
      `${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n` +
        issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n'),
      { ...opts, details: { file, issues, ...opts.details } },
    );
    this.file = file;
    this.issues = issues;
  }
}

export interface Denial {
  capability: string;
  requested: string;
  allowed: string;
  reason: string;
}

export class PolicyRefusal extends SandboxctlError {
  readonly code = 'refused';
  readonly exitCode = ExitCode.refused;
  readonly plugin: string;
  readonly denials: Denial[];
  constructor(plugin: string, profile: string, denials: Denial[], opts: ErrorOptions = {}) {
    super(
      `plugin ${plugin} refused by profile ${profile}: ` + denials.map((d) => `${d.capability} (${d.reason})`).join('; '),
      { ...opts, details: { plugin, profile, denials, ...opts.details } },
    );
    this.plugin = plugin;
    this.denials = denials;
  }
}

export type ViolationKind =
  | 'timeout'
  | 'memory'
  | 'output-size'
  | 'line-size'
  | 'result-count'
  | 'error-count'
  | 'protocol'
  | 'invalid-output'
  | 'effect'
  | 'crash'
  | 'early-exit'
  | 'bundle-changed'
  | 'image-mismatch';

export class SandboxViolation extends SandboxctlError {
  readonly code = 'violation';
  readonly exitCode = ExitCode.violation;
  readonly kind: ViolationKind;
  constructor(kind: ViolationKind, message: string, opts: ErrorOptions = {}) {
    super(message, { ...opts, details: { kind, ...opts.details } });
    this.kind = kind;
  }
}

export class EngineUnavailableError extends SandboxctlError {
  readonly code = 'engine-unavailable';
  readonly exitCode = ExitCode.engineUnavailable;
}

export class NotReadyError extends SandboxctlError {
  readonly code = 'not-ready';
  readonly exitCode = ExitCode.notReady;
}

export class AuditWriteError extends SandboxctlError {
  readonly code = 'audit-failure';
  readonly exitCode = ExitCode.auditFailure;
}

export class AuditTamperedError extends SandboxctlError {
  readonly code = 'audit-tampered';
  readonly exitCode = ExitCode.auditTampered;
}

/**
 * The trusted Beancount session failed in one of its phases (load, finalize, print): it
 * crashed, timed out, was killed, or sent output that does not follow its protocol. Not
 * the ledger's errors, which Beancount reports as diagnostics (exit 1).
 */
export class StageFailedError extends SandboxctlError {
  readonly code = 'stage-failed';
  readonly exitCode = ExitCode.stageFailed;
}

export class InterruptedError extends SandboxctlError {
  readonly code = 'interrupted';
  readonly exitCode: ExitCodeValue;
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals, opts: ErrorOptions = {}) {
    super(`interrupted by ${signal}`, { ...opts, details: { signal, ...opts.details } });
    this.signal = signal;
    this.exitCode = signal === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted;
  }
}

/** A ledger of a batch ran past its deadline and was stopped. */
export class DeadlineError extends SandboxctlError {
  readonly code = 'deadline';
  readonly exitCode = ExitCode.batchFailures;
}

export class InternalError extends SandboxctlError {
  readonly code = 'internal';
  readonly exitCode = ExitCode.internal;
}

/** Turns zod issues into FieldIssues that name the field, the expectation and the finding. */
export function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (typeof value === 'object') return 'a mapping';
  const s = JSON.stringify(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
