// How a run's start and failed end are audited, the same for every kind of run (a ledger, a
// directive file, each ledger of a batch): no run goes unaudited, and none twice.
import type { AuditEntry, AuditLog } from '../audit/index.js';
import type { Engine } from '../engine/engine.js';
import { ExitCode, InterruptedError, SandboxctlError } from '../errors.js';
import type { Logger } from '../logger.js';
import { outcomeOf } from './audit-entry.js';

/** Errors pingOrAudit has already recorded: the end of the run needs no second record. */
const audited = new WeakSet<object>();

/** Checks that an engine answers; when none does, that too is audited before the error goes on. */
export async function pingOrAudit(engine: Engine, audit: AuditLog, runId: string, ledger: AuditEntry['ledger']): Promise<void> {
  try {
    await engine.ping();
  } catch (err) {
    await audit.append({ runId, event: 'engine-unavailable', ledger, outcome: { status: 'engine-unavailable', exitCode: ExitCode.engineUnavailable, message: (err as Error).message } });
    if (err instanceof Object) audited.add(err);
    throw err;
  }
}

/**
 * Records how a run that failed ended: `interrupted` for a signal, otherwise a run-summary
 * with the error's outcome (an engine lost mid-run included). Nothing when the error was
 * recorded already; a record that cannot be written is logged, and the run's error stands.
 */
export async function auditRunFailure(audit: AuditLog, end: { runId: string; ledger: AuditEntry['ledger']; durationMs: number }, err: unknown, log: Logger): Promise<void> {
  if (err instanceof Object && audited.has(err)) return;
  const event = err instanceof InterruptedError ? 'interrupted' : 'run-summary';
  const exitCode = err instanceof SandboxctlError ? err.exitCode : ExitCode.internal;
  await audit
    .append({ ...end, event, outcome: outcomeOf(err instanceof Error ? err : new Error(String(err)), exitCode) })
    .catch((e: unknown) => log.error({ err: e }, 'could not audit the end of the run'));
}
