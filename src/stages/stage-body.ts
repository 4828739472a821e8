// The container body of a trusted stage (loader, finalizer, printer). The code is ours
// and Beancount's, but the ledger it reads is input: the stage gets no network, a
// read-only root, no capabilities, a non-root user, caps, and the ledger read-only.
import type { CreateContainerBody } from '../engine/engine.js';
import { ourLabels, type ObjectKind } from '../labels.js';
import { LEDGER_MOUNT } from '../spec/container-spec.js';

export { LEDGER_MOUNT };

export interface StageBodyOptions {
  imageId: string;
  cmd: string[];
  kind: ObjectKind;
  runId: string;
  /** Host directory mounted read-only at /ledger (the loader only). */
  ledgerDir?: string;
  memoryBytes: number;
  nanoCpus: number;
  /** The seccomp profile's JSON body; omitted = the engine's default profile. */
  seccomp?: string;
  runtime?: string;
  /** uid:gid to run as; never root. @default 65532:65532 */
  user?: string;
}

export function stageBody(o: StageBodyOptions): CreateContainerBody {
  if (o.user && /^0:|:0$/.test(o.user)) throw new TypeError(`a stage never runs as root (asked: ${o.user})`);
  const securityOpt = ['no-new-privileges'];
  if (o.seccomp) securityOpt.push(`seccomp=${o.seccomp}`);
  return {
    Image: o.imageId,
    Cmd: o.cmd,
    User: o.user ?? '65532:65532',
    WorkingDir: '/tmp',
    Env: ['LANG=C.UTF-8'],
    Labels: ourLabels(o.kind, o.runId),
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      Mounts: o.ledgerDir ? [{ Type: 'bind', Source: o.ledgerDir, Target: LEDGER_MOUNT, ReadOnly: true, BindOptions: { Propagation: 'rprivate' } }] : [],
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=16m' },
      CapDrop: ['ALL'],
      SecurityOpt: securityOpt,
      Privileged: false,
      Memory: o.memoryBytes,
      MemorySwap: o.memoryBytes,
      NanoCpus: o.nanoCpus,
      PidsLimit: 32,
      IpcMode: 'private',
      Init: true,
      LogConfig: { Type: 'none' },
      ...(o.runtime ? { Runtime: o.runtime } : {}),
    },
  };
}
