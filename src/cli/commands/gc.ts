import type { Command } from 'commander';
import type { Choose } from './index.js';

export function registerGc(program: Command, choose: Choose): void {
  program
    .command('gc')
    .description('remove containers, networks and volumes sandboxctl left behind (only objects with its label)')
    .option('--all', 'also remove objects whose sandboxctl process is still running')
    .option('--images', 'also remove cached plugin images (rebuilt from their bundles when next needed)')
    .option('--json', 'print what was removed as JSON')
    .action((opts: { all?: boolean; images?: boolean; json?: boolean }) =>
      choose(async (ctx) => (await import('../handlers/gc-handler.js')).runGc(ctx, opts), !!opts.json),
    );
}
