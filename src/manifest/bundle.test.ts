import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, UsageError } from '../errors.js';
import { codeDigest } from './bundle-digest.js';
import { loadBundle } from './bundle.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-bundle-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const manifest = (extra = '') => `apiVersion: sandboxctl/v1\nname: acme.x\nversion: 1.0.0\nruntime: python\nentrypoint: pkg/x.py\n${extra}`;

describe('loadBundle', () => {
  it('reads the manifest and every file, and digests them', async () => {
    await mkdir(path.join(dir, 'pkg'));
    await writeFile(path.join(dir, 'pkg', 'x.py'), '__plugins__ = ()\n');
    await writeFile(path.join(dir, 'plugin.yaml'), manifest());
    const b = await loadBundle(dir);
    expect(b.manifest.name).toBe('acme.x');
    expect(b.files.map((f) => f.path).sort()).toEqual(['pkg/x.py', 'plugin.yaml']);
    expect(b.digest).not.toBe(b.codeDigest);
    expect(b.codeDigest).toBe(codeDigest(b.files));
  });

  it('refuses a bundle whose files differ from the pinned digest, saying both digests', async () => {
    await mkdir(path.join(dir, 'pkg'));
    await writeFile(path.join(dir, 'pkg', 'x.py'), 'pass\n');
    await writeFile(path.join(dir, 'plugin.yaml'), manifest(`integrity: {bundleDigest: "sha256:${'0'.repeat(64)}"}\n`));
    const err = await loadBundle(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues).toEqual([
      expect.objectContaining({ path: 'integrity.bundleDigest', expected: `sha256:${'0'.repeat(64)}`, found: expect.stringMatching(/^sha256:/) }),
    ]);
  });

  it('accepts a bundle matching its pinned digest', async () => {
    await mkdir(path.join(dir, 'pkg'));
    await writeFile(path.join(dir, 'pkg', 'x.py'), 'pass\n');
    await writeFile(path.join(dir, 'plugin.yaml'), manifest());
    const { codeDigest: d } = await loadBundle(dir);
    await writeFile(path.join(dir, 'plugin.yaml'), manifest(`integrity: {bundleDigest: "${d}"}\n`));
    await expect(loadBundle(dir)).resolves.toMatchObject({ codeDigest: d });
  });

  it('refuses a missing entrypoint and a symlink that could reach outside', async () => {
    await writeFile(path.join(dir, 'plugin.yaml'), manifest());
    await expect(loadBundle(dir)).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'entrypoint', found: 'no such file' })] });
    await mkdir(path.join(dir, 'pkg'));
    await symlink('/etc/passwd', path.join(dir, 'pkg', 'x.py'));
    await expect(loadBundle(dir)).rejects.toMatchObject({ issues: [expect.objectContaining({ path: 'pkg/x.py', found: 'a symbolic link' })] });
  });

  it('says plainly when the directory or its plugin.yaml is missing', async () => {
    await expect(loadBundle(path.join(dir, 'nope'))).rejects.toBeInstanceOf(UsageError);
    await expect(loadBundle(dir)).rejects.toThrow(/plugin\.yaml cannot be read/);
  });
});
