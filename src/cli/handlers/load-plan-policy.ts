// The policy `plan` and `compose export` work under, from their shared options (commands/plan-policy.ts).
import { UsageError } from '../../errors.js';
import { loadPolicy, type LoadedPolicy } from '../../policy/load-policy.js';
import type { CliContext } from '../command-context.js';
import type { PlanOptions } from '../commands/plan-policy.js';

function parsePairs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--ledger-option ${JSON.stringify(p)} is not key=value`, { hint: 'for example --ledger-option plugin_timeout=30' });
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

export function loadPlanPolicy(ctx: CliContext, opts: PlanOptions): Promise<LoadedPolicy> {
  return loadPolicy({
    root: ctx.root,
    env: ctx.env,
    profile: opts.profile,
    profilesDir: opts.profilesDir,
    ledgerOptions: parsePairs(opts.ledgerOption),
    ledgerOptionsSource: '--ledger-option',
  });
}
