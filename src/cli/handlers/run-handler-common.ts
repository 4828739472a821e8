// What both kinds of run (a ledger, a directive file) do the same way at their edges.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { AuditEntry, AuditLog } from '../../audit/index.js';
import type { Engine } from '../../engine/engine.js';
import { ExitCode } from '../../errors.js';

/** sha256 of a file's bytes, streamed: the audit names inputs by it. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** Checks that an engine answers; when none does, that too is audited before the error goes on. */
export async function pingOrAudit(engine: Engine, audit: AuditLog, runId: string, ledger: AuditEntry['ledger']): Promise<void> {
  try {
    await engine.ping();
  } catch (err) {
    await audit.append({ runId, event: 'engine-unavailable', ledger, outcome: { status: 'engine-unavailable', exitCode: ExitCode.engineUnavailable, message: (err as Error).message } });
    throw err;
  }
}
