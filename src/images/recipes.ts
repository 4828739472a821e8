import { createHash } from 'node:crypto';

// What sandboxctl builds, and how each image's tag is derived from its inputs.
// Pure: file contents and the base image id are passed in.

export const IMAGE_REPO = 'sandboxctl';

export interface BaseRecipe {
  /** Tried first when a registry answers. */
  pullRef: string;
  suite: string;
  variant: string;
  mirror: string;
}

export const DEFAULT_BASE: BaseRecipe = {
  pullRef: 'debian:bookworm-slim',
  suite: 'bookworm',
  variant: 'minbase',
  mirror: 'http://deb.debian.org/debian',
};

/** Runner images are built FROM the base, from images/<dir>/Dockerfile. */
export const RUNNERS = {
  python: { dir: 'python-runner', repo: `${IMAGE_REPO}/python-runner` },
  node: { dir: 'node-runner', repo: `${IMAGE_REPO}/node-runner` },
} as const;
export type RunnerName = keyof typeof RUNNERS;

export interface ContextFile {
  /** Path relative to the context root, '/'-separated. */
  path: string;
  content: Buffer;
  mode: number;
}

/** A deterministic digest of a set of files: paths, modes' exec bit and contents. */
export function digestFiles(files: readonly ContextFile[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    h.update(`${f.path}\0${f.mode & 0o111 ? 'x' : '-'}\0${f.content.length}\0`);
    h.update(f.content);
  }
  return h.digest('hex');
}

function shortHash(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p + '\0');
  return h.digest('hex').slice(0, 16);
}

// The base's tag names its recipe: the same recipe is not rebuilt, a changed one is.
export function baseTag(recipe: BaseRecipe): string {
  return `${IMAGE_REPO}/base:${recipe.suite}-${shortHash('base/v1', recipe.suite, recipe.variant)}`;
}

export function runnerTag(runner: RunnerName, baseImageId: string, contextDigest: string): string {
  return `${RUNNERS[runner].repo}:${shortHash('runner/v1', baseImageId, contextDigest)}`;
}
