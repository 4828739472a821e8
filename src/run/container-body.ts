// The container create body for one plugin execution: the policy's spec, plus what
// the host side needs to stream through it. Pure.
import type { CreateContainerBody } from '../engine/engine.js';
import { Labels, ourLabels } from '../labels.js';

export interface RunIdentity {
  runId: string;
  plugin: string;
  /** The image ID (sha256:...) to run: an ID, not a tag, so what runs is what was checked. */
  imageId: string;
  /** Owner process id (defaults to this process); gc removes objects whose owner is gone. */
  ownerPid?: number;
}

/**
 * Overlays the stdio settings the protocol needs (stdin open and closed once, no TTY:
 * a TTY would merge stdout and stderr and translate newlines) and our labels on the
 * spec; everything else, hardening included, is the spec's.
 */
export function pluginContainerBody(spec: CreateContainerBody, id: RunIdentity): CreateContainerBody {
  const labels = ourLabels('plugin', id.runId, { [Labels.plugin]: id.plugin, [Labels.image]: id.imageId });
  if (id.ownerPid !== undefined) labels[Labels.owner] = String(id.ownerPid);
  return {
    ...spec,
    Image: id.imageId,
    Labels: { ...spec.Labels, ...labels },
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    HostConfig: { ...spec.HostConfig, AutoRemove: false },
  };
}
