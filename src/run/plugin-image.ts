// The image a plugin runs from: its runner image plus its bundle, built once and tagged
// by content. The build context is made from the bundle files read when the manifest
// was checked (not read again), so the image holds exactly what was reviewed; the
// bundle directory is re-read first and a change since the check refuses the run.
// `runtime: image` plugins run a local image pinned by ID instead.
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tarFs from 'tar-fs';
import type { Engine, ImageInfo } from '../engine/engine.js';
import { NotReadyError, SandboxViolation } from '../errors.js';
import type { Logger } from '../logger.js';
import { Labels } from '../labels.js';
import { bundleDigest } from '../manifest/bundle-digest.js';
import { readBundleFiles, type Bundle } from '../manifest/bundle.js';

/** Label value of `io.sandboxctl.kind` on plugin images; `gc --images` removes them. */
export const PLUGIN_IMAGE_KIND = 'plugin-image';
export const BUNDLE_DIGEST_LABEL = `${Labels.image}.bundle-digest`;
export const RUNNER_ID_LABEL = `${Labels.image}.runner`;

export interface PluginImage {
  /** The image ID (sha256:...) the container is created from. */
  id: string;
  /** A human name for it (the content tag, or the pinned ref). */
  ref: string;
  /** True when this call built it (false: reused). */
  built: boolean;
  bundleDigest: string | null;
}

/** Docker repository components allow [a-z0-9] separated by '.', '_', '__' or dashes. */
export function pluginRepo(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/[._-]{2,}/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 100);
  return `sandboxctl/plugin-${cleaned || 'unnamed'}`;
}

/** The tag names the bundle and the runner it was built on: a change to either is a new image. */
export function pluginImageTag(name: string, digest: string, runnerId: string, cmd: readonly string[]): string {
  const h = createHash('sha256').update(`plugin-image/v1\0${digest}\0${runnerId}\0${JSON.stringify(cmd)}`).digest('hex');
  return `${pluginRepo(name)}:${h.slice(0, 24)}`;
}

/**
 * What the runner is told to run: its plugin stage on the bundle's entrypoint (named, so
 * the runner imports it while the input is still arriving), or on a module that ships
 * in the runner image.
 */
export function runnerCommand(m: Pick<Bundle['manifest'], 'name' | 'entrypoint' | 'module' | 'runtime'>): string[] {
  if (m.module) return ['plugin', '--module', m.module];
  if (!m.entrypoint) throw new TypeError(`manifest of ${m.name} has neither entrypoint nor module`);
  return m.runtime === 'python'
    ? ['plugin', '--bundle', '/plugin', '--entrypoint', m.entrypoint, '--name', m.name]
    : ['plugin', '--bundle', '/plugin', '--entrypoint', m.entrypoint];
}

/** The generated Dockerfile: the runner, the bundle read-only to the plugin user, its command. */
export function pluginDockerfile(runnerRef: string, cmd: readonly string[]): string {
  return [
    `FROM ${runnerRef}`,
    // root-owned, world-readable: the plugin (uid 65532) can read its code but never change it
    'COPY --chown=0:0 bundle/ /plugin/',
    `CMD ${JSON.stringify(cmd)}`,
    '',
  ].join('\n');
}

/** Refuses when the bundle on disk is no longer the one whose manifest was checked. */
export async function assertBundleUnchanged(bundle: Pick<Bundle, 'dir' | 'digest' | 'manifest'>): Promise<void> {
  const now = bundleDigest(await readBundleFiles(bundle.dir));
  if (now !== bundle.digest) {
    throw new SandboxViolation(
      'bundle-changed',
      `plugin ${bundle.manifest.name}: the bundle ${bundle.dir} changed after its manifest was checked (checked ${bundle.digest}, now ${now})`,
      { hint: 'run the command again so the changed bundle is checked (and reviewed) before it runs', details: { checked: bundle.digest, found: now } },
    );
  }
}

