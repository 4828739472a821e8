import type { Command } from 'commander';
import path from 'node:path';
import { outputDirPattern } from '../../batch/batch-file.js';
import { UsageError } from '../../errors.js';
import { parseDuration } from '../../manifest/quantity.js';
import { runBatchCommand } from '../handlers/batch-handler.js';
import type { Choose } from './index.js';

interface BatchOpts {
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
  json?: boolean;
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

// Many ledgers, each isolated as `run` isolates one; for cron and systemd.
export function registerBatch(program: Command, choose: Choose): void {
  program
    .command('batch')
    .description('run many ledgers (paths, globs or a batch file), each isolated; skips unchanged ones, resumes after a crash, writes report.json')
    .argument('[ledgers...]', 'ledger files or globs (quote globs so the shell leaves them alone)')
    .option('-f, --file <batch.yaml>', 'a batch file (schemas/batch.schema.json): ledgers, profiles, outputs, deadlines')
    .option('--profile <name|file>', 'the admin profile for ledgers that name none (default $SANDBOXCTL_PROFILE, else strict)')
    .option('--profiles-dir <dir>', 'where profiles are looked up by name')
    .option('--plugins-dir <dir...>', 'folders of installed plugin bundles (before the batch file\'s, $SANDBOXCTL_PLUGINS_DIR and the shipped ones)')
    .option('--output <pattern>', 'each output file: {dir} {name} {base} {parent} (default {dir}/{name}.out.beancount)')
    .option('--output-dir <dir>', 'every output under this folder, as {parent}/{name}.out.beancount')
    .option('--format <format>', 'outputs as beancount or jsonl')
    .option('--jobs <n>', 'ledgers run at once (default: from the cores and memory)')
    .option('--deadline <duration>', "one ledger's time limit, e.g. 10m (default 30m)")
    .option('--stage-timeout <seconds>', 'time limit of each trusted stage (load, validate, print)')
    .option('--report-dir <dir>', 'where report.json goes (default sandboxctl-reports/<batch id>)')
    .option('--audit-log <file>', 'the audit log (default: $SANDBOXCTL_AUDIT_LOG, else the per-user default)')
    .option('--force', 'run every ledger, even those unchanged since their last success')
    .option('--engine-wait <duration>', 'how long to wait for an engine that went away before stopping', '60s')
    .option('--json', 'print the whole report as JSON instead of the summary line')
    .action((ledgers: string[], opts: BatchOpts) =>
      choose(async (ctx) => {
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
      }, !!opts.json),
    );
}
