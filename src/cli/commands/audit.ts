import type { Command } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { auditPathFor } from '../../audit/index.js';
import type { ExpectedHead, OpenedLine } from '../../audit/hash-chain.js';
import { formatDamaged, formatRecordDetail, formatRecordLine, formatVerdict } from '../../audit/present.js';
import type { AuditRecord } from '../../audit/record.js';
import { lastRecords, lastRunId, recordsOfRun, verifyFile, type ReadRecord } from '../../audit/verify.js';
import type { CliContext, CommandResult } from '../command-context.js';
import type { Choose } from './index.js';

interface LogOpts {
  auditLog?: string;
  json?: boolean;
}

const LOG_OPTION = ['--audit-log <file>', 'the audit log (default: $SANDBOXCTL_AUDIT_LOG, else the per-user default)'] as const;

export function registerAudit(program: Command, choose: Choose): void {
  const audit = program.command('audit').description('verify and read the tamper-evident audit log');

  audit
    .command('verify')
    .description('check the hash chain of the whole log; names the first bad record')
    .option(...LOG_OPTION)
    .option('--expect-head <hash>', 'a head published earlier ([SEQ:]HASH): it must still be in the chain')
    .option('--json', 'print the verdict as JSON')
    .action((opts: LogOpts & { expectHead?: string }) =>
      choose(async (ctx) => {
        const file = logPath(ctx, opts);
        const expect = opts.expectHead === undefined ? undefined : parseExpectHead(opts.expectHead);
        const verdict = await verifyFile(file, expect);
        return {
          data: { path: file, ...verdict },
          text: formatVerdict(file, verdict),
          exitCode: verdict.ok ? ExitCode.ok : ExitCode.auditTampered,
        };
      }, !!opts.json),
    );

  audit
    .command('show')
    .description('show every record of one run in full (default: the most recent run)')
    .option(...LOG_OPTION)
    .option('--run <id>', 'the run id')
    .option('--json', 'print the records as JSON')
    .action((opts: LogOpts & { run?: string }) =>
      choose(async (ctx) => {
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
      }, !!opts.json),
    );

  audit
    .command('tail')
    .description('show the last records, one line each')
    .option(...LOG_OPTION)
    .option('-n, --lines <n>', 'how many records', '10')
    .option('--json', 'print the records as JSON')
    .action((opts: LogOpts & { lines: string }) =>
      choose(async (ctx) => {
        const n = Number(opts.lines);
        if (!Number.isInteger(n) || n < 1) {
          throw new UsageError(`-n expects a whole number of records, 1 or more; found ${JSON.stringify(opts.lines)}`, {
            hint: 'for example: sandboxctl audit tail -n 20',
          });
        }
        const file = logPath(ctx, opts);
        return present(file, undefined, lastRecords(file, n), formatRecordLine, '\n');
      }, !!opts.json),
    );
}

function logPath(ctx: CliContext, opts: LogOpts): string {
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
