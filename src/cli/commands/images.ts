import type { Command } from 'commander';
import type { RunnerName } from '../../images/recipes.js';
import type { Choose } from './index.js';

export function registerImages(program: Command, choose: Choose): void {
  const images = program.command('images').description('build and list the images plugins run on');

  images
    .command('build')
    .description('build the base image and the runner images; only what changed is rebuilt')
    .option('--no-pull', 'never try a registry for the base image; make it with debootstrap')
    .option('--only <image...>', 'build only these: python, node (runners), sandboxctl (the image compose/compose.yaml runs)')
    .option('--json', 'print the outcome as JSON')
    .action((opts: { pull: boolean; only?: Array<RunnerName | 'sandboxctl'>; json?: boolean }) =>
      choose(async (ctx) => (await import('../handlers/images-handler.js')).buildImagesCommand(ctx, opts), !!opts.json),
    );

  images
    .command('list')
    .description('show each image sandboxctl needs and whether it is current')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) => choose(async (ctx) => (await import('../handlers/images-handler.js')).listImagesCommand(ctx), !!opts.json));
}
