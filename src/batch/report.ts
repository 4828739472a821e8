// report.json as data (pure: totals, the batch's exit status, the summary line) and its
// writer, which replaces the file atomically as ledgers finish (at most once a second, and
// once at the end), so a killed batch leaves a valid report of what had finished.
import path from 'node:path';
import { ExitCode } from '../errors.js';
import { writeFileAtomic } from './atomic-file.js';
import { BatchReport, REPORT_SCHEMA_VERSION, type LedgerStatus, type ReportLedger, type ReportTotals } from './report-schema.js';

export const REPORT_FILE = 'report.json';

/** A ledger the batch has not reached (yet): what a killed batch's report says of it. */
export function pendingLedger(ledger: string, profile: string, reason = 'the batch had not reached it'): ReportLedger {
  return {
    ledger,
    status: 'not-run',
    exitCode: null,
    profile,
    startedAt: null,
    durationMs: null,
    output: null,
    skippedBecause: reason,
    attempts: 0,
    diagnostics: [],
    diagnosticsOmitted: 0,
    plugins: [],
    runId: null,
  };
}

export function totalsOf(ledgers: readonly Pick<ReportLedger, 'status'>[]): ReportTotals {
  const t: ReportTotals = { ledgers: ledgers.length, ok: 0, skipped: 0, errors: 0, refused: 0, violation: 0, failed: 0, notRun: 0 };
  const key: Record<LedgerStatus, keyof ReportTotals> = { ok: 'ok', skipped: 'skipped', errors: 'errors', refused: 'refused', violation: 'violation', failed: 'failed', 'not-run': 'notRun' };
  for (const l of ledgers) t[key[l.status]]++;
  return t;
}

/** 0: every ledger ok or skipped; 10: some did not succeed; 11: the batch could not run to its end (engine down). */
export function batchExitCode(t: ReportTotals, stoppedByEngine: boolean): number {
  if (stoppedByEngine) return ExitCode.batchNotRun;
  return t.ok + t.skipped === t.ledgers ? ExitCode.ok : ExitCode.batchFailures;
}

export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** `batch ID: 17 ok, 2 skipped, 1 failed (refused 1) in 3m12s; report: DIR/report.json` (pure). */
export function summaryLine(r: Pick<BatchReport, 'batchId' | 'totals'>, elapsedMs: number, reportFile: string): string {
  const t = r.totals;
  const failed = t.errors + t.refused + t.violation + t.failed;
  const why = (['errors', 'refused', 'violation', 'failed'] as const).filter((k) => t[k] > 0).map((k) => `${k} ${t[k]}`);
  const parts = [`${t.ok} ok`, `${t.skipped} skipped`, `${failed} failed${why.length ? ` (${why.join(', ')})` : ''}`];
  if (t.notRun > 0) parts.push(`${t.notRun} not run`);
  return `batch ${r.batchId}: ${parts.join(', ')} in ${formatElapsed(elapsedMs)}; report: ${reportFile}`;
}

/** Keeps the report and rewrites report.json, one write at a time, at most once per `minIntervalMs`. */
export class ReportWriter {
  readonly file: string;
  private writing: Promise<void> = Promise.resolve();
  private lastWrite = 0;
  private trailing: NodeJS.Timeout | undefined;
  private failure: unknown;

  constructor(
    readonly report: BatchReport,
    dir: string,
    private readonly minIntervalMs = 1000,
  ) {
    this.file = path.join(dir, REPORT_FILE);
  }

  setLedger(index: number, ledger: ReportLedger): void {
    this.report.ledgers[index] = ledger;
    this.report.totals = totalsOf(this.report.ledgers);
    const wait = this.lastWrite + this.minIntervalMs - Date.now();
    if (wait <= 0) void this.flush();
    else this.trailing ??= setTimeout(() => void this.flush(), wait);
  }

  /** Writes the report as it is now; rejects when report.json cannot be written. */
  flush(): Promise<void> {
    clearTimeout(this.trailing);
    this.trailing = undefined;
    this.lastWrite = Date.now();
    // checked against its own schema before it replaces the last good one
    const text = JSON.stringify(BatchReport.parse(this.report), null, 2) + '\n';
    this.writing = this.writing.then(() => writeFileAtomic(this.file, text)).catch((err: unknown) => {
      this.failure ??= err;
    });
    return this.writing.then(() => {
      if (this.failure) throw this.failure;
    });
  }
}

export function newReport(meta: { batchId: string; sandboxctlVersion: string; startedAt: Date; profile: string; jobs: number }, ledgers: ReportLedger[]): BatchReport {
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    batchId: meta.batchId,
    sandboxctlVersion: meta.sandboxctlVersion,
    startedAt: meta.startedAt.toISOString(),
    finishedAt: null,
    state: 'running',
    stoppedBecause: null,
    profile: meta.profile,
    jobs: meta.jobs,
    exitCode: null,
    totals: totalsOf(ledgers),
    ledgers,
  };
}
