// Where a granted plugin runs: in its own container, or in the trusted session that loaded
// the ledger. Only Beancount's own builtins may run in the session, and only where the
// profile they are granted under says so. A builtin is recognised by what the bundle is,
// never by its name: a first-party bundle from the install's plugins/ folder whose bytes
// are exactly the ones shipped (pinned in first-party-bundles.ts). Pure.
import type { Manifest } from '../manifest/schema.js';
import { FIRST_PARTY_BUNDLES } from './first-party-bundles.js';
import type { Profile } from './profile-schema.js';

export type Isolation = 'session' | 'container';

/** Beancount's builtin plugins are the modules of this package, installed in the runner image. */
export const BUILTIN_MODULE_PREFIX = 'beancount.plugins.';

export interface BundleFacts {
  manifest: Manifest;
  /** sha256 of every bundle file, plugin.yaml included. */
  digest: string;
  /** Whether the bundle is a folder directly in the install's plugins/ folder (checked by real path). */
  fromInstall: boolean;
}

export type BuiltinCheck = { builtin: true } | { builtin: false; reason: string };

/** Whether a bundle is one of Beancount's builtins as shipped with this install. */
export function recognizeBuiltin(b: BundleFacts, pinned: Readonly<Record<string, string>> = FIRST_PARTY_BUNDLES): BuiltinCheck {
  const m = b.manifest;
  if (!b.fromInstall) return { builtin: false, reason: "not a bundle from the install's plugins/ folder" };
  const expected = pinned[m.name];
  if (expected === undefined) return { builtin: false, reason: `${m.name} is not one of the first-party bundles shipped with sandboxctl` };
  if (b.digest !== expected) return { builtin: false, reason: `the bundle differs from the shipped one (${b.digest}, shipped ${expected})` };
  // the pinned bytes say all of this; checked again so a wrong pin cannot widen anything
  if (m.runtime !== 'python' || m.module !== m.name || !m.module.startsWith(BUILTIN_MODULE_PREFIX) || m.entrypoint !== undefined) {
    return { builtin: false, reason: "the bundle does not run an installed beancount.plugins module under the module's own name" };
  }
  return { builtin: true };
}

export interface IsolationDecision {
  isolation: Isolation;
  /** Why, in words for `plan`, `plugin inspect` and logs. */
  reason: string;
}

/** Where a plugin granted under `profile` runs. */
export function decideIsolation(profile: Pick<Profile, 'name' | 'builtins'>, check: BuiltinCheck): IsolationDecision {
  if (!check.builtin) return { isolation: 'container', reason: `its own container: ${check.reason}` };
  if (profile.builtins === 'session') {
    return { isolation: 'session', reason: `the trusted session: a Beancount builtin as shipped, and profile ${profile.name} runs builtins there (builtins: session)` };
  }
  return { isolation: 'container', reason: `its own container: profile ${profile.name} runs builtins each in its own container (builtins: container)` };
}
