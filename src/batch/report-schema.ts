// report.json: what a batch did to each ledger, written atomically at the end and
// rewritten as ledgers finish, so a killed batch still leaves a valid report of what
// finished. It holds outcomes, diagnostics (bounded) and per-plugin usage; never the
// ledgers' directives, so its size does not grow with the ledgers'.
import { z } from 'zod';
import { OutcomeStatus } from '../audit/record.js';

/** Bumped when a field changes meaning; readers refuse versions they do not know. */
export const REPORT_SCHEMA_VERSION = 1;

/** Diagnostics kept per ledger; the rest are counted in `diagnosticsOmitted`. */
export const MAX_REPORT_DIAGNOSTICS = 50;

export const LedgerStatus = z
  .enum(['ok', 'skipped', 'errors', 'refused', 'violation', 'failed', 'not-run'])
  .describe(
    'ok: ran, no errors, output written; skipped: inputs unchanged since its last success, nothing ran; ' +
      'errors: ran, the ledger or a plugin reported errors (Beancount would exit 1), output written; ' +
      'refused: policy refused a plugin, nothing ran; violation: the sandbox stopped a plugin, no output; ' +
      'failed: the ledger could not be run (malformed ledger, unreadable file, internal error); ' +
      'not-run: the batch stopped before this ledger (engine down, interrupted)',
  );
export type LedgerStatus = z.infer<typeof LedgerStatus>;

/** One problem, in the ledger-error form (src/ledger/diagnostic.ts) minus free-form data. */
export const ReportDiagnostic = z.object({
  severity: z.enum(['error', 'warning']),
  /** Stable machine code: refused, violation:timeout, plugin-error, ledger-error, ... */
  code: z.string(),
  title: z.string(),
  location: z.object({ file: z.string(), line: z.number().int(), column: z.number().int().nullable() }).nullable(),
  /** The text of the source line at location.line, when it could be read. */
  sourceLine: z.string().nullable(),
  notes: z.array(z.object({ label: z.string(), text: z.string() })),
  /** The plugin the problem belongs to, when one does. */
  plugin: z.string().nullable(),
});
export type ReportDiagnostic = z.infer<typeof ReportDiagnostic>;

export const ReportPlugin = z.object({
  name: z.string(),
  version: z.string().nullable(),
  /** container: its own sandboxed container; session: run by Beancount in the trusted session. */
  isolation: z.enum(['container', 'session']),
  /** The audit outcome of the plugin's execution (or refusal). */
  status: OutcomeStatus,
  exitCode: z.number().int().nullable(),
  durationMs: z.number().nullable(),
  peakMemoryBytes: z.number().nullable(),
  cpuMs: z.number().nullable(),
});
export type ReportPlugin = z.infer<typeof ReportPlugin>;

export const ReportLedger = z.object({
  /** The ledger's host path, absolute. */
  ledger: z.string(),
  status: LedgerStatus,
  /** What `sandboxctl run` would have exited with for this ledger; null when it did not run. */
  exitCode: z.number().int().nullable(),
  /** The admin profile the ledger ran under. */
  profile: z.string(),
  startedAt: z.string().nullable(),
  durationMs: z.number().nullable(),
  /** The output file written, or null (not written: violation, refusal, failure, not run). */
  output: z.string().nullable(),
  /** Why nothing ran: the input digest unchanged since a success, or why the batch stopped first. */
  skippedBecause: z.string().nullable(),
  /** How many attempts it took (transient engine errors are retried). */
  attempts: z.number().int().nonnegative(),
  diagnostics: z.array(ReportDiagnostic),
  diagnosticsOmitted: z.number().int().nonnegative(),
  plugins: z.array(ReportPlugin),
  /** The audit run id of this ledger's run: `sandboxctl audit show --run ID`. */
  runId: z.string().nullable(),
});
export type ReportLedger = z.infer<typeof ReportLedger>;

export const ReportTotals = z.object({
  ledgers: z.number().int().nonnegative(),
  ok: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  refused: z.number().int().nonnegative(),
  violation: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  notRun: z.number().int().nonnegative(),
});
export type ReportTotals = z.infer<typeof ReportTotals>;

export const BatchReport = z.object({
  schemaVersion: z.literal(REPORT_SCHEMA_VERSION),
  batchId: z.string(),
  sandboxctlVersion: z.string(),
  startedAt: z.string(),
  /** null while the batch is still running (or was killed before it ended). */
  finishedAt: z.string().nullable(),
  /** running: rewritten as ledgers finish; done: every ledger has a result; stopped: the batch stopped early. */
  state: z.enum(['running', 'done', 'stopped']),
  /** Why the batch stopped early (engine down, interrupted), else null. */
  stoppedBecause: z.string().nullable(),
  /** The default admin profile (a ledger may name its own). */
  profile: z.string(),
  jobs: z.number().int().positive(),
  /** The batch's exit status (0, 10, 11), null while running. */
  exitCode: z.number().int().nullable(),
  totals: ReportTotals,
  /** In the order the batch was given them. */
  ledgers: z.array(ReportLedger),
});
export type BatchReport = z.infer<typeof BatchReport>;
