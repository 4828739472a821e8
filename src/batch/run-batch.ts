// `sandboxctl batch`: N ledgers at a time in this process, each isolated (its own session
// and containers, its own run id, all sharing the batch id in the audit). One ledger's
// failure never stops the others. A run the engine failed under is retried once the
// engine answers again; if it does not come back in time, the batch stops cleanly: the
// rest are `not-run`, the report says why, the audit records it. report.json is rewritten
// as ledgers finish. Returns the report and the exit status; prints nothing to stdout.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AuditLog } from '../audit/index.js';
import { ExitCode, InterruptedError, SandboxctlError } from '../errors.js';
import { newRunId } from '../ids.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from './atomic-file.js';
import { removeDeadContainers, removeRunContainers, removeStaleFiles } from './cleanup.js';
import { EngineWatch, isEngineFailure, TERMINATED_BY_ENGINE } from './engine-watch.js';
import type { LedgerJob } from './plan.js';
import type { Progress } from './progress.js';
import { batchExitCode, newReport, pendingLedger, ReportWriter, summaryLine, totalsOf } from './report.js';
import { renderReportHtml } from './report-html.js';
import type { BatchReport, ReportLedger } from './report-schema.js';
import { runOne, type BatchRunContext } from './run-one.js';
import { STATE_DIR } from './state.js';

export interface BatchRequest extends Omit<BatchRunContext, 'audit'> {
  /** The audit log as opened for this invocation; the batch id is added to every record. */
  audit: AuditLog;
  jobs: LedgerJob[];
  concurrency: number;
  reportDir: string;
  sandboxctlVersion: string;
  progress: Progress;
  /** How long to wait for an engine that went away before stopping the batch. @default 60 s */
  engineWaitMs?: number;
  /** Attempts per ledger when the engine fails under it (a stopping engine can answer pings for a while, so a few fail fast). @default 8 */
  maxAttempts?: number;
  now?: () => Date;
}

export interface BatchOutcome {
  report: BatchReport;
  reportFile: string;
  exitCode: number;
  summary: string;
}

const SUCCESSES = new Set(['ok', 'errors', 'skipped']);
export const REPORT_HTML_FILE = 'report.html';

/** Every record the batch's runs write carries the batch id. */
function withBatchId(audit: AuditLog, batchId: string): AuditLog {
  return { path: audit.path, append: (e) => audit.append({ ...e, batchId }), close: async () => undefined };
}

