import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeSince, fingerprint, readState, STATE_DIR, statePath, writeState, type FingerprintInputs, type LedgerState } from './state.js';

const inputs: FingerprintInputs = {
  sandboxctlVersion: '0.1.0',
  format: 'beancount',
  profileDigest: 'sha256:p',
  runnerImageId: 'sha256:r',
  files: [
    { path: '/b/inc.beancount', sha256: 'sha256:2' },
    { path: '/b/main.beancount', sha256: 'sha256:1' },
  ],
  plugins: [{ name: 'acme.x', dir: '/plugins/x', bundleHash: 'sha256:x', imageId: 'sha256:ix' }],
};
const state = (over: Partial<LedgerState> = {}): LedgerState => ({
  v: 1,
  ledger: '/b/main.beancount',
  output: '/b/main.out.beancount',
  outputSha256: 'sha256:o',
  fingerprint: fingerprint(inputs),
  inputs,
  finishedAt: '2026-12-06T02:00:00.000Z',
  runId: 'r1',
  batchId: 'b1',
  ...over,
});

describe('incremental state', () => {
  it('fingerprints the inputs whatever order the files were read in', () => {
    expect(fingerprint({ ...inputs, files: [...inputs.files].reverse() })).toBe(fingerprint(inputs));
    expect(fingerprint({ ...inputs, runnerImageId: 'sha256:other' })).not.toBe(fingerprint(inputs));
  });

  it('says what changed, or null when nothing did', () => {
    const s = state();
    expect(changeSince(s, inputs, 'sha256:o')).toBeNull();
    expect(changeSince(s, inputs, null)).toBe('the output is missing');
    expect(changeSince(s, inputs, 'sha256:edited')).toMatch(/output was changed/);
    expect(changeSince(s, { ...inputs, files: [inputs.files[0]!, { path: '/b/main.beancount', sha256: 'sha256:9' }] }, 'sha256:o')).toBe('/b/main.beancount changed');
    expect(changeSince(s, { ...inputs, plugins: [{ ...inputs.plugins[0]!, bundleHash: 'sha256:y' }] }, 'sha256:o')).toMatch(/acme.x's bundle changed/);
    expect(changeSince(s, { ...inputs, plugins: [{ ...inputs.plugins[0]!, imageId: 'missing' }] }, 'sha256:o')).toMatch(/image changed/);
    expect(changeSince(s, { ...inputs, profileDigest: 'sha256:q' }, 'sha256:o')).toMatch(/profile changed/);
    expect(changeSince(s, { ...inputs, sandboxctlVersion: '0.2.0' }, 'sha256:o')).toMatch(/sandboxctl changed/);
    expect(changeSince(state({ fingerprint: 'sha256:forged' }), inputs, 'sha256:o')).toMatch(/does not match/);
  });

  describe('on disk', () => {
    let dir: string;
    beforeAll(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'batch-state-'))));
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('is written atomically in a dot-directory beside the output, and read back', async () => {
      const s = state({ output: path.join(dir, 'main.out.beancount') });
      await writeState(s);
      expect(statePath(s.output)).toBe(path.join(dir, STATE_DIR, 'main.out.beancount.json'));
      expect(await readState(s.output)).toEqual(s);
      // nothing but the state file: no temporary left behind
      expect(await readdir(path.join(dir, STATE_DIR))).toEqual(['main.out.beancount.json']);
      expect(JSON.parse(await readFile(statePath(s.output), 'utf8')).fingerprint).toBe(s.fingerprint);
    });

    it('treats a missing or damaged state as none (the ledger runs)', async () => {
      expect(await readState(path.join(dir, 'other.out'))).toBeUndefined();
      const { writeFile } = await import('node:fs/promises');
      await writeFile(statePath(path.join(dir, 'main.out.beancount')), '{"v":1, "ledger":');
      expect(await readState(path.join(dir, 'main.out.beancount'))).toBeUndefined();
    });
  });
});
