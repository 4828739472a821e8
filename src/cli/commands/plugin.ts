import type { Command } from 'commander';
import type { InspectOptions } from '../handlers/plugin-handler.js';
import type { Choose } from './index.js';

const dirsOption = '--plugins-dir <dir...>';
const dirsHelp = 'folders of plugin bundles, searched before $SANDBOXCTL_PLUGINS_DIR and the shipped ones';

export function registerPlugin(program: Command, choose: Choose): void {
  const plugin = program.command('plugin').description('installed plugin bundles: what they ask for and what they would be granted');

  plugin
    .command('list')
    .description('list installed plugin bundles, in the order a ledger\'s plugin names are looked up')
    .option(dirsOption, dirsHelp)
    .option('--json', 'print as JSON')
    .action((opts: { pluginsDir?: string[]; json?: boolean }) =>
      choose(async (ctx) => (await import('../handlers/plugin-handler.js')).listPlugins(ctx, opts), !!opts.json),
    );

  plugin
    .command('inspect')
    .description('show a plugin\'s manifest and the grant (or refusal) and container spec it would get')
    .argument('<name>', 'the name a ledger\'s plugin line uses, e.g. beancount.plugins.implicit_prices')
    .option(dirsOption, dirsHelp)
    .option('--profile <name-or-file>', 'admin profile, the ceiling (default: $SANDBOXCTL_PROFILE or strict)')
    .option('--profiles-dir <dir>', 'folder of admin profiles')
    .option('--ledger-dir <dir>', 'the ledger\'s directory: where it is mounted when ledger read is granted')
    .option('--json', 'print as JSON')
    .action((name: string, opts: InspectOptions) =>
      choose(async (ctx) => (await import('../handlers/plugin-handler.js')).inspectPlugin(ctx, name, opts), !!opts.json),
    );
}
