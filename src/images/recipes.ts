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

/**
 * sandboxctl's own image, for running it from docker-compose (compose/compose.yaml): the
 * host's Node binary and the installed app, FROM the base; built offline like the runners.
 */
export const APP_IMAGE = { dir: 'sandboxctl', repo: `${IMAGE_REPO}/sandboxctl`, kind: 'sandboxctl', current: 'current' } as const;

export function appTag(baseImageId: string, inputsDigest: string): string {
  return `${APP_IMAGE.repo}:${shortHash('sandboxctl/v1', baseImageId, inputsDigest)}`;
}

/** The tag compose/compose.yaml names: moved to the image of the last build. */
export const APP_CURRENT_TAG = `${APP_IMAGE.repo}:${APP_IMAGE.current}`;

/** Production packages of a package-lock.json (v2/v3), nested ones included: what the app image needs in node_modules. */
export function productionPackages(lock: { packages?: Record<string, { dev?: boolean; devOptional?: boolean; version?: string; integrity?: string }> }): Array<{ path: string; version: string; integrity: string }> {
  return Object.entries(lock.packages ?? {})
    .filter(([p, v]) => p.startsWith('node_modules/') && !v.dev)
    .map(([p, v]) => ({ path: p, version: v.version ?? '', integrity: v.integrity ?? '' }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
