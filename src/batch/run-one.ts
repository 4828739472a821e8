// One ledger of a batch, isolated as `sandboxctl run` isolates it (its own trusted session
// and plugin containers, its own run id), through the pipeline as a library: skipped when
// its inputs are unchanged since its last success, else run under its deadline with its
// output written durably, then its state recorded. Returns what the report says of it;
// engine failures are thrown for the batch to retry.
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AuditLog } from '../audit/index.js';
import type { Engine } from '../engine/engine.js';
import { DeadlineError, ExitCode, InterruptedError, SandboxctlError } from '../errors.js';
import type { Logger } from '../logger.js';
import { outcomeOf } from '../pipeline/audit-entry.js';
import type { RunError } from '../pipeline/diagnostics.js';
import { sha256File } from '../pipeline/file-digest.js';
import { invokeLedger, type LedgerInvocation } from '../pipeline/ledger-invocation.js';
import { ledgerReader, SANDBOX_UID } from '../pipeline/ledger-reader.js';
import { isEngineFailure } from './engine-watch.js';
import type { BatchInputs } from './inputs.js';
import type { LedgerJob } from './plan.js';
import { makePrivateCopy, type PrivateCopy } from './private-copy.js';
import { MAX_REPORT_DIAGNOSTICS, type ReportDiagnostic, type ReportLedger, type ReportPlugin } from './report-schema.js';
import { changeSince, fingerprint, readState, writeState } from './state.js';

export interface BatchRunContext {
  engine: Engine;
  /** The batch's audit log: every record it is given carries the batch id. */
  audit: AuditLog;
  logger: Logger;
  /** Aborted when the batch is interrupted. */
  signal: AbortSignal;
  root: string;
  env: NodeJS.ProcessEnv;
  batchId: string;
  format: 'beancount' | 'jsonl';
  stageTimeoutMs: number;
  profilesDir?: string;
  force: boolean;
  inputs: BatchInputs;
  /** The profile a ledger without its own runs under, as the report names it. */
  defaultProfile: string;
  /** Whether this process runs as root (then root-owned private ledgers are copied for the sandbox). */
  asRoot: boolean;
}

/** `runId` names this attempt: its containers carry it, so the batch can remove them if the engine fails under it. */
export async function runOne(job: LedgerJob, ctx: BatchRunContext, attempt: number, runId: string): Promise<ReportLedger> {
  const startedAt = new Date();
  const base: ReportLedger = {
    ledger: job.ledger,
    status: 'failed',
    exitCode: null,
    profile: job.profile ?? ctx.defaultProfile,
    startedAt: startedAt.toISOString(),
    durationMs: null,
    output: null,
    skippedBecause: null,
    attempts: attempt,
    diagnostics: [],
    diagnosticsOmitted: 0,
    plugins: [],
    runId: null,
  };
  const elapsed = () => Date.now() - startedAt.getTime();
  const st = await stat(job.ledger).catch(() => undefined);
  if (!st?.isFile()) return failed(base, elapsed(), 'missing', `${job.ledger} is not a ledger file (any more)`);

  if (!ctx.force) {
    const unchanged = await unchangedSince(job, ctx);
    if (unchanged) return { ...base, status: 'skipped', exitCode: 0, durationMs: elapsed(), output: job.output, skippedBecause: unchanged.because, runId: null };
  }

  // an output folder ({outputDir}/{parent}/...) is made on first use
  await mkdir(path.dirname(job.output), { recursive: true, mode: 0o755 });
  let copy: PrivateCopy | undefined;
  let loaderUser: string;
  const reader = await ledgerReader(job.ledger);
  if (reader.ok) loaderUser = reader.user;
  else if (ctx.asRoot) {
    copy = await makePrivateCopy(job.ledger, { uid: SANDBOX_UID, gid: SANDBOX_UID });
    loaderUser = `${SANDBOX_UID}:${SANDBOX_UID}`;
  } else return failed(base, elapsed(), 'unreadable', reader.error.message, reader.error.hint);

  const log = ctx.logger.child({ runId, ledger: job.ledger });
  const deadline = new AbortController();
  // the run stops on the batch's signal or its own deadline (listeners removed after, so nothing accumulates on the batch's signal)
  const stop = new AbortController();
  const onBatchAbort = () => stop.abort(ctx.signal.reason);
  if (ctx.signal.aborted) onBatchAbort();
  else ctx.signal.addEventListener('abort', onBatchAbort, { once: true });
  deadline.signal.addEventListener('abort', () => stop.abort(deadline.signal.reason), { once: true });
  const timer = setTimeout(() => deadline.abort(new DeadlineError(`${job.ledger} did not finish within its deadline of ${Math.round(job.deadlineMs / 1000)} s`, { hint: 'give it a longer deadline in the batch file (deadline:), or look at what made it slow' })), job.deadlineMs);
  const toOriginal = copy ? copy.toOriginal : identity;
  const mapText = copy ? copy.mapText : identity;
  try {
    const inv = await invokeLedger({
      engine: ctx.engine,
      audit: ctx.audit,
      runId,
      logger: log,
      signal: stop.signal,
      root: ctx.root,
      env: ctx.env,
      ledgerPath: copy ? copy.ledgerPath : job.ledger,
      auditLedger: { path: job.ledger, sha256: await sha256File(job.ledger) },
      loaderUser,
      profile: job.profile,
      profilesDir: ctx.profilesDir,
      pluginsDir: job.pluginsDirs,
      output: job.output,
      durable: true,
      format: ctx.format,
      stageTimeoutMs: ctx.stageTimeoutMs,
      // the runner image and the bundles are looked up once per batch
      shared: { runner: ctx.inputs.runnerImage(), catalogue: ctx.inputs.catalogue(job.pluginsDirs) },
    });
    if (deadline.signal.aborted && inv.result.status === 'violation') throw deadline.signal.reason;
    const entry: ReportLedger = {
      ...base,
      status: inv.result.status,
      exitCode: inv.exitCode,
      profile: inv.profile,
      durationMs: elapsed(),
      output: inv.written ?? null,
      runId,
      ...(await diagnosticsOf(inv.result.errors, toOriginal, mapText)),
      plugins: pluginsOf(inv),
    };
    if (inv.result.status === 'ok' && inv.written) {
      const inputs = await ctx.inputs.ofRun(inv, job.ledger, toOriginal);
      await writeState({ v: 1, ledger: job.ledger, output: job.output, outputSha256: await sha256File(job.output), fingerprint: fingerprint(inputs), inputs, finishedAt: new Date().toISOString(), runId, batchId: ctx.batchId });
    }
    return entry;
  } catch (err) {
    if (deadline.signal.aborted && !ctx.signal.aborted) {
      const e = deadline.signal.reason as DeadlineError;
      return { ...failed(base, elapsed(), 'deadline', e.message, e.hint), runId };
    }
    if (err instanceof InterruptedError || ctx.signal.aborted || isEngineFailure(err)) throw err;
    const e = err as Error;
    log.error({ err: e }, 'the ledger could not be run');
    return { ...failed(base, elapsed(), e instanceof SandboxctlError ? e.code : 'internal', e.message, e instanceof SandboxctlError ? e.hint : undefined), exitCode: e instanceof SandboxctlError ? e.exitCode : ExitCode.internal, runId };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onBatchAbort);
    await copy?.dispose();
  }
}

