import type { Command } from 'commander';
import type { Choose } from './index.js';

export function registerDoctor(program: Command, choose: Choose): void {
  program
    .command('doctor')
    .description('check the engine, runtimes, images and host features sandboxctl needs')
    .option('--json', 'print the facts and checks as JSON')
    .action((opts: { json?: boolean }) => choose(async (ctx) => (await import('../handlers/doctor-handler.js')).runDoctor(ctx), !!opts.json));
}
