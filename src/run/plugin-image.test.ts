import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SandboxViolation } from '../errors.js';
import { loadBundle } from '../manifest/bundle.js';
import type { Engine, ImageInfo } from '../engine/engine.js';
import { assertBundleUnchanged, pluginDockerfile, pluginImageTag, pluginRepo, resolvePinnedImage, runnerCommand } from './plugin-image.js';

const ID = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;

describe('plugin image naming', () => {
  it('makes a valid repository name from any plugin name', () => {
    expect(pluginRepo('acme.tag-large')).toBe('sandboxctl/plugin-acme.tag-large');
    expect(pluginRepo('beancount.plugins.implicit_prices')).toBe('sandboxctl/plugin-beancount.plugins.implicit_prices');
    expect(pluginRepo('_Weird__Name-')).toBe('sandboxctl/plugin-weird-name');
  });

  it('tags by bundle, runner and command: any change is a new tag', () => {
    const t = pluginImageTag('a.b', 'sha256:1', ID, ['x']);
    expect(t).toMatch(/^sandboxctl\/plugin-a\.b:[0-9a-f]{24}$/);
    expect(pluginImageTag('a.b', 'sha256:1', ID, ['x'])).toBe(t);
    expect(pluginImageTag('a.b', 'sha256:2', ID, ['x'])).not.toBe(t);
    expect(pluginImageTag('a.b', 'sha256:1', OTHER, ['x'])).not.toBe(t);
    expect(pluginImageTag('a.b', 'sha256:1', ID, ['y'])).not.toBe(t);
  });

  it('writes a Dockerfile with the runner, the bundle and the plugin command', () => {
    expect(pluginDockerfile('sandboxctl/python-runner:abc', runnerCommand({ name: 'acme.x', runtime: 'python', entrypoint: 'pkg/main.py' }))).toBe(
      'FROM sandboxctl/python-runner:abc\nCOPY --chown=0:0 bundle/ /plugin/\nCMD ["plugin","--bundle","/plugin","--entrypoint","pkg/main.py","--name","acme.x"]\n',
    );
  });

  it('runs a module shipped in the runner image when the manifest names one', () => {
    expect(runnerCommand({ name: 'beancount.plugins.auto', runtime: 'python', module: 'beancount.plugins.auto' })).toEqual(['plugin', '--module', 'beancount.plugins.auto']);
    expect(runnerCommand({ name: 'acme.js', runtime: 'node', entrypoint: 'index.js' })).toEqual(['plugin', '--bundle', '/plugin', '--entrypoint', 'index.js']);
  });
});

describe('assertBundleUnchanged', () => {
  it('refuses a bundle edited after its manifest was checked', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-bundle-'));
    try {
      await writeFile(path.join(dir, 'plugin.yaml'), 'apiVersion: sandboxctl/v1\nname: acme.x\nversion: 1.0.0\nruntime: python\nentrypoint: p.py\n');
      await writeFile(path.join(dir, 'p.py'), '__plugins__ = []\n');
      const bundle = await loadBundle(dir);
      await assertBundleUnchanged(bundle);
      await writeFile(path.join(dir, 'p.py'), '__plugins__ = []\nimport os\n');
      const err = await assertBundleUnchanged(bundle).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SandboxViolation);
      expect((err as SandboxViolation).kind).toBe('bundle-changed');
      expect((err as SandboxViolation).message).toMatch(/changed after its manifest was checked/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('resolvePinnedImage', () => {
  const image = (id: string): ImageInfo => ({ id, tags: ['acme/x:1'], labels: {}, created: '', size: 1 });
  const engineWith = (found: Record<string, ImageInfo>) => ({ inspectImage: async (ref: string) => found[ref] }) as unknown as Engine;

  it('accepts the image whose ID is pinned', async () => {
    expect((await resolvePinnedImage(engineWith({ [ID]: image(ID) }), 'acme.x', ID)).id).toBe(ID);
  });

  it('refuses a tag that now names another image', async () => {
    const err = await resolvePinnedImage(engineWith({ 'acme/x:1': image(OTHER) }), 'acme.x', ID, 'acme/x:1').catch((e: unknown) => e);
    expect((err as SandboxViolation).kind).toBe('image-mismatch');
    expect((err as SandboxViolation).message).toMatch(/has ID sha256:b+, but the manifest pins sha256:a+/);
  });

  it('refuses when no local image has the pinned ID', async () => {
    const err = await resolvePinnedImage(engineWith({}), 'acme.x', ID).catch((e: unknown) => e);
    expect((err as SandboxViolation).kind).toBe('image-mismatch');
  });
});
