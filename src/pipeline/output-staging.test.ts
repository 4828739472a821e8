import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stageOutput, stagingOwner, stagingPrefix } from './output-staging.js';

describe('stagingOwner', () => {
  it('reads the pid of a name stagingPrefix made, and nothing else', () => {
    expect(stagingOwner(`${stagingPrefix(4242)}AbC123`)).toBe(4242);
    expect(stagingOwner('.sandboxctl-out-x7Yq2a')).toBeUndefined();
    expect(stagingOwner('.sandboxctl-copy-77-0a1b2c3d')).toBeUndefined();
    expect(stagingOwner('out.beancount')).toBeUndefined();
  });
});

describe('stageOutput', () => {
  let d: string;
  beforeEach(async () => {
    d = await mkdtemp(path.join(os.tmpdir(), 'sbx-staging-'));
  });
  afterEach(async () => {
    await rm(d, { recursive: true, force: true });
  });

  it('makes a private directory beside the output, named after this process', async () => {
    const s = await stageOutput(path.join(d, 'out.beancount'));
    expect(path.dirname(s.dir)).toBe(d);
    expect(path.basename(s.dir).startsWith(stagingPrefix(process.pid))).toBe(true);
    expect(s.file).toBe(path.join(s.dir, 'out'));
    expect((await stat(s.dir)).mode & 0o777).toBe(0o700);
    expect(s.removed).toEqual([]);
  });

  it('first removes the staging directories of dead processes, and only those', async () => {
    for (const name of [`${stagingPrefix(111)}aaaaaa`, `${stagingPrefix(222)}bbbbbb`, `${stagingPrefix(process.pid)}cccccc`, '.sandboxctl-out-x7Yq2a', 'other']) {
      await mkdir(path.join(d, name));
      await writeFile(path.join(d, name, 'out'), 'partial');
    }
    const s = await stageOutput(path.join(d, 'out.beancount'), (pid) => pid === 222);
    expect(s.removed).toEqual([path.join(d, `${stagingPrefix(111)}aaaaaa`)]);
    const left = (await readdir(d)).sort();
    expect(left).toEqual([`${stagingPrefix(222)}bbbbbb`, `${stagingPrefix(process.pid)}cccccc`, '.sandboxctl-out-x7Yq2a', path.basename(s.dir), 'other'].sort());
  });
});
