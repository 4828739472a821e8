import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bundleDigest, codeDigest } from './bundle-digest.js';

const f = (path: string, text: string) => ({ path, content: Buffer.from(text) });

describe('bundleDigest', () => {
  it('depends on paths and contents only, not on the order files were read', () => {
    const a = bundleDigest([f('a.py', 'x'), f('b/c.py', 'y')]);
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(bundleDigest([f('b/c.py', 'y'), f('a.py', 'x')])).toBe(a);
    expect(bundleDigest([f('a.py', 'x'), f('b/c.py', 'z')])).not.toBe(a);
    expect(bundleDigest([f('a.py', 'x'), f('b/d.py', 'y')])).not.toBe(a);
  });
  it('cannot be fooled by moving bytes between a path and a content', () => {
    expect(bundleDigest([f('ab', 'c')])).not.toBe(bundleDigest([f('a', 'bc')]));
    expect(bundleDigest([f('a', ''), f('b', 'x')])).not.toBe(bundleDigest([f('a', 'x'), f('b', '')]));
  });
  it('is stable across releases (a known value)', () => {
    expect(bundleDigest([f('plugin.yaml', 'name: x\n'), f('x.py', 'pass\n')])).toBe(
      'sha256:' + createHash('sha256').update('plugin.yaml\u00008\u0000name: x\nx.py\u00005\u0000pass\n').digest('hex'),
    );
  });
  it('refuses a path listed twice', () => {
    expect(() => bundleDigest([f('a', '1'), f('a', '2')])).toThrow(/listed twice/);
  });
  it('codeDigest leaves plugin.yaml out, so a manifest can pin it', () => {
    const code = [f('x.py', 'pass\n')];
    expect(codeDigest([...code, f('plugin.yaml', 'anything')])).toBe(bundleDigest(code));
  });
});
