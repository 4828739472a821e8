import type { Command } from 'commander';
import { ExitCode, UsageError } from '../../errors.js';
import { loadBundle } from '../../manifest/bundle.js';
import { pluginDirs, readCatalogue } from '../../pipeline/catalogue.js';
import { safeText } from '../../safe-text.js';
import type { Choose } from './index.js';
import { planBundles } from './plan.js';

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
      choose(async (ctx) => {
        const dirs = pluginDirs(opts.pluginsDir, ctx.env, ctx.root);
        const cat = await readCatalogue(dirs);
        const rows = [];
        for (const e of cat.entries) {
          const b = await loadBundle(e.dir).catch((err: Error) => err);
          const active = cat.find(e.name)?.dir === e.dir;
          if (b instanceof Error) {
            rows.push({ name: e.name, version: e.version, dir: e.dir, active, error: b.message });
            continue;
          }
          const c = b.manifest.capabilities;
          rows.push({
            name: e.name, version: e.version, dir: e.dir, active,
            runtime: b.manifest.runtime, effects: c.effects, ledger: c.ledger, network: c.network, scratch: c.scratch, env: c.env,
            digest: b.digest,
          });
        }
        const broken = cat.broken.map((x) => ({ dir: x.dir, error: x.error.message }));
        const text = [
          `searched: ${dirs.join(', ')}`,
          ...rows.map((r) =>
            'error' in r
              ? `  ! ${r.name} ${r.version}  ${r.dir}: ${(r.error ?? '').split('\n')[0]}`
              : `  ${r.active ? ' ' : '~'} ${r.name.padEnd(40)} ${r.version.padEnd(8)} ${String(r.runtime).padEnd(6)} effects [${r.effects.join(', ')}]` +
                `${r.ledger === 'read' ? ', ledger read' : ''}${r.network === 'egress' ? ', network egress' : ''}${r.active ? '' : `  (shadowed: ${r.dir})`}`,
          ),
          ...broken.map((b) => `  ! ${b.dir}: ${b.error.split('\n')[0]}`),
          `${rows.length} bundle(s)${broken.length ? `, ${broken.length} unreadable` : ''}`,
        ].join('\n');
        return { data: { dirs, plugins: rows, broken }, text: safeText(text), exitCode: ExitCode.ok };
      }, !!opts.json),
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
    .action((name: string, opts: { pluginsDir?: string[]; profile?: string; profilesDir?: string; ledgerDir?: string; json?: boolean }) =>
      choose(async (ctx) => {
        const cat = await readCatalogue(pluginDirs(opts.pluginsDir, ctx.env, ctx.root));
        const entry = cat.find(name);
        if (!entry) {
          throw new UsageError(`no plugin bundle named ${name} is installed`, { hint: 'see `sandboxctl plugin list`, or add --plugins-dir DIR' });
        }
        return planBundles(ctx, [entry.dir], { profile: opts.profile, profilesDir: opts.profilesDir, ledgerOption: [], ledgerDir: opts.ledgerDir, json: opts.json });
      }, !!opts.json),
    );
}
