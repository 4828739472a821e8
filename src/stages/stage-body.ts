// The container body of a trusted stage (loader, finalizer, printer). The code is ours
// and Beancount's, but the ledger it reads is input, so a stage is confined exactly like
// a plugin, by the same spec builder: its grant is fixed here instead of asked for.
import type { CreateContainerBody } from '../engine/engine.js';
import { ourLabels, type ObjectKind } from '../labels.js';
import type { Grant } from '../policy/grant.js';
import { buildContainerSpec, LEDGER_MOUNT } from '../blueprint/container-blueprint.js';
import type { CheckedSeccomp } from '../policy/seccomp.js';

export { LEDGER_MOUNT };

export interface StageBodyOptions {
  imageId: string;
  cmd: string[];
  kind: ObjectKind;
  runId: string;
  /** Host directory mounted read-only at /ledger (the loader only). */
  ledgerDir?: string;
  memoryBytes: number;
  timeoutMs: number;
  /** The admin profile's checked seccomp body. */
  seccomp: CheckedSeccomp;
  /** uid:gid to run as; never root. @default 65532:65532 */
  user?: string;
  /** Whether the host has AppArmor: the plugin profile applies to stages too. */
  apparmor: boolean;
  /** The ledger's directory also at its own host path, where the container does not need that path. */
  ledgerAtHostPath?: boolean;
}

export function stageGrant(o: Pick<StageBodyOptions, 'kind' | 'ledgerDir' | 'memoryBytes' | 'timeoutMs' | 'user' | 'apparmor'>): Grant {
  return {
    kind: 'grant',
    plugin: { name: `sandboxctl.${o.kind}`, version: '1', runtime: 'python' },
    profile: 'trusted-stage',
    ceilingProfile: 'trusted-stage',
    capabilities: { ledger: o.ledgerDir ? 'read' : 'none', network: 'none', scratchBytes: null, env: [], effects: ['add', 'modify', 'remove'] },
    limits: {
      memoryBytes: o.memoryBytes,
      // two: the session prints a large ledger in worker processes while it finalizes it
      // (images/python-runner/runner/sbx_runner/parallel_print.py); under one CPU of quota
      // they would only take turns with it, and it does not fork
      cpus: 2,
      timeoutMs: o.timeoutMs,
      pids: 32,
      outputBytes: Number.MAX_SAFE_INTEGER,
      lineBytes: 64 * 1024 * 1024,
      results: Number.MAX_SAFE_INTEGER,
      errors: Number.MAX_SAFE_INTEGER,
    },
    seccomp: 'admin profile',
    apparmor: {
      mode: 'if-available',
      profile: 'sandboxctl-plugin',
      apply: o.apparmor,
      reason: o.apparmor ? 'the host has AppArmor' : 'the host kernel has no AppArmor',
    },
    ociRuntime: 'runc',
    user: o.user ?? '65532:65532',
    notices: [],
  };
}

export function stageBody(o: StageBodyOptions): CreateContainerBody {
  const spec = buildContainerSpec({
    grant: stageGrant(o),
    image: o.imageId,
    seccomp: o.seccomp,
    labels: ourLabels(o.kind, o.runId),
    command: o.cmd,
    ledgerDir: o.ledgerDir,
    ...(o.ledgerAtHostPath ? { ledgerAtHostPath: true } : {}),
  });
  return spec.body;
}