export async function runBatch(req: BatchRequest): Promise<BatchOutcome> {
  const now = req.now ?? (() => new Date());
  const t0 = now();
  const audit = withBatchId(req.audit, req.batchId);
  const ctx: BatchRunContext = { ...req, audit };
  const log = req.logger.child({ batchId: req.batchId });
  const ledgers = req.jobs.map((j) => pendingLedger(j.ledger, j.profile ?? req.defaultProfile));
  const report = newReport({ batchId: req.batchId, sandboxctlVersion: req.sandboxctlVersion, startedAt: t0, profile: req.defaultProfile, jobs: req.concurrency }, ledgers);
  await mkdir(req.reportDir, { recursive: true, mode: 0o755 });
  const writer = new ReportWriter(report, req.reportDir);
  await writer.flush();

  const watch = new EngineWatch(req.engine);
  let stopReason: string | undefined;
  if (!(await watch.tick())) {
    stopReason = 'no engine answered when the batch started';
  } else {
    const removed = await removeStaleFiles(req.jobs.flatMap((j) => [path.dirname(j.output), path.join(path.dirname(j.output), STATE_DIR), path.dirname(j.ledger)]).concat(req.reportDir));
    if (removed.length) log.info({ removed }, 'removed what a batch killed earlier left behind');
    const containers = await removeDeadContainers(req.engine, log).catch((err: unknown) => (log.warn({ err }, 'could not look for leftover containers'), 0));
    if (containers) log.info({ containers }, 'removed containers whose sandboxctl was killed');
  }

  const maxAttempts = req.maxAttempts ?? 8;
  const engineWaitMs = req.engineWaitMs ?? 60_000;
  let running = 0;

  const runJob = async (job: LedgerJob): Promise<ReportLedger> => {
    for (let attempt = 1; ; attempt++) {
      if (stopReason || req.signal.aborted) return pendingLedger(job.ledger, ledgers[job.index]!.profile, stopReason ?? 'the batch was interrupted');
      const epoch = watch.epoch;
      const runId = newRunId(now());
      let entry: ReportLedger | undefined;
      let err: unknown;
      try {
        entry = await runOne(job, ctx, attempt, runId);
      } catch (e) {
        err = e;
      }
      if (req.signal.aborted && (!entry || !SUCCESSES.has(entry.status))) return pendingLedger(job.ledger, ledgers[job.index]!.profile, 'the batch was interrupted while it ran');
      // a plugin container stopped by SIGTERM was stopped by the engine, not by its plugin or by us
      const terminated = entry?.plugins.some((p) => p.exitCode === TERMINATED_BY_ENGINE) ?? false;
      const disturbed = watch.epoch !== epoch || watch.down || terminated || isEngineFailure(err);
      if (disturbed && (err !== undefined || !SUCCESSES.has(entry!.status))) {
        const why = err instanceof Error ? err.message : `the engine went away during the run (${entry!.status})`;
        if (attempt >= maxAttempts) return engineFailed(job, ledgers[job.index]!.profile, attempt, why);
        req.progress.note(`the engine failed under ${job.ledger} (attempt ${attempt}): waiting for it, then retrying`);
        log.warn({ ledger: job.ledger, attempt, why }, 'the engine failed under a ledger; waiting for it');
        if (!(await watch.waitUp(engineWaitMs, req.signal))) {
          stopReason ??= `the engine stopped answering and did not come back within ${Math.round(engineWaitMs / 1000)} s`;
          continue;
        }
        // an engine that answers again gets a moment to settle, longer at each attempt
        await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** (attempt - 1), 8000)));
        // what the broken attempt left (its containers could not be removed while the engine was away)
        await removeRunContainers(req.engine, runId).catch((e: unknown) => log.warn({ err: e, runId }, 'could not remove the containers of a broken attempt; `sandboxctl gc` will'));
        continue;
      }
      if (err !== undefined) return unexpected(job, ledgers[job.index]!.profile, attempt, err, log);
      return entry!;
    }
  };

  if (!stopReason) {
    watch.start();
    let next = 0;
    const worker = async () => {
      while (next < req.jobs.length && !stopReason && !req.signal.aborted) {
        const job = req.jobs[next++]!;
        running++;
        req.progress.started(report.totals, running);
        const entry = await runJob(job);
        running--;
        writer.setLedger(job.index, entry);
        req.progress.finished(entry, report.totals, running);
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(req.concurrency, req.jobs.length) }, worker));
    } finally {
      watch.stop();
    }
  }

  // what the batch never reached says why
  const reason = stopReason ?? (req.signal.aborted ? 'the batch was interrupted' : undefined);
  if (reason) for (const [i, l] of report.ledgers.entries()) if (l.status === 'not-run' && l.attempts === 0) report.ledgers[i] = { ...l, skippedBecause: reason };
  report.totals = totalsOf(report.ledgers);
  const exitCode = batchExitCode(report.totals, stopReason !== undefined);
  report.finishedAt = now().toISOString();
  report.state = reason ? 'stopped' : 'done';
  report.stoppedBecause = reason ?? null;
  report.exitCode = req.signal.aborted && !stopReason ? null : exitCode;
  req.progress.end();
  if (stopReason) req.progress.note(`batch ${req.batchId} stopped: ${stopReason}; ${report.totals.notRun} ledger(s) not run`);
  await writer.flush();
  // the page a person opens, rendered once from the final report (report.json is the record)
  await writeFileAtomic(path.join(req.reportDir, REPORT_HTML_FILE), renderReportHtml(report, { reportDir: req.reportDir }));
  const summary = summaryLine(report, now().getTime() - t0.getTime(), writer.file);

  // the batch's own end, after every ledger's records
  await audit.append({
    runId: req.batchId,
    event: stopReason ? 'engine-unavailable' : req.signal.aborted ? 'interrupted' : 'run-summary',
    durationMs: now().getTime() - t0.getTime(),
    outcome: {
      status: stopReason ? 'engine-unavailable' : req.signal.aborted ? 'interrupted' : exitCode === 0 ? 'ok' : 'error',
      exitCode: report.exitCode,
      message: stopReason ? `${summary}; stopped: ${stopReason}` : summary,
    },
  });
  if (req.signal.aborted && !stopReason) {
    const r = req.signal.reason;
    throw r instanceof InterruptedError ? r : new InterruptedError('SIGINT');
  }
  return { report, reportFile: writer.file, exitCode, summary };
}

function engineFailed(job: LedgerJob, profile: string, attempts: number, why: string): ReportLedger {
  return {
    ...pendingLedger(job.ledger, profile),
    status: 'failed',
    exitCode: ExitCode.engineUnavailable,
    skippedBecause: null,
    attempts,
    diagnostics: [{ severity: 'error', code: 'engine-unavailable', title: `the engine failed under this ledger ${attempts} times`, location: null, sourceLine: null, notes: [{ label: 'reason', text: why }], plugin: null }],
  };
}

function unexpected(job: LedgerJob, profile: string, attempts: number, err: unknown, log: Logger): ReportLedger {
  log.error({ err, ledger: job.ledger }, 'the ledger could not be run');
  const e = err as Error;
  return {
    ...pendingLedger(job.ledger, profile),
    status: 'failed',
    exitCode: e instanceof SandboxctlError ? e.exitCode : ExitCode.internal,
    skippedBecause: null,
    attempts,
    diagnostics: [{ severity: 'error', code: e instanceof SandboxctlError ? e.code : 'internal', title: String(e?.message ?? e).split('\n')[0]!, location: null, sourceLine: null, notes: [], plugin: null }],
  };
}
