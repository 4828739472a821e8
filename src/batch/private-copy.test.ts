import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leftoverOwner, removeStaleFiles } from './cleanup.js';
import { includeClosure, includesOf, makePrivateCopy } from './private-copy.js';

const asRoot = process.getuid?.() === 0;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'batch-copy-'));
  // traversable by anyone, as a ledger's parent usually is: only the copy's own mode keeps others out
  await chmod(dir, 0o755);
  await mkdir(path.join(dir, 'books', 'years'), { recursive: true });
  await writeFile(path.join(dir, 'secret.txt'), 'not for the sandbox\n');
  await writeFile(path.join(dir, 'books', 'main.beancount'), 'include "years/*.beancount"\ninclude "../secret.txt"\ninclude "link.beancount"\n  include "indented.beancount"\n2024-01-01 open Assets:Cash\n');
  await writeFile(path.join(dir, 'books', 'years', '2024.beancount'), 'include "../common.beancount"\n');
  await writeFile(path.join(dir, 'books', 'years', '.draft.beancount'), '');
  await writeFile(path.join(dir, 'books', 'common.beancount'), '; shared\n');
  await writeFile(path.join(dir, 'books', 'unrelated.beancount'), '; not included\n');
  await symlink(path.join(dir, 'secret.txt'), path.join(dir, 'books', 'link.beancount'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the include closure of a ledger', () => {
  it('reads include lines as Beancount does (at the start of a line, escapes undone)', () => {
    expect(includesOf('include "a.beancount"\n; include "b"\n  include "c"\ninclude "d\\"e"\n')).toEqual(['a.beancount', 'd"e']);
  });

  it("follows includes and globs, and never leaves the ledger's directory, by path or by link", async () => {
    const files = (await includeClosure(path.join(dir, 'books', 'main.beancount'))).map((f) => f.rel).sort();
    expect(files).toEqual(['common.beancount', 'main.beancount', 'years/2024.beancount']);
  });
});

describe.skipIf(!asRoot)('a private copy for the sandbox', () => {
  it('is owned by the sandbox uid, 0700 / 0400, readable by it and by no other user, and removed after', async () => {
    const main = path.join(dir, 'books', 'main.beancount');
    await chmod(main, 0o600);
    const copy = await makePrivateCopy(main, { uid: 65532, gid: 65532 });
    try {
      const d = await stat(copy.dir);
      expect([d.uid, d.gid, d.mode & 0o777]).toEqual([65532, 65532, 0o700]);
      const f = await stat(copy.ledgerPath);
      expect([f.uid, f.mode & 0o777]).toEqual([65532, 0o400]);
      expect(((await stat(path.join(copy.dir, 'years'))).mode & 0o777)).toBe(0o700);
      expect(await readFile(copy.ledgerPath, 'utf8')).toBe(await readFile(main, 'utf8'));
      expect((await readdir(copy.dir)).sort()).toEqual(['common.beancount', 'main.beancount', 'years']);
      // the behaviour, not only the bits: the sandbox's uid reads it, another uid cannot
      const cat = (uid: number) => spawnSync('cat', [copy.ledgerPath], { uid, gid: uid, encoding: 'utf8' });
      expect(cat(65532).status).toBe(0);
      expect(cat(65532).stdout).toContain('open Assets:Cash');
      const other = cat(65533);
      expect(other.status).not.toBe(0);
      expect(other.stderr).toMatch(/Permission denied/);
      expect(copy.toOriginal(path.join(copy.dir, 'years', '2024.beancount'))).toBe(path.join(dir, 'books', 'years', '2024.beancount'));
      expect(copy.mapText(`error in ${copy.ledgerPath}`)).toBe(`error in ${main}`);
    } finally {
      await copy.dispose();
    }
    await expect(stat(copy.dir)).rejects.toThrow(/ENOENT/);
  });
});

describe('what a killed batch left behind', () => {
  it('is known by the pid in its name', () => {
    expect(leftoverOwner('.sandboxctl-out-4242-AbC123')).toBe(4242);
    expect(leftoverOwner('.sandboxctl-copy-77-0a1b2c3d')).toBe(77);
    expect(leftoverOwner('.report.json.sandboxctl-tmp-99-0a1b2c3d')).toBe(99);
    // `run -o` stages without a pid: never taken for a batch's
    expect(leftoverOwner('.sandboxctl-out-x7Yq2a')).toBeUndefined();
    expect(leftoverOwner('main.beancount')).toBeUndefined();
  });

  it("is removed only when its process is gone", async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), 'batch-stale-'));
    try {
      await mkdir(path.join(d, '.sandboxctl-out-111-aaaaaa'));
      await writeFile(path.join(d, '.sandboxctl-out-111-aaaaaa', 'out'), 'partial');
      await mkdir(path.join(d, '.sandboxctl-out-222-bbbbbb'));
      await writeFile(path.join(d, '.x.json.sandboxctl-tmp-111-0a1b2c3d'), '{');
      await writeFile(path.join(d, 'main.out.beancount'), 'whole');
      const removed = await removeStaleFiles([d, d], (pid) => pid === 222);
      expect(removed.map((p) => path.basename(p)).sort()).toEqual(['.sandboxctl-out-111-aaaaaa', '.x.json.sandboxctl-tmp-111-0a1b2c3d']);
      expect((await readdir(d)).sort()).toEqual(['.sandboxctl-out-222-bbbbbb', 'main.out.beancount']);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });
});
