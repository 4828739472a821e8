import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Choose } from './index.js';

interface RunOpts {
  inputFormat: string;
  input?: string;
  plugin: string[];
  pluginConfig: string[];
  pluginsDir?: string[];
  profile?: string;
  profilesDir?: string;
  output?: string;
  format: string;
  json?: boolean;
  auditLog?: string;
  stageTimeout: string;
}

const collect = (v: string, acc: string[]) => [...acc, v];

// One command, two input sources: a ledger (Beancount loads it) or a directive file.
// Each handler is loaded when chosen: a command never loads the code of the others.
export function registerRun(program: Command, choose: Choose): void {
  program
    .command('run')
    .description('run plugins in hardened containers: the plugins of a ledger, or --plugin bundles over a JSONL directive file')
    .argument('[ledger]', 'the main .beancount file (its plugin lines say what runs)')
    .option('--input-format <format>', 'beancount (a ledger argument) or jsonl (--input, one directive per line)', 'beancount')
    .option('--input <file>', 'with --input-format jsonl: the directive file')
    .option('--plugin <bundle-dir>', 'with --input-format jsonl: a plugin bundle to run (repeat; run in order)', collect, [])
    .option('--plugin-config <name=config>', 'with --input-format jsonl: the config string for the plugin of that name (repeat)', collect, [])
    .option('--plugins-dir <dir...>', 'with a ledger: folders of installed plugin bundles (before $SANDBOXCTL_PLUGINS_DIR and the shipped ones)')
    .option('--profile <name|file>', 'the admin profile: the most any plugin may be granted (default $SANDBOXCTL_PROFILE, else strict)')
    .option('--profiles-dir <dir>', 'where profiles are looked up by name')
    .option('-o, --output <file>', 'write the result here (atomically); default stdout')
    .option('--format <format>', 'with a ledger: output as beancount or jsonl', 'beancount')
    .option('--audit-log <file>', 'the audit log (default: $SANDBOXCTL_AUDIT_LOG, else the per-user default)')
    .option('--stage-timeout <seconds>', 'with a ledger: time limit of each trusted stage (load, validate, print)', '300')
    .option('--json', 'print the report as JSON (needs -o)')
    .action((ledger: string | undefined, opts: RunOpts) =>
      choose(async (ctx) => {
        if (opts.inputFormat === 'jsonl') {
          if (ledger) throw new UsageError(`--input-format jsonl reads --input, not a ledger argument (got ${ledger})`, { hint: 'drop the ledger argument, or drop --input-format jsonl' });
          if (!opts.input) throw new UsageError('--input-format jsonl needs --input FILE', { hint: 'sandboxctl run --input-format jsonl --input directives.jsonl --plugin ./my-plugin' });
          const { runJsonlCommand } = await import('../handlers/jsonl-run-handler.js');
          return runJsonlCommand(ctx, {
            input: opts.input,
            plugins: opts.plugin,
            configs: opts.pluginConfig,
            profile: opts.profile,
            profilesDir: opts.profilesDir,
            output: opts.output,
            json: !!opts.json,
            auditLog: opts.auditLog,
          });
        }
        if (opts.inputFormat !== 'beancount') {
          throw new UsageError(`--input-format ${opts.inputFormat} is not known`, { hint: 'use beancount (a ledger argument) or jsonl (--input FILE)' });
        }
        if (!ledger) throw new UsageError('no ledger given', { hint: 'sandboxctl run main.beancount, or --input-format jsonl --input FILE --plugin DIR' });
        if (opts.input || opts.plugin.length || opts.pluginConfig.length) {
          throw new UsageError('--input, --plugin and --plugin-config go with --input-format jsonl; a ledger names its own plugins', { hint: 'add --input-format jsonl, or remove those options' });
        }
        if (opts.format !== 'beancount' && opts.format !== 'jsonl') throw new UsageError(`--format ${opts.format} is not known`, { hint: 'use beancount or jsonl' });
        const stageTimeout = Number(opts.stageTimeout);
        if (!(stageTimeout > 0)) throw new UsageError(`--stage-timeout ${opts.stageTimeout} is not a positive number of seconds`);
        const { runLedgerCommand } = await import('../handlers/ledger-run-handler.js');
        return runLedgerCommand(ctx, {
          ledger,
          pluginsDir: opts.pluginsDir,
          profile: opts.profile,
          profilesDir: opts.profilesDir,
          output: opts.output,
          format: opts.format,
          json: !!opts.json,
          auditLog: opts.auditLog,
          stageTimeoutMs: stageTimeout * 1000,
        });
      }, !!opts.json),
    );
}
