// `sandboxctl run LEDGER`: thin: options in, the pipeline (src/pipeline/ledger-invocation.ts:
// the output written atomically, every way it ends audited), diagnostics out.
import { createReadStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { openInvocationAuditLog } from '../../audit/index.js';
import { UsageError } from '../../errors.js';
import { renderDiagnostic } from '../../ledger/diagnostic.js';
import { newRunId } from '../../ids.js';
import type { RunError } from '../../pipeline/diagnostics.js';
import { invokeLedger } from '../../pipeline/ledger-invocation.js';
import { ledgerReader } from '../../pipeline/ledger-reader.js';
import type { LedgerRunResult } from '../../pipeline/run-ledger.js';
import type { CliContext, CommandResult, StdoutResults } from '../command-context.js';
import { sha256File } from '../../pipeline/file-digest.js';

export interface RunLedgerOptions {
  ledger: string;
  pluginsDir?: string[];
  profile?: string;
  profilesDir?: string;
  output?: string;
  format: 'beancount' | 'jsonl';
  json: boolean;
  auditLog?: string;
  stageTimeoutMs: number;
}

export async function runLedgerCommand(ctx: CliContext, o: RunLedgerOptions): Promise<CommandResult> {
  const ledgerPath = path.resolve(o.ledger);
  const st = await stat(ledgerPath).catch(() => undefined);
  if (!st?.isFile()) throw new UsageError(`${o.ledger} is not a ledger file`, { hint: 'give the path of your main .beancount file' });
  if (o.json && !o.output) throw new UsageError('--json prints the report on stdout, so the ledger needs -o FILE', { hint: 'add -o out.beancount (or -o out.jsonl with --format jsonl)' });
  const reader = await ledgerReader(ledgerPath);
  if (!reader.ok) throw reader.error;
  const loaderUser = reader.user;
  const output = o.output ? path.resolve(o.output) : undefined;
  if (output === ledgerPath) throw new UsageError('-o names the input ledger: the input is never modified', { hint: 'write the result to another file' });

  const runId = newRunId(ctx.now());
  const ledger = { path: ledgerPath, sha256: await sha256File(ledgerPath) };
  // no run goes unaudited: a log that cannot be written stops us before anything runs
  const audit = await openInvocationAuditLog({ flag: o.auditLog, env: ctx.env, argv: ctx.argv, clock: ctx.now });
  try {
    const run = await invokeLedger({
      engine: ctx.engine(),
      audit,
      runId,
      logger: ctx.logger.child({ runId }),
      signal: ctx.signal,
      root: ctx.root,
      env: ctx.env,
      ledgerPath,
      auditLedger: ledger,
      loaderUser,
      profile: o.profile,
      profilesDir: o.profilesDir,
      pluginsDir: o.pluginsDir,
      output,
      format: o.format,
      stageTimeoutMs: o.stageTimeoutMs,
    });
    const reported = await report(run.result, run.exitCode, output, o).catch(async (err: unknown) => {
      if (run.staged) await rm(run.staged.dir, { recursive: true, force: true });
      throw err;
    });
    // without -o the staged ledger goes to stdout through the renderer, which then removes it
    return { ...reported, stdout: run.staged ? stagedToStdout(run.staged) : undefined };
  } finally {
    await audit.close();
  }
}

/** The staged result as stdout results: streamed by the renderer, then removed. */
function stagedToStdout(staged: { dir: string; file: string }): StdoutResults {
  return {
    writeTo: async (out, signal) => {
      for await (const chunk of createReadStream(staged.file)) {
        if (signal.aborted) throw signal.reason;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    },
    release: () => rm(staged.dir, { recursive: true, force: true }),
  };
}

async function sourceLine(file: string, line: number, cache: Map<string, string[] | null>): Promise<string | undefined> {
  if (!cache.has(file)) cache.set(file, await readFile(file, 'utf8').then((t) => t.split('\n'), () => null));
  return cache.get(file)?.[line - 1];
}

async function report(result: LedgerRunResult, exitCode: number, output: string | undefined, o: RunLedgerOptions): Promise<CommandResult> {
  const cache = new Map<string, string[] | null>();
  const rendered: string[] = [];
  for (const e of result.errors) {
    const src = e.location ? await sourceLine(e.location.file, e.location.line, cache) : undefined;
    rendered.push(renderDiagnostic({ ...e, ...(src !== undefined ? { sourceLine: src } : {}) }));
  }
  const plugins = result.steps.map((s) => ({
    name: s.plugin.name,
    version: s.plugin.version,
    ok: s.run.ok,
    durationMs: s.run.durationMs,
    counts: s.run.counts,
    // in the session, memory is the session's: none of its own to report
    peakMemoryBytes: s.plugin.isolation === 'session' ? null : s.run.usage.peakMemoryBytes,
    isolation: s.plugin.isolation ?? 'container',
  }));
  const count = (sev: string) => result.errors.filter((e) => e.severity === sev).length;
  const summary =
    `${result.status === 'ok' ? 'ok' : result.status}: ${result.loaded.directives.length} directives in, ` +
    `${result.directives ? `${result.directives.length} out` : 'nothing written'}; ${plugins.length} plugin run(s), ${count('error')} error(s)` +
    (count('warning') ? `, ${count('warning')} warning(s)` : '') +
    (output && result.directives ? `; wrote ${output}` : '');
  const data = {
    ok: exitCode === 0,
    exitCode,
    status: result.status,
    output: output ?? null,
    format: o.format,
    counts: { input: result.loaded.directives.length, output: result.directives?.length ?? null },
    errors: result.errors.map(toJson),
    plugins,
    timings: result.timings,
  };
  // diagnostics are a report about the results: stderr, so that stdout carries the ledger only
  return { data, text: [...rendered, summary].join('\n\n'), exitCode, textKind: 'report' };
}

function toJson(e: RunError) {
  return { code: e.code, severity: e.severity, title: e.title, message: e.message, source: e.source, plugin: e.plugin, location: e.location ?? null, notes: e.notes, ...(e.data ? { data: e.data } : {}) };
}
