// The policy inputs `plan` and `compose export` share: admin profile, profiles folder,
// ledger options and ledger directory, as options and as the loaded policy.
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { loadPolicy, type LoadedPolicy } from '../../policy/load-policy.js';
import type { CliContext } from '../command-context.js';

export interface PlanOptions {
  profile?: string;
  profilesDir?: string;
  ledgerOption: string[];
  ledgerDir?: string;
  json?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parsePairs(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf('=');
    if (i <= 0) throw new UsageError(`--ledger-option ${JSON.stringify(p)} is not key=value`, { hint: 'for example --ledger-option plugin_timeout=30' });
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

/** --profile, --profiles-dir, --ledger-option, --ledger-dir. */
export function withPolicyOptions(cmd: Command, ledgerDirHelp: string): Command {
  return cmd
    .option('--profile <name-or-file>', 'admin profile, the ceiling (default: $SANDBOXCTL_PROFILE or strict)')
    .option('--profiles-dir <dir>', 'folder of admin profiles (default: $SANDBOXCTL_PROFILES_DIR or the install\'s profiles/)')
    .option('--ledger-option <key=value>', 'a ledger option such as plugin_sandbox=strict, plugin_timeout=30 (repeatable)', collect, [])
    .option('--ledger-dir <dir>', ledgerDirHelp);
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