/** Why the ledger need not run, or undefined when it must. */
async function unchangedSince(job: LedgerJob, ctx: BatchRunContext): Promise<{ because: string } | undefined> {
  const state = await readState(job.output);
  if (!state || state.ledger !== job.ledger) return undefined;
  const now = await ctx.inputs.current(state, job);
  const outputSha = await sha256File(job.output).catch(() => null);
  const change = changeSince(state, now, outputSha);
  if (change) {
    ctx.logger.debug({ ledger: job.ledger, change }, 'inputs changed since the last success');
    return undefined;
  }
  return { because: `inputs unchanged since run ${state.runId} (${state.finishedAt})` };
}

function failed(base: ReportLedger, durationMs: number, code: string, message: string, hint?: string): ReportLedger {
  const notes = hint ? [{ label: 'hint', text: hint }] : [];
  return {
    ...base,
    status: 'failed',
    exitCode: base.exitCode,
    durationMs,
    diagnostics: [{ severity: 'error', code, title: message.split('\n')[0]!, location: null, sourceLine: null, notes: message.includes('\n') ? [{ label: 'detail', text: message }, ...notes] : notes, plugin: null }],
  };
}

/** The first MAX_REPORT_DIAGNOSTICS diagnostics, paths as the admin knows them, with their source lines. */
async function diagnosticsOf(errors: readonly RunError[], toOriginal: (p: string) => string, mapText: (t: string) => string): Promise<Pick<ReportLedger, 'diagnostics' | 'diagnosticsOmitted'>> {
  const lines = new Map<string, Promise<string[] | null>>();
  const sourceLine = (file: string, line: number) => {
    if (!lines.has(file)) lines.set(file, readFile(file, 'utf8').then((t) => t.split('\n'), () => null));
    return lines.get(file)!.then((l) => l?.[line - 1] ?? null);
  };
  const kept = errors.slice(0, MAX_REPORT_DIAGNOSTICS);
  const diagnostics: ReportDiagnostic[] = await Promise.all(
    kept.map(async (e) => {
      const loc = e.location ? { file: toOriginal(e.location.file), line: e.location.line, column: e.location.column ?? null } : null;
      return {
        severity: e.severity,
        code: e.code,
        title: mapText(e.title),
        location: loc,
        sourceLine: loc ? await sourceLine(loc.file, loc.line) : null,
        notes: e.notes.map((n) => ({ label: n.label, text: mapText(n.text) })),
        plugin: e.plugin,
      };
    }),
  );
  return { diagnostics, diagnosticsOmitted: errors.length - kept.length };
}

function identity(p: string): string {
  return p;
}

/** Each plugin line: how it ended (or that it was refused, or never reached), with its time and usage. */
function pluginsOf(inv: LedgerInvocation): ReportPlugin[] {
  const steps = new Map(inv.result.steps.map((s) => [s.plugin.position, s]));
  return inv.preparations.map((p, i): ReportPlugin => {
    if (!p.ok) {
      const o = outcomeOf(p.error, null);
      return { name: p.identity.name, version: p.identity.version, isolation: 'container', status: o.status, exitCode: null, durationMs: null, peakMemoryBytes: null, cpuMs: null };
    }
    const step = steps.get(p.plugin.position ?? i);
    if (!step) return { name: p.identity.name, version: p.identity.version, isolation: 'container', status: 'discarded', exitCode: null, durationMs: null, peakMemoryBytes: null, cpuMs: null };
    const run = step.run;
    const sampled = run.usage.samples > 0;
    return {
      name: p.identity.name,
      version: p.identity.version,
      isolation: 'container',
      status: outcomeOf(run.ok ? undefined : run.error, run.exitCode).status,
      exitCode: run.exitCode,
      durationMs: run.durationMs,
      peakMemoryBytes: sampled ? run.usage.peakMemoryBytes : null,
      cpuMs: sampled ? Math.round(run.usage.cpuNanos / 1e6) : null,
    };
  });
}
