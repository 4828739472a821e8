// `sandboxctl audit verify | show | tail`: the audit log checked and read.
import { ExitCode, UsageError } from '../../errors.js';
import { auditPathFor } from '../../audit/index.js';
import type { ExpectedHead, OpenedLine } from '../../audit/hash-chain.js';
import { formatDamaged, formatRecordDetail, formatRecordLine, formatVerdict } from '../../audit/present.js';
import type { AuditRecord } from '../../audit/record.js';
import { lastRecords, lastRunId, recordsOfRun, verifyFile, type ReadRecord } from '../../audit/verify.js';
import type { CliContext, CommandResult } from '../command-context.js';

export interface LogOptions {
  auditLog?: string;
}

export async function verifyAudit(ctx: CliContext, opts: LogOptions & { expectHead?: string }): Promise<CommandResult> {
  const file = logPath(ctx, opts);
  const expect = opts.expectHead === undefined ? undefined : parseExpectHead(opts.expectHead);
  const verdict = await verifyFile(file, expect);
  return {
    data: { path: file, ...verdict },
    text: formatVerdict(file, verdict),
    exitCode: verdict.ok ? ExitCode.ok : ExitCode.auditTampered,
  };
}

export async function showAudit(ctx: CliContext, opts: LogOptions & { run?: string }): Promise<CommandResult> {
  const file = logPath(ctx, opts);
  const runId = opts.run ?? lastRunId(file);
  if (runId === undefined) return present(file, undefined, [], formatRecordDetail, '\n\n');
  const found = await recordsOfRun(file, runId);
  if (found.length === 0) {
    throw new UsageError(`no records of run ${runId} in ${file}`, {
      hint: 'list recent runs with `sandboxctl audit tail`',
      details: { path: file, runId },
    });
  }
  return present(file, runId, found, formatRecordDetail, '\n\n');
}

export async function tailAudit(ctx: CliContext, opts: LogOptions & { lines: string }): Promise<CommandResult> {
  const n = Number(opts.lines);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`-n expects a whole number of records, 1 or more; found ${JSON.stringify(opts.lines)}`, {
      hint: 'for example: sandboxctl audit tail -n 20',
    });
  }
  const file = logPath(ctx, opts);
  return present(file, undefined, lastRecords(file, n), formatRecordLine, '\n');
}

function logPath(ctx: CliContext, opts: LogOptions): string {
  return auditPathFor(opts.auditLog, ctx.env).path;
}

function parseExpectHead(s: string): ExpectedHead {
  const m = /^(?:(\d+):)?([0-9a-f]{64})$/.exec(s.trim().toLowerCase());
  if (!m) {
    throw new UsageError(`--expect-head expects [SEQ:]HASH with a 64-character hex hash; found ${JSON.stringify(s)}`, {
      hint: 'use the head printed by an earlier `sandboxctl audit verify`, e.g. 1234:9f86d0...',
    });
  }
  return m[1] === undefined ? { hash: m[2]! } : { hash: m[2]!, seq: Number(m[1]) };
}

// Records are presented as read; a damaged line is shown in its place and makes the exit code say so.
function present(
  file: string,
  runId: string | undefined,
  read: ReadRecord[],
  format: (r: AuditRecord) => string,
  sep: string,
): CommandResult {
  const records: AuditRecord[] = [];
  const damaged: Array<{ line: number | null; kind: string; seq: number | null; message: string }> = [];
  const text: string[] = [];
  for (const { line, opened } of read) {
    if (opened.ok) {
      records.push(opened.record);
      text.push(format(opened.record));
    } else {
      const bad = opened as Extract<OpenedLine, { ok: false }>;
      damaged.push({ line: line > 0 ? line : null, kind: bad.kind, seq: bad.seq, message: bad.message });
      text.push(formatDamaged(line, bad));
    }
  }
  if (damaged.length) text.push(`${damaged.length} damaged record${damaged.length === 1 ? '' : 's'}: run \`sandboxctl audit verify\``);
  if (read.length === 0) text.push(`${file}: no records`);
  return {
    data: { path: file, ...(runId === undefined ? {} : { runId }), records, damaged },
    text: text.join(sep),
    exitCode: damaged.length ? ExitCode.auditTampered : ExitCode.ok,
  };
}
