import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { expandGlob, segmentRegex } from './glob.js';
import { defaultJobs, outputPath, planJobs, type BatchSettings } from './plan.js';

let dir: string;
const settings = (over: Partial<BatchSettings>): BatchSettings => ({
  baseDir: dir,
  pluginsDirs: [],
  output: '{dir}/{name}.out.beancount',
  format: 'beancount',
  deadlineMs: 60_000,
  stageTimeoutMs: 60_000,
  ledgers: [],
  ...over,
});

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'batch-plan-'));
  for (const f of ['a/main.beancount', 'a/main.out.beancount', 'b/main.beancount', 'b/x/deep.beancount', 'c/.hidden.beancount', '.dot/main.beancount', 'a/.sandboxctl-out-1-abc/out']) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), '');
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('globs', () => {
  it('match within one segment and never a leading dot', () => {
    expect(segmentRegex('*.beancount').test('main.beancount')).toBe(true);
    expect(segmentRegex('*.beancount').test('.hidden.beancount')).toBe(false);
    expect(segmentRegex('.*').test('.hidden')).toBe(true);
    expect(segmentRegex('m[a-z]in.b?ancount').test('main.beancount')).toBe(true);
    expect(segmentRegex('[!m]*').test('main')).toBe(false);
    expect(segmentRegex('a+b(c)').test('a+b(c)')).toBe(true);
  });

  it('expand like Python glob(recursive=True): ** is any depth, dot-names stay out', async () => {
    const rel = async (p: string) => (await expandGlob(p, dir)).map((f) => path.relative(dir, f));
    expect(await rel('*/*.beancount')).toEqual(['a/main.beancount', 'a/main.out.beancount', 'b/main.beancount']);
    expect(await rel('**/*.beancount')).toEqual(['a/main.beancount', 'a/main.out.beancount', 'b/main.beancount', 'b/x/deep.beancount']);
    expect(await rel('c/.hidden.beancount')).toEqual(['c/.hidden.beancount']);
    expect(await rel('nope/*.beancount')).toEqual([]);
  });
});

describe('planning a batch', () => {
  it('fills output patterns', () => {
    expect(outputPath('{dir}/{name}.out.beancount', '/srv/books/alice/main.beancount', '/etc')).toBe('/srv/books/alice/main.out.beancount');
    expect(outputPath('/srv/out/{parent}-{base}', '/srv/books/alice/main.beancount', '/etc')).toBe('/srv/out/alice-main.beancount');
    expect(outputPath('out/{name}.jsonl', '/srv/a/x.beancount', '/etc/batch')).toBe('/etc/batch/out/x.jsonl');
  });

  it('leaves out what a glob matched that is the output of another ledger of the batch', async () => {
    const jobs = await planJobs(settings({ ledgers: [{ pattern: '*/*.beancount' }, { pattern: 'a/main.beancount', profile: 'strict' }] }));
    expect(jobs.map((j) => [path.relative(dir, j.ledger), path.relative(dir, j.output), j.profile])).toEqual([
      ['a/main.beancount', 'a/main.out.beancount', undefined],
      ['b/main.beancount', 'b/main.out.beancount', undefined],
    ]);
    expect(jobs.map((j) => j.index)).toEqual([0, 1]);
  });

  it('stops before anything runs when two ledgers would write one output, an output is a named ledger, or nothing matches', async () => {
    await expect(planJobs(settings({ output: '/srv/out/{name}.out', ledgers: [{ pattern: '*/main.beancount' }] }))).rejects.toThrow(/would both write \/srv\/out\/main.out/);
    await expect(planJobs(settings({ ledgers: [{ pattern: 'a/main.beancount' }, { pattern: 'a/main.out.beancount' }] }))).rejects.toThrow(/both a ledger and the output/);
    await expect(planJobs(settings({ ledgers: [{ pattern: 'z/*.beancount' }] }))).rejects.toBeInstanceOf(UsageError);
  });

  it('runs one ledger per core by default, fewer when memory is short', () => {
    expect(defaultJobs(2, 24 * 2 ** 30)).toBe(2);
    expect(defaultJobs(16, 8 * 2 ** 30)).toBe(4);
    expect(defaultJobs(4, 2 ** 30)).toBe(1);
  });
});
