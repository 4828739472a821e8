// Loads everything policy needs for a run or a plan, once, at start: the admin's profile
// (the ceiling), the profile the ledger asks for (if any), and each one's checked seccomp
// body. A broken profile or seccomp file stops the command before any container exists.
import { UsageError } from '../errors.js';
import { loadSeccomp } from './seccomp-file.js';
import type { CheckedSeccomp } from './seccomp.js';
import { parseLedgerOptions, type LedgerOptions } from './ledger-options.js';
import { DEFAULT_PROFILE, loadProfile, PROFILE_ENV, profileLocations, type LoadedProfile } from './load-profile.js';

export interface PolicyProfile extends LoadedProfile {
  seccompChecked: CheckedSeccomp;
}

export interface LoadedPolicy {
  ceiling: PolicyProfile;
  /** The profile the ledger's plugin_sandbox names; undefined when none or not installed. */
  requested?: PolicyProfile;
  options: LedgerOptions;
  /** Profiles by name, to find the seccomp body of the one a grant names. */
  byName: Map<string, PolicyProfile>;
}

export interface PolicySources {
  root: string;
  env: NodeJS.ProcessEnv;
  /** --profile: a name or a file; else SANDBOXCTL_PROFILE; else strict. */
  profile?: string;
  profilesDir?: string;
  /** The ledger's options (or --ledger-option pairs), all of them: ours are picked out. */
  ledgerOptions?: Readonly<Record<string, string>>;
  ledgerOptionsSource?: string;
}

async function withSeccomp(p: LoadedProfile): Promise<PolicyProfile> {
  return { ...p, seccompChecked: await loadSeccomp(p.seccompFile) };
}

export async function loadPolicy(src: PolicySources): Promise<LoadedPolicy> {
  const where = profileLocations(src.root, src.env, src.profilesDir);
  const ceiling = await withSeccomp(await loadProfile(src.profile ?? src.env[PROFILE_ENV] ?? DEFAULT_PROFILE, where));
  const options = parseLedgerOptions(src.ledgerOptions ?? {}, src.ledgerOptionsSource);
  const byName = new Map([[ceiling.profile.name, ceiling]]);
  let requested: PolicyProfile | undefined;
  if (options.sandbox !== undefined && options.sandbox !== ceiling.profile.name) {
    // a name that is not installed is reported by policy (the ceiling applies); a broken file is an error
    requested = await loadProfile(options.sandbox, where).then(withSeccomp, (err: unknown) => {
      if (err instanceof UsageError) return undefined;
      throw err;
    });
    if (requested) byName.set(requested.profile.name, requested);
  }
  return { ceiling, requested, options, byName };
}
