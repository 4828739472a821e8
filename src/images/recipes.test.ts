import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE, baseTag, digestFiles, runnerTag } from './recipes.js';

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
