// The policy options `plan` and `compose export` share: admin profile, profiles folder,
// ledger options and ledger directory (handlers/load-plan-policy.ts loads the policy they name).
import type { Command } from 'commander';

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

/** --profile, --profiles-dir, --ledger-option, --ledger-dir. */
export function withPolicyOptions(cmd: Command, ledgerDirHelp: string): Command {
  return cmd
    .option('--profile <name-or-file>', 'admin profile, the ceiling (default: $SANDBOXCTL_PROFILE or strict)')
    .option('--profiles-dir <dir>', 'folder of admin profiles (default: $SANDBOXCTL_PROFILES_DIR or the install\'s profiles/)')
    .option('--ledger-option <key=value>', 'a ledger option such as plugin_sandbox=strict, plugin_timeout=30 (repeatable)', collect, [])
    .option('--ledger-dir <dir>', ledgerDirHelp);
}
