// A plugin bundle from disk: every file read (for the digests in bundle-digest.ts that tag
// the plugin's image and catch a bundle changed since it was checked), the manifest
// valid, the entrypoint present, the pinned digest (if any) matching.
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, UsageError, type FieldIssue } from '../errors.js';
import { bundleDigest, codeDigest, type BundleFile } from './bundle-digest.js';
import { loadManifestFile } from './load.js';
import { MANIFEST_FILE } from './parse.js';
import type { Manifest } from './schema.js';

export const BUNDLE_LIMITS = { files: 2000, bytes: 64 * 1024 * 1024 } as const;

/** Every regular file under dir. Symlinks and special files are refused: they could reach outside. */
export async function readBundleFiles(dir: string): Promise<BundleFile[]> {
  const files: BundleFile[] = [];
  let bytes = 0;
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        const content = await readFile(path.join(dir, r));
        bytes += content.length;
        files.push({ path: r, content });
        if (files.length > BUNDLE_LIMITS.files || bytes > BUNDLE_LIMITS.bytes) {
          throw new InvalidInputError(dir, [
            { path: r, expected: `at most ${BUNDLE_LIMITS.files} files and ${BUNDLE_LIMITS.bytes} bytes`, found: `${files.length} files, ${bytes} bytes`, message: 'bundle too large' },
          ], { hint: 'a bundle holds the plugin code only; leave data and virtualenvs out' });
        }
      } else {
        const kind = e.isSymbolicLink() ? 'a symbolic link' : 'a special file';
        throw new InvalidInputError(dir, [{ path: r, expected: 'a regular file or directory', found: kind, message: `${r} is ${kind}` }], {
          hint: 'copy the file into the bundle instead of linking it',
        });
      }
    }
  };
  await walk('');
  return files;
}

export interface Bundle {
  /** Absolute path of the bundle directory. */
  dir: string;
  manifestFile: string;
  manifest: Manifest;
  files: BundleFile[];
  /** Digest of every file, plugin.yaml included: tags the plugin image, named in the audit. */
  digest: string;
  /** Digest of every file but plugin.yaml: what `integrity.bundleDigest` pins. */
  codeDigest: string;
}

/** Loads and checks a bundle: manifest valid, entrypoint present, pinned digest matching. */
export async function loadBundle(dirArg: string): Promise<Bundle> {
  const dir = path.resolve(dirArg);
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new UsageError(`${dirArg} is not a plugin bundle directory`, { hint: `pass the directory that holds ${MANIFEST_FILE}` });
  }
  const manifestFile = path.join(dir, MANIFEST_FILE);
  const manifest = await loadManifestFile(manifestFile);
  const files = await readBundleFiles(dir);
  const issues: FieldIssue[] = [];
  if (manifest.entrypoint !== undefined && !files.some((f) => f.path === manifest.entrypoint)) {
    issues.push({ path: 'entrypoint', expected: 'a regular file in the bundle', found: 'no such file', message: `${manifest.entrypoint} is not a file in ${dir}` });
  }
  const code = codeDigest(files, MANIFEST_FILE);
  const pinned = manifest.integrity.bundleDigest;
  if (pinned !== undefined && pinned !== code) {
    issues.push({
      path: 'integrity.bundleDigest',
      expected: pinned,
      found: code,
      message: 'the bundle files differ from the ones this manifest pins',
    });
  }
  if (issues.length > 0) {
    throw new InvalidInputError(manifestFile, issues, { hint: 'fix the entrypoint, or re-review the bundle and update integrity.bundleDigest' });
  }
  return { dir, manifestFile, manifest, files, digest: bundleDigest(files), codeDigest: code };
}