export interface EnsurePluginImageOptions {
  engine: Engine;
  bundle: Bundle;
  /** The runner image for the bundle's runtime (src/images/build.ts requireRunnerImage). */
  runner: ImageInfo;
  logger: Logger;
}

/** Builds the plugin's image unless an image with its content tag exists; refuses a changed bundle. */
export async function ensurePluginImage(opts: EnsurePluginImageOptions): Promise<PluginImage> {
  const { engine, bundle, runner } = opts;
  const m = bundle.manifest;
  if (m.runtime === 'image') throw new TypeError('ensurePluginImage is for python and node bundles; use resolvePinnedImage');
  await assertBundleUnchanged(bundle);
  const cmd = runnerCommand(m);
  const tag = pluginImageTag(m.name, bundle.digest, runner.id, cmd);
  const log = opts.logger.child({ plugin: m.name, image: tag });
  const existing = await engine.inspectImage(tag);
  if (existing && existing.labels[BUNDLE_DIGEST_LABEL] === bundle.digest && existing.labels[RUNNER_ID_LABEL] === runner.id) {
    log.debug('plugin image present');
    return { id: existing.id, ref: tag, built: false, bundleDigest: bundle.digest };
  }
  const runnerRef = runner.tags[0] ?? runner.id;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sandboxctl-bundle-'));
  try {
    // the context is written from the checked bytes, never copied from the bundle directory
    await writeFile(path.join(dir, 'Dockerfile'), pluginDockerfile(runnerRef, cmd), { mode: 0o644 });
    for (const f of bundle.files) {
      const target = path.join(dir, 'bundle', ...f.path.split('/'));
      await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
      await writeFile(target, f.content, { mode: 0o644 });
    }
    const context = tarFs.pack(dir, {
      map: (h) => ({ ...h, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0), mode: h.type === 'directory' ? 0o755 : 0o644 }),
    }) as unknown as NodeJS.ReadableStream;
    log.info('building the plugin image');
    const image = await engine.buildImage({
      context,
      tag,
      labels: {
        [Labels.managed]: 'true',
        [Labels.kind]: PLUGIN_IMAGE_KIND,
        [Labels.plugin]: m.name,
        [BUNDLE_DIGEST_LABEL]: bundle.digest,
        [RUNNER_ID_LABEL]: runner.id,
      },
    });
    return { id: image.id, ref: tag, built: true, bundleDigest: bundle.digest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function normaliseId(id: string): string {
  return id.startsWith('sha256:') ? id : `sha256:${id}`;
}

/** `runtime: image`: the pinned image must be present locally with exactly that ID. */
export async function resolvePinnedImage(engine: Engine, plugin: string, pinnedId: string, ref: string = pinnedId): Promise<PluginImage> {
  const want = normaliseId(pinnedId);
  const img = await engine.inspectImage(ref);
  if (!img && ref === pinnedId) {
    throw new SandboxViolation('image-mismatch', `plugin ${plugin}: no local image has the pinned ID ${want}`, {
      hint: 'load the reviewed image (docker load -i FILE); sandboxctl never pulls. If the image was rebuilt, review it and update image.id in plugin.yaml',
      details: { plugin, pinned: want, found: null },
    });
  }
  if (!img) {
    throw new NotReadyError(`plugin ${plugin}: its image ${ref} is not present on this engine`, {
      hint: 'load the reviewed image (docker load -i FILE); sandboxctl never pulls',
      details: { plugin, pinned: want },
    });
  }
  if (normaliseId(img.id) !== want) {
    throw new SandboxViolation('image-mismatch', `plugin ${plugin}: the local image ${ref} has ID ${img.id}, but the manifest pins ${want}`, {
      hint: 'the image changed since it was reviewed; load the reviewed image, or review the new one and update image.id in plugin.yaml',
      details: { plugin, pinned: want, found: img.id },
    });
  }
  return { id: img.id, ref, built: false, bundleDigest: null };
}
