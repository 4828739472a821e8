import type { Command } from 'commander';
import type { BatchCliOptions } from '../handlers/batch-handler.js';
import type { Choose } from './index.js';

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
    .action((ledgers: string[], opts: BatchCliOptions & { json?: boolean }) =>
      choose(async (ctx) => (await import('../handlers/batch-handler.js')).runBatchFromOptions(ctx, ledgers, opts), !!opts.json),
    );
}
