import { describe, expect, it } from 'vitest';
import { CONTAINER_PATHS, hostPathMountable } from './container-paths.js';

describe('hostPathMountable', () => {
  it('accepts absolute, normalised paths that touch nothing the container needs', () => {
    for (const dir of ['/home/alice/ledgers', '/srv/books', '/mnt/nas/ledger', '/work/main/test/.work/x', '/data', '/ledgers', '/optical', '/usrdata', '/tmpfiles']) {
      expect([dir, hostPathMountable(dir)]).toEqual([dir, { ok: true }]);
    }
  });

  it('refuses every reserved path, anything inside one, and any parent of one', () => {
    for (const r of CONTAINER_PATHS) {
      expect(hostPathMountable(r.path)).toEqual({ ok: false, reason: `it is ${r.path}, which the container needs for itself (${r.why})` });
      expect(hostPathMountable(`${r.path}/books`)).toEqual({ ok: false, reason: `it is inside ${r.path}, which the container needs for itself (${r.why})` });
    }
    expect(hostPathMountable('/opt/sandboxctl')).toMatchObject({ ok: false, reason: expect.stringContaining('inside /opt') });
    // a parent: mounting there would hide what the container needs below it
    const reserved = [{ path: '/srv/app/code', why: 'an image keeps its code there' }];
    expect(hostPathMountable('/srv', reserved)).toEqual({ ok: false, reason: 'it would cover /srv/app/code, which the container needs for itself (an image keeps its code there)' });
    expect(hostPathMountable('/srv/app', reserved)).toMatchObject({ ok: false, reason: expect.stringContaining('would cover /srv/app/code') });
    expect(hostPathMountable('/srv/apple', reserved)).toEqual({ ok: true });
  });

  it('refuses the root, relative paths, paths not in normal form and control characters', () => {
    expect(hostPathMountable('/')).toEqual({ ok: false, reason: 'it is the root directory' });
    expect(hostPathMountable('home/alice')).toEqual({ ok: false, reason: 'it is not an absolute path' });
    expect(hostPathMountable("<the ledger file's directory>")).toEqual({ ok: false, reason: 'it is not an absolute path' });
    for (const dir of ['/home/alice/', '/home//alice', '/home/./alice', '/home/bob/../etc', '/srv/..']) {
      expect([dir, hostPathMountable(dir).ok]).toEqual([dir, false]);
    }
    expect(hostPathMountable('/home/a\nb')).toEqual({ ok: false, reason: 'it contains control characters' });
  });
});
