// The container spec a shipped profile gives a plugin, built exactly as `plan` and the
// run path build it (loadPolicy + planPlugin), for the hardening tests.
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { manifestSchema, type Manifest, type ManifestInput } from '../../../src/manifest/schema.js';
import type { HostFacts } from '../../../src/policy/grant.js';
import { loadPolicy, type LoadedPolicy } from '../../../src/policy/load-policy.js';
import { planPlugin } from '../../../src/blueprint/plan-plugin.js';
import type { ContainerSpec } from '../../../src/blueprint/container-blueprint.js';
import { Labels, ourLabels } from '../../../src/labels.js';
import { ROOT } from '../helpers/cli.js';
import { hostPathWorkDir } from '../helpers/work-dir.js';

export type ProfileName = 'strict' | 'standard' | 'permissive';
export const PROFILES: ProfileName[] = ['strict', 'standard', 'permissive'];

/** What each test plugin asks for: as much as its profile allows, minus egress (refused at policy level). */
export const ASKS: Record<ProfileName, Partial<ManifestInput>> = {
  strict: { capabilities: { scratch: '16Mi', effects: ['add'] }, resources: { memory: '128Mi', cpus: 0.5, timeout: '30s', pids: 64 } },
  standard: { capabilities: { ledger: 'read', scratch: '16Mi', effects: ['add'] }, resources: { memory: '128Mi', cpus: 1, timeout: '30s', pids: 48 } },
  permissive: { capabilities: { ledger: 'read', scratch: '16Mi', env: ['TZ'], effects: ['add'] }, resources: { memory: '128Mi', cpus: 1, timeout: '30s', pids: 40 } },
};

export function manifest(over: Partial<ManifestInput>): Manifest {
  return manifestSchema.parse({ apiVersion: 'sandboxctl/v1', name: 'test.hardening-probe', version: '1.0.0', runtime: 'python', entrypoint: 'probe.py', ...over });
}

export async function policyFor(profile: ProfileName): Promise<LoadedPolicy> {
  return loadPolicy({ root: ROOT, env: {}, profile });
}

/**
 * A ledger directory whose files any user could write, so only the read-only mounts stop a
 * write. It lives where the container can also mount it at its own host path (not /tmp).
 * Remove it with removeWorkDir.
 */
export async function writableLedgerDir(): Promise<string> {
  const dir = await hostPathWorkDir('sbx-ledger-');
  await writeFile(path.join(dir, 'main.beancount'), '2020-01-01 open Assets:Cash\n');
  await chmod(dir, 0o777);
  await chmod(path.join(dir, 'main.beancount'), 0o666);
  return dir;
}

export interface SpecOptions {
  profile: ProfileName;
  /** Force an OCI runtime by making the profile prefer (and require) it. */
  runtime?: 'runc' | 'runsc';
  host: HostFacts;
  image: string;
  runId: string;
  ledgerDir?: string;
  ask?: Partial<ManifestInput>;
  command?: string[];
}

export async function specFor(o: SpecOptions): Promise<ContainerSpec> {
  const policy = await policyFor(o.profile);
  if (o.runtime) {
    const p = { ...policy.ceiling, profile: { ...policy.ceiling.profile, runtime: { prefer: o.runtime, require: true } } };
    policy.ceiling = p;
    policy.byName.set(p.profile.name, p);
  }
  const plan = planPlugin({
    manifest: manifest(o.ask ?? ASKS[o.profile]),
    policy,
    host: o.host,
    image: o.image,
    labels: ourLabels('test', o.runId, { [Labels.plugin]: `hardening-${o.profile}` }),
    command: o.command,
    ledgerDir: o.ledgerDir,
    env: { TZ: 'UTC' },
  });
  if (plan.decision.kind === 'refusal') throw new Error(`refused: ${JSON.stringify(plan.decision.denials)}`);
  return plan.spec!;
}
