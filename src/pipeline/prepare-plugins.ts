// Each ledger plugin line -> its installed bundle -> the same preparation a directive-file
// run gets (policy, image, spec: src/run/chain.ts), and where it runs: a Beancount builtin
// as shipped may run in the trusted session when its profile says so (isolation-of.ts).
// All lines are decided before anything runs.
import type { Engine, ImageInfo } from '../engine/engine.js';
import { PolicyRefusal } from '../errors.js';
import type { Logger } from '../logger.js';
import type { HostFacts } from '../policy/grant.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { preparePlugin, type StepPreparation } from './jsonl-run.js';
import type { Bundle } from '../manifest/bundle.js';
import type { Profile } from '../policy/profile-schema.js';
import type { Catalogue } from './catalogue.js';
import { isolationOf } from './isolation-of.js';
import type { LoadedHead, PluginLine } from './load-ledger.js';

export interface LedgerPrepareContext {
  engine: Engine;
  runId: string;
  root: string;
  logger: Logger;
  catalogue: Catalogue;
  policy: LoadedPolicy;
  host: HostFacts;
  ledgerDir: string;
  env: NodeJS.ProcessEnv;
}

function missingBundle(line: PluginLine, ctx: LedgerPrepareContext): StepPreparation {
  const searched = [...new Set(ctx.catalogue.entries.map((e) => e.source))].join(', ') || 'none';
  const error = new PolicyRefusal(line.name, ctx.policy.ceiling.profile.name, [
    { capability: 'bundle', requested: line.name, allowed: 'installed bundles', reason: 'no plugin bundle of that name is installed, so there is nothing reviewed to run' },
  ], { hint: `install its bundle in a --plugins-dir (searched: ${searched})` });
  return { ok: false, line, error, identity: { name: line.name, version: null, bundleHash: null }, profile: ctx.policy.ceiling.profile.name };
}

/** The ledger's own sandbox options, as loadPolicy takes them. */
export function ledgerSandboxOptions(loaded: Pick<LoadedHead, 'sandboxOptions'>): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(loaded.sandboxOptions)) if (typeof v === 'string') raw[k] = v;
  return raw;
}

export async function preparePlugins(loaded: Pick<LoadedHead, 'plugins'>, ctx: LedgerPrepareContext): Promise<StepPreparation[]> {
  const runners = new Map<string, ImageInfo>();
  const out: StepPreparation[] = [];
  for (const [position, line] of loaded.plugins.entries()) {
    const entry = ctx.catalogue.find(line.name);
    if (!entry) {
      out.push(missingBundle(line, ctx));
      continue;
    }
    // a ledger run has a trusted session: the profile may run Beancount's own builtins there
    const isolate = (bundle: Bundle, profile: Profile) => isolationOf(bundle, profile, ctx.root);
    out.push(await preparePlugin({ bundleDir: entry.dir, line, position }, { ...ctx, ledgerDir: ctx.ledgerDir, isolate }, runners));
  }
  return out;
}
