// A deterministic digest of a plugin bundle: relative paths and contents, nothing else
// (no mtimes, owners or order of reading). Pure; bundle.ts does the reading.
import { createHash } from 'node:crypto';

export interface BundleFile {
  /** Relative to the bundle root, '/'-separated. */
  path: string;
  content: Uint8Array;
}

/** sha256 over each file (sorted by path bytes) as `path NUL length NUL content`. */
export function bundleDigest(files: readonly BundleFile[]): string {
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
  const h = createHash('sha256');
  for (let i = 0; i < sorted.length; i++) {
    const f = sorted[i]!;
    if (i > 0 && sorted[i - 1]!.path === f.path) throw new TypeError(`bundle file ${JSON.stringify(f.path)} listed twice`);
    h.update(`${f.path}\0${f.content.length}\0`);
    h.update(f.content);
  }
  return `sha256:${h.digest('hex')}`;
}

/**
 * The digest a manifest's `integrity.bundleDigest` pins: every file but plugin.yaml itself
 * (a file cannot contain its own hash). The manifest is checked separately, by policy.
 */
export function codeDigest(files: readonly BundleFile[], manifestFile = 'plugin.yaml'): string {
  return bundleDigest(files.filter((f) => f.path !== manifestFile));
}
