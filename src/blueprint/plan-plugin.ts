// One plugin's plan: policy decision, and for a grant the exact container spec. Shared
// by `sandboxctl plan` and the run path, so what plan prints is what runs. Pure.
import { InternalError } from '../errors.js';
import type { Decision, HostFacts } from '../policy/grant.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { resolve } from '../policy/resolve.js';
import type { Manifest } from '../manifest/schema.js';
import { buildContainerSpec, type ContainerSpec } from './container-blueprint.js';

export interface PlanInput {
  manifest: Manifest;
  policy: Pick<LoadedPolicy, 'ceiling' | 'requested' | 'options' | 'byName'>;
  host: HostFacts;
  image: string;
  labels: Record<string, string>;
  command?: string[];
  ledgerDir?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export interface Plan {
  decision: Decision;
  spec: ContainerSpec | null;
}

export function planPlugin(input: PlanInput): Plan {
  const { policy } = input;
  const decision = resolve({
    manifest: input.manifest,
    profile: policy.ceiling.profile,
    ledger: { options: policy.options, requestedProfile: policy.requested?.profile },
    host: input.host,
  });
  if (decision.kind === 'refusal') return { decision, spec: null };
  const chosen = policy.byName.get(decision.profile);
  if (!chosen) throw new InternalError(`profile ${decision.profile} was granted but not loaded`);
  const spec = buildContainerSpec({
    grant: decision,
    image: input.image,
    seccomp: chosen.seccompChecked,
    labels: input.labels,
    command: input.command,
    ledgerDir: decision.capabilities.ledger === 'read' ? input.ledgerDir : undefined,
    // a plugin's config may name files by host path (merge_meta): they resolve where that path is free
    ledgerAtHostPath: true,
    env: input.env,
  });
  return { decision, spec };
}
