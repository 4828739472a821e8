import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.js';
import { parseManifest } from './parse.js';

const MINIMAL = `apiVersion: sandboxctl/v1
name: acme.tag-large
version: 1.2.0
runtime: python
entrypoint: tag_large.py
`;

function issuesOf(text: string) {
  try {
    parseManifest(text, '/b/plugin.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    const e = err as InvalidInputError;
    expect(e.file).toBe('/b/plugin.yaml');
    return e.issues;
  }
  throw new Error('expected the manifest to be rejected');
}

describe('parseManifest', () => {
  it('fills every omitted field with the safe default: nothing asked for', () => {
    const m = parseManifest(MINIMAL, 'plugin.yaml');
    expect(m.capabilities).toEqual({ ledger: 'none', network: 'none', scratch: 'none', env: [], effects: [] });
    expect(m.resources).toEqual({ memory: '128Mi', cpus: 0.5, timeout: '30s', pids: 64 });
    expect(m.integrity).toEqual({});
  });

  it('accepts the documented full shape and dotted Python module names', () => {
    const m = parseManifest(
      `apiVersion: sandboxctl/v1
name: beancount.plugins.implicit_prices
version: 2.3.5-rc.1+debian
description: adds price entries
runtime: python
entrypoint: pkg/implicit_prices.py
capabilities:
  ledger: read
  network: none
  scratch: 16Mi
  env: [TZ, LANG]
  effects: [add, modify]
resources: {memory: 64MB, cpus: 1, timeout: 2m, pids: 32}
integrity:
  bundleDigest: sha256:${'a'.repeat(64)}
`,
      'plugin.yaml',
    );
    expect(m.name).toBe('beancount.plugins.implicit_prices');
    expect(m.capabilities.effects).toEqual(['add', 'modify']);
    expect(m.resources.memory).toBe('64MB');
  });

  it('accepts runtime image pinned by ID, without an entrypoint', () => {
    const m = parseManifest(`apiVersion: sandboxctl/v1\nname: x\nversion: 1.0.0\nruntime: image\nimage: {id: "sha256:${'b'.repeat(64)}"}\n`, 'p');
    expect(m.image?.id).toMatch(/^sha256:b+$/);
  });

  it('rejects unknown keys at every level, naming the key and its line', () => {
    const issues = issuesOf(MINIMAL + 'capabilites: {}\ncapabilities:\n  netwrk: egress\n');
    expect(issues).toEqual([
      expect.objectContaining({ path: 'capabilites', found: 'unknown key "capabilites"', message: expect.stringMatching(/^line 6: /) }),
      expect.objectContaining({ path: 'capabilities.netwrk', found: 'unknown key "netwrk"', message: expect.stringMatching(/^line 8: /) }),
    ]);
  });

  it('names the field, what was expected and what was found, for every problem at once', () => {
    const issues = issuesOf(`apiVersion: sandboxctl/v2
name: "../evil"
version: 1.2
runtime: python
entrypoint: /etc/passwd
capabilities: {network: internet, effects: [add, add, delete], scratch: lots}
resources: {memory: huge, timeout: 30, pids: 0}
`);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    expect(Object.keys(byPath).sort()).toEqual(
      [
        'apiVersion',
        'name',
        'version',
        'entrypoint',
        'capabilities.network',
        'capabilities.effects.2',
        'capabilities.scratch',
        'resources.memory',
        'resources.timeout',
        'resources.pids',
      ].sort(),
    );
    expect(byPath['capabilities.network']).toMatchObject({ expected: 'one of "none" | "egress"', found: '"internet"', message: 'line 6: expected one of "none" | "egress", found "internet"' });
    expect(byPath.version).toMatchObject({ expected: 'string', found: '1.2' });
    expect(byPath.entrypoint?.message).toMatch(/relative path inside the bundle.*found "\/etc\/passwd"/);
    expect(byPath['resources.timeout']?.message).toMatch(/expected a duration such as/);
    expect(byPath['resources.pids']).toMatchObject({ expected: '>= 1', found: '0' });
  });

  it('refuses a capability listed twice', () => {
    expect(issuesOf(MINIMAL + 'capabilities: {effects: [add, add], env: [TZ, TZ]}\n')).toEqual([
      expect.objectContaining({ path: 'capabilities.env.1', message: expect.stringMatching(/environment variable listed twice, found "TZ"/) }),
      expect.objectContaining({ path: 'capabilities.effects.1', message: expect.stringMatching(/effect listed twice, found "add"/) }),
    ]);
  });

  it('accepts a builtin Python module instead of an entrypoint', () => {
    const m = parseManifest(MINIMAL.replace('entrypoint: tag_large.py', 'module: beancount.plugins.leafonly'), 'p');
    expect(m.module).toBe('beancount.plugins.leafonly');
    expect(issuesOf(MINIMAL + 'module: beancount.plugins.leafonly\n').map((i) => i.message)).toEqual([expect.stringMatching(/entrypoint or module, not both/)]);
  });

  it.each(['../x.py', 'a/../../x.py', './x.py', '.hidden.py', 'a//b.py', 'C:\\x.py'])('refuses entrypoint %j', (ep) => {
    const issues = issuesOf(MINIMAL.replace('tag_large.py', JSON.stringify(ep)));
    expect(issues.map((i) => i.path)).toEqual(['entrypoint']);
  });

  it('requires an entrypoint for python/node and an image for runtime image, and never both', () => {
    expect(issuesOf(MINIMAL.replace('entrypoint: tag_large.py\n', '')).map((i) => i.message)).toEqual([
      expect.stringMatching(/runtime python needs an entrypoint file/),
    ]);
    const img = issuesOf(MINIMAL.replace('runtime: python', 'runtime: image'));
    expect(img.map((i) => i.path).sort()).toEqual(['entrypoint', 'image']);
    const tag = issuesOf(`apiVersion: sandboxctl/v1\nname: x\nversion: 1.0.0\nruntime: image\nimage: {id: "python:3.11"}\n`);
    expect(tag).toEqual([expect.objectContaining({ path: 'image.id', message: expect.stringMatching(/image ID sha256:<64 hex digits>/) })]);
  });

  it('reports YAML syntax errors and duplicate keys with line and column', () => {
    const dup = issuesOf(MINIMAL + 'name: other\n');
    expect(dup[0]).toMatchObject({ path: '', expected: 'valid YAML', message: expect.stringMatching(/^line 6:1: /) });
    expect(issuesOf('name: [unclosed\n')[0]?.message).toMatch(/^line \d+:\d+: /);
  });

  it('treats an empty file as a manifest with nothing in it', () => {
    expect(issuesOf('').map((i) => i.path).sort()).toEqual(['apiVersion', 'name', 'runtime', 'version']);
  });
});
