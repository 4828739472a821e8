// `sandboxctl run LEDGER --format jsonl -o OUT --json`, as a user runs it: the report from
// stdout, the directives from OUT (one protocol Directive JSON per line).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli, type CliRun } from './cli.js';
import type { LedgerError, Outcome } from './parity-reference.js';

export interface RunReportError extends LedgerError {
  code: string;
  plugin: string | null;
  [k: string]: unknown;
}

export interface RunReport {
  ok: boolean;
  exitCode: number;
  errors: RunReportError[];
  plugins: unknown[];
  [k: string]: unknown;
}

export interface SandboxedOutcome extends Outcome {
  report: RunReport;
  cli: CliRun;
  ms: number;
}

/** Runs the CLI; throws (with its stderr) when it does not give a report and an output file. */
export async function runSandboxed(ledger: string, opts: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<SandboxedOutcome> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-parity-out-'));
  const out = path.join(dir, 'out.jsonl');
  const t = Date.now();
  try {
    const cli = await runCli(['run', ledger, '--format', 'jsonl', '-o', out, '--json', ...(opts.args ?? [])], { env: opts.env });
    const ms = Date.now() - t;
    let report: RunReport;
    try {
      report = JSON.parse(cli.stdout) as RunReport;
    } catch {
      throw new Error(`sandboxctl run ${ledger}: no JSON report on stdout (exit ${cli.code})\nstdout: ${cli.stdout.slice(0, 2000)}\nstderr: ${cli.stderr.slice(-4000)}`);
    }
    let text: string;
    try {
      text = await readFile(out, 'utf8');
    } catch {
      throw new Error(
        `sandboxctl run ${ledger}: no output file (exit ${cli.code}); report errors:\n` +
          report.errors.map((e) => `  [${e.code}] ${e.plugin ?? ''} ${e.message.slice(0, 800)}`).join('\n') +
          `\nstderr: ${cli.stderr.slice(-2000)}`,
      );
    }
    const directives = text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { directives, errors: report.errors.map((e) => ({ message: e.message, source: e.source })), report, cli, ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
