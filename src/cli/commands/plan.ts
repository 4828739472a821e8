// `sandboxctl plan BUNDLE...`: the options; handlers/plan-handler.ts (and compose-handler.ts for --format compose) do the work.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import type { Choose } from './index.js';
import { withPolicyOptions, type PlanOptions } from './plan-policy.js';

function planFormat(format: string, json: boolean): 'text' | 'json' | 'compose' {
  if (format !== 'text' && format !== 'json' && format !== 'compose') {
    throw new UsageError(`--format ${JSON.stringify(format)} is not a plan format`, { hint: 'use --format text, json or compose' });
  }
  if (json && format === 'compose') throw new UsageError('--json and --format compose both choose the output', { hint: 'pass one of them' });
  return json ? 'json' : format;
}

export function registerPlan(program: Command, choose: Choose): void {
  const plan = program
    .command('plan')
    .description('show what each plugin bundle would be granted or why it is refused, and the exact container spec')
    .argument('<bundle-dir...>', 'plugin bundle directories (each holds plugin.yaml)');
  withPolicyOptions(plan, 'the ledger\'s directory: the read-only mount source where ledger read is granted, and whether its host path is free inside the container')
    .option('--json', 'print the plans as JSON (the seccomp body whole)')
    .option('--format <format>', 'text, json (as --json), or compose: a docker-compose file with one service per plugin (builds plugin images; refuses if any plugin is refused)', 'text')
    .action((dirs: string[], opts: PlanOptions & { format: string }) => {
      const format = planFormat(opts.format, !!opts.json);
      choose(
        async (ctx) =>
          format === 'compose'
            ? (await import('../handlers/compose-handler.js')).composeForBundles(ctx, dirs, opts)
            : (await import('../handlers/plan-handler.js')).planBundles(ctx, dirs, opts),
        format === 'json',
      );
    });
}
