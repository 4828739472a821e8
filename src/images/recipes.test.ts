import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE, appTag, baseTag, digestFiles, productionPackages, runnerTag } from './recipes.js';

const f = (path: string, content: string, mode = 0o644) => ({ path, content: Buffer.from(content), mode });

describe('image recipes', () => {
  it('digests files independently of their order', () => {
    expect(digestFiles([f('a', '1'), f('b', '2')])).toBe(digestFiles([f('b', '2'), f('a', '1')]));
  });
  it('changes the digest when a content, a path or an exec bit changes', () => {
    const d = digestFiles([f('a', '1')]);
    expect(digestFiles([f('a', '2')])).not.toBe(d);
    expect(digestFiles([f('b', '1')])).not.toBe(d);
    expect(digestFiles([f('a', '1', 0o755)])).not.toBe(d);
  });
  it('does not confuse a boundary between path and content', () => {
    expect(digestFiles([f('ab', 'c')])).not.toBe(digestFiles([f('a', 'bc')]));
  });
  it('tags runners by base id and inputs', () => {
    const t = runnerTag('python', 'sha256:1', 'x');
    expect(t).toMatch(/^sandboxctl\/python-runner:[0-9a-f]{16}$/);
    expect(runnerTag('python', 'sha256:2', 'x')).not.toBe(t);
    expect(runnerTag('python', 'sha256:1', 'y')).not.toBe(t);
    expect(baseTag(DEFAULT_BASE)).toMatch(/^sandboxctl\/base:bookworm-[0-9a-f]{16}$/);
  });
});

describe('the sandboxctl image recipe', () => {
  it('tags by base id and inputs, in its own repository', () => {
    const t = appTag('sha256:1', 'x');
    expect(t).toMatch(/^sandboxctl\/sandboxctl:[0-9a-f]{16}$/);
    expect(appTag('sha256:2', 'x')).not.toBe(t);
    expect(appTag('sha256:1', 'y')).not.toBe(t);
  });
  it('takes the production packages of the lock, nested ones too, sorted, and leaves dev ones out', () => {
    const lock = {
      packages: {
        '': { version: '0.1.0' },
        'node_modules/zod': { version: '4.0.0', integrity: 'sha512-z' },
        'node_modules/vitest': { version: '3.0.0', dev: true },
        'node_modules/dockerode': { version: '4.0.0', integrity: 'sha512-d' },
        'node_modules/dockerode/node_modules/tar-fs': { version: '2.0.0' },
      },
    };
    expect(productionPackages(lock)).toEqual([
      { path: 'node_modules/dockerode', version: '4.0.0', integrity: 'sha512-d' },
      { path: 'node_modules/dockerode/node_modules/tar-fs', version: '2.0.0', integrity: '' },
      { path: 'node_modules/zod', version: '4.0.0', integrity: 'sha512-z' },
    ]);
  });
});
