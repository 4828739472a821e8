// `sandboxctl batch`: thin: the batch file or the command line -> jobs, the audit log
// opened once, src/batch runs them; the summary line is the result (stdout), progress
// goes to stderr.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { openInvocationAuditLog } from '../../audit/index.js';
import { DEFAULT_OUTPUT_PATTERN, outputDirPattern, parseBatchFile } from '../../batch/batch-file.js';
import { BatchInputs } from '../../batch/inputs.js';
import { defaultJobs, planJobs, settingsFromFile, type BatchSettings } from '../../batch/plan.js';
import { Progress } from '../../batch/progress.js';
import { runBatch } from '../../batch/run-batch.js';
import { UsageError } from '../../errors.js';
import { newRunId } from '../../ids.js';
import { parseDuration } from '../../manifest/quantity.js';
import { DEFAULT_PROFILE, PROFILE_ENV } from '../../policy/load-profile.js';
import type { CliContext, CommandResult } from '../command-context.js';

export interface BatchOptions {
  ledgers: string[];
  file?: string;
  /** Command-line settings: each one given replaces the batch file's. */
  over: Partial<Omit<BatchSettings, 'ledgers' | 'baseDir'>>;
  force: boolean;
  auditLog?: string;
  engineWaitMs: number;
}

async function settingsOf(o: BatchOptions): Promise<BatchSettings> {
  if (o.file && o.ledgers.length) throw new UsageError('give ledgers on the command line or in a batch file (--file), not both', { hint: 'list them under ledgers: in the batch file' });
  if (!o.file && !o.ledgers.length) throw new UsageError('no ledgers given', { hint: "sandboxctl batch 'ledgers/*/main.beancount', or sandboxctl batch --file nightly.yaml" });
  let s: BatchSettings;
  if (o.file) {
    const file = path.resolve(o.file);
    const text = await readFile(file, 'utf8').catch((err: unknown) => {
      throw new UsageError(`cannot read the batch file ${o.file}`, { cause: err, hint: 'give the path of a batch file (schemas/batch.schema.json describes it)' });
    });
    s = settingsFromFile(parseBatchFile(text, file), file);
  } else {
    s = { baseDir: process.cwd(), pluginsDirs: [], output: DEFAULT_OUTPUT_PATTERN, format: 'beancount', deadlineMs: 30 * 60_000, stageTimeoutMs: 300_000, ledgers: o.ledgers.map((pattern) => ({ pattern })) };
  }
  const defined = Object.fromEntries(Object.entries(o.over).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0)));
  return { ...s, ...defined, pluginsDirs: [...(o.over.pluginsDirs ?? []), ...s.pluginsDirs] };
}

export async function runBatchCommand(ctx: CliContext, o: BatchOptions): Promise<CommandResult> {
  const settings = await settingsOf(o);
  const jobs = await planJobs(settings);
  const batchId = newRunId(ctx.now());
  const version = (JSON.parse(await readFile(path.join(ctx.root, 'package.json'), 'utf8')) as { version: string }).version;
  const reportDir = settings.reportDir ?? path.join(settings.baseDir, 'sandboxctl-reports', batchId);
  const engine = ctx.engine();
  // no run goes unaudited: a log that cannot be written stops the batch before anything runs
  const audit = await openInvocationAuditLog({ flag: o.auditLog, env: ctx.env, argv: ctx.argv, clock: ctx.now });
  try {
    const outcome = await runBatch({
      engine,
      audit,
      logger: ctx.logger,
      signal: ctx.signal,
      root: ctx.root,
      env: ctx.env,
      batchId,
      format: settings.format,
      stageTimeoutMs: settings.stageTimeoutMs,
      profilesDir: settings.profilesDir,
      force: o.force,
      inputs: new BatchInputs({ engine, root: ctx.root, env: ctx.env, profilesDir: settings.profilesDir, sandboxctlVersion: version, format: settings.format }),
      defaultProfile: settings.profile ?? ctx.env[PROFILE_ENV] ?? DEFAULT_PROFILE,
      asRoot: process.getuid?.() === 0,
      jobs,
      concurrency: settings.jobs ?? defaultJobs(),
      reportDir,
      sandboxctlVersion: version,
      progress: new Progress(process.stderr),
      engineWaitMs: o.engineWaitMs,
    });
    return { data: outcome.report, text: outcome.summary, exitCode: outcome.exitCode };
  } finally {
    await audit.close();
  }
}

/** The command line's options, as commander parsed them (commands/batch.ts). */
export interface BatchCliOptions {
  file?: string;
  profile?: string;
  profilesDir?: string;
  pluginsDir?: string[];
  output?: string;
  outputDir?: string;
  format?: string;
  jobs?: string;
  deadline?: string;
  stageTimeout?: string;
  reportDir?: string;
  auditLog?: string;
  force?: boolean;
  engineWait: string;
}

function duration(flag: string, v: string | undefined, bareUnit?: 's'): number | undefined {
  if (v === undefined) return undefined;
  const p = parseDuration(v, bareUnit);
  if (!p.ok) throw new UsageError(`${flag}: ${p.error}`);
  return p.value;
}

/** A relative output pattern is from the current directory, unless it starts with a placeholder ({dir}/...). */
function fromHere(pattern: string): string {
  return pattern.startsWith('{') || path.isAbsolute(pattern) ? pattern : path.resolve(pattern);
}

/** `sandboxctl batch` from its command line: the options checked and turned into settings, then the batch run. */
export function runBatchFromOptions(ctx: CliContext, ledgers: string[], opts: BatchCliOptions): Promise<CommandResult> {
  if (opts.format !== undefined && opts.format !== 'beancount' && opts.format !== 'jsonl') throw new UsageError(`--format ${opts.format} is not known`, { hint: 'use beancount or jsonl' });
  if (opts.output && opts.outputDir) throw new UsageError('--output and --output-dir both say where outputs go', { hint: 'give one of them' });
  const jobs = opts.jobs === undefined ? undefined : Number(opts.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1 && jobs <= 64)) throw new UsageError(`--jobs ${opts.jobs} is not a whole number from 1 to 64`);
  return runBatchCommand(ctx, {
    ledgers,
    file: opts.file,
    over: {
      profile: opts.profile,
      // paths given here are from the current directory (a batch file's are from its own)
      profilesDir: opts.profilesDir && path.resolve(opts.profilesDir),
      pluginsDirs: opts.pluginsDir?.map((d) => path.resolve(d)),
      output: opts.outputDir ? outputDirPattern(path.resolve(opts.outputDir)) : opts.output && fromHere(opts.output),
      format: opts.format as 'beancount' | 'jsonl' | undefined,
      jobs,
      deadlineMs: duration('--deadline', opts.deadline),
      stageTimeoutMs: duration('--stage-timeout', opts.stageTimeout, 's'),
      reportDir: opts.reportDir && path.resolve(opts.reportDir),
    },
    force: !!opts.force,
    auditLog: opts.auditLog,
    engineWaitMs: duration('--engine-wait', opts.engineWait)!,
  });
}
