// `sandboxctl plugin list` and `plugin inspect`: installed bundles, and what one would be granted.
import { ExitCode, UsageError } from '../../errors.js';
import { loadBundle } from '../../manifest/bundle.js';
import { pluginDirs, readCatalogue } from '../../pipeline/catalogue.js';
import { safeText } from '../../safe-text.js';
import type { CliContext, CommandResult } from '../command-context.js';
import { planBundles } from './plan-handler.js';

export async function listPlugins(ctx: CliContext, opts: { pluginsDir?: string[] }): Promise<CommandResult> {
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
}

export interface InspectOptions {
  pluginsDir?: string[];
  profile?: string;
  profilesDir?: string;
  ledgerDir?: string;
  json?: boolean;
}

export async function inspectPlugin(ctx: CliContext, name: string, opts: InspectOptions): Promise<CommandResult> {
  const cat = await readCatalogue(pluginDirs(opts.pluginsDir, ctx.env, ctx.root));
  const entry = cat.find(name);
  if (!entry) {
    throw new UsageError(`no plugin bundle named ${name} is installed`, { hint: 'see `sandboxctl plugin list`, or add --plugins-dir DIR' });
  }
  return planBundles(ctx, [entry.dir], { profile: opts.profile, profilesDir: opts.profilesDir, ledgerOption: [], ledgerDir: opts.ledgerDir, json: opts.json });
}
