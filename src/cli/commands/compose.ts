// `sandboxctl compose export -o DIR BUNDLE...`: the options; handlers/compose-handler.ts does the work.
import type { Command } from 'commander';
import type { Choose } from './index.js';
import { withPolicyOptions, type PlanOptions } from './plan-policy.js';

export function registerCompose(program: Command, choose: Choose): void {
  const compose = program.command('compose').description('docker-compose files for plugins (see docs/compose.md)');
  const exp = compose
    .command('export')
    .description('write DIR/compose.yaml (one hardened service per plugin, under a compose profile named after the admin profile) and the seccomp files it reads')
    .argument('<bundle-dir...>', 'plugin bundle directories (each holds plugin.yaml)')
    .requiredOption('-o, --out <dir>', 'directory to write compose.yaml and seccomp/ into');
  withPolicyOptions(exp, 'the ledger directory mounted read-only where ledger read is granted')
    .option('--json', 'print what was written as JSON')
    .action((dirs: string[], opts: PlanOptions & { out: string }) =>
      choose(async (ctx) => (await import('../handlers/compose-handler.js')).exportCompose(ctx, dirs, opts), !!opts.json),
    );
}
