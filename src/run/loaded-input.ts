// The "loaded" input encoding of a Python plugin (docs/protocol.md, "Input encodings"): after
// the header, the trusted loader's pickle of its directives (its "loaded" line, forwarded as
// it came), then runs of references into it and, in full, the directives plugins made or
// changed. The runner checks the pickle's format before reading it; the host offers the
// encoding only to containers made from the loader's own image, so the two always match.
import type { Directive } from '../ledger/directive-schema.js';
import { referenceLines } from '../protocol/loaded-message.js';
import { batchLines } from './input-batches.js';

export interface LoadedInput {
  /** The loader's "loaded" line, as it sent it (without the newline). */
  line: string;
  /** Each of the loader's own directives, unchanged, by its index in what the loader sent. */
  index: ReadonlyMap<Directive, number>;
}

/**
 * True when a plugin's image is the loader's runner image or was built on it (same Python,
 * pickle, codec). `runnerId`: the runner image a bundle's image was built on, as
 * ensurePluginImage built it (and as its image's RUNNER_ID_LABEL says).
 */
export function readsLoaderPickle(pluginImage: { id: string; runnerId?: string }, loaderImageId: string): boolean {
  return pluginImage.id === loaderImageId || pluginImage.runnerId === loaderImageId;
}

// error-only plugins that share an input (one list) are sent the same bytes
const bodies = new WeakMap<readonly Directive[], Buffer[]>();

/** The input after the header: the pickle's line, then references and directives. */
export function loadedInputBody(input: readonly Directive[], loaded: LoadedInput): Buffer[] {
  let chunks = bodies.get(input);
  if (!chunks) {
    chunks = [Buffer.from(`${loaded.line}\n`), ...batchLines(referenceLines(input, loaded.index))];
    bodies.set(input, chunks);
  }
  return chunks;
}
