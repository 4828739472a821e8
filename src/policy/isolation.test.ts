import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadBundle } from '../manifest/bundle.js';
import { manifestSchema, type ManifestInput } from '../manifest/schema.js';
import { ROOT } from '../../test/fixtures/policy-fixtures.js';
import { FIRST_PARTY_BUNDLES } from './first-party-bundles.js';
import { decideIsolation, recognizeBuiltin, type BundleFacts } from './isolation.js';
import { chooseProfile, looserThan } from './ledger-options.js';
import { loadProfile, profileLocations } from './load-profile.js';
import { profileSchema } from './profile-schema.js';

const NAME = 'beancount.plugins.implicit_prices';
const PIN = { [NAME]: 'sha256:' + 'a'.repeat(64) };

function facts(over: Partial<ManifestInput> = {}, rest: Partial<BundleFacts> = {}): BundleFacts {
  const manifest = manifestSchema.parse({ apiVersion: 'sandboxctl/v1', name: NAME, version: '2.3.5', runtime: 'python', module: NAME, ...over });
  return { manifest, digest: PIN[NAME]!, fromInstall: true, ...rest };
}

describe('recognizeBuiltin', () => {
  it('knows a first-party bundle from the install with the pinned bytes', () => {
    expect(recognizeBuiltin(facts(), PIN)).toEqual({ builtin: true });
  });

  it('never by name alone: not from the install, other bytes, or a name not pinned', () => {
    expect(recognizeBuiltin(facts({}, { fromInstall: false }), PIN)).toMatchObject({ builtin: false, reason: expect.stringMatching(/not a bundle from the install/) });
    expect(recognizeBuiltin(facts({}, { digest: 'sha256:' + 'b'.repeat(64) }), PIN)).toMatchObject({ builtin: false, reason: expect.stringMatching(/differs from the shipped one/) });
    expect(recognizeBuiltin(facts({ name: 'beancount.plugins.other', module: 'beancount.plugins.other' }), PIN)).toMatchObject({ builtin: false, reason: expect.stringMatching(/not one of the first-party bundles/) });
  });

  it('not even with a pin, when the manifest does not run its own installed beancount.plugins module', () => {
    expect(recognizeBuiltin(facts({ module: 'beancount.plugins.noduplicates' }), PIN).builtin).toBe(false);
    expect(recognizeBuiltin(facts({ module: undefined, entrypoint: 'x.py' }), PIN).builtin).toBe(false);
    const other = { 'acme.x': PIN[NAME]! };
    expect(recognizeBuiltin(facts({ name: 'acme.x', module: 'acme.x' }), other).builtin).toBe(false);
  });
});

describe('decideIsolation', () => {
  it('puts a builtin in the session only where the profile says builtins: session', () => {
    expect(decideIsolation({ name: 'standard', builtins: 'session' }, { builtin: true }).isolation).toBe('session');
    expect(decideIsolation({ name: 'strict', builtins: 'container' }, { builtin: true }).isolation).toBe('container');
  });

  it('gives anything else its own container, whatever the profile', () => {
    const d = decideIsolation({ name: 'permissive', builtins: 'session' }, { builtin: false, reason: 'third-party' });
    expect(d).toEqual({ isolation: 'container', reason: 'its own container: third-party' });
  });
});

describe('profiles', () => {
  it('default to builtins each in their own container when the field is left out', () => {
    const p = profileSchema.parse({ name: 'house', rank: 5, ceilings: { memory: '1Gi', cpus: 1, timeout: '1m', pids: 8, outputBytes: '1Mi', lineBytes: '1Mi', results: 1, errors: 1 }, seccomp: 'strict.json' });
    expect(p.builtins).toBe('container');
  });

  it('ship standard and permissive with builtins in the session, strict and standard-isolated with containers', async () => {
    const where = profileLocations(ROOT, {});
    const got: Record<string, string> = {};
    for (const name of ['strict', 'standard', 'standard-isolated', 'permissive']) got[name] = (await loadProfile(name, where)).profile.builtins;
    expect(got).toEqual({ strict: 'container', standard: 'session', 'standard-isolated': 'container', permissive: 'session' });
  });
});

describe('a ledger choosing its profile', () => {
  it('cannot move builtins into the session when the admin keeps them in containers', async () => {
    const where = profileLocations(ROOT, {});
    const isolated = (await loadProfile('standard-isolated', where)).profile;
    const standard = (await loadProfile('standard', where)).profile;
    // even at an equal rank: the field itself is compared
    expect(looserThan({ ...standard, rank: isolated.rank }, isolated)).toEqual(['builtins session (admin: container)']);
    expect(looserThan(isolated, standard)).toEqual([]);
    expect(chooseProfile(isolated, { sandbox: 'standard' }, standard).profile.name).toBe('standard-isolated');
  });
});

describe('FIRST_PARTY_BUNDLES', () => {
  it("pins exactly the bundles in the install's plugins/ folder, each by its digest (scripts/pin-first-party.mjs)", async () => {
    const dir = path.join(ROOT, 'plugins');
    const found: Record<string, string> = {};
    for (const e of (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory())) {
      const b = await loadBundle(path.join(dir, e.name));
      found[b.manifest.name] = b.digest;
    }
    expect(FIRST_PARTY_BUNDLES).toEqual(found);
    // and each of them is recognised where it is shipped
    for (const name of Object.keys(found)) {
      const b = await loadBundle(path.join(dir, name));
      expect([name, recognizeBuiltin({ manifest: b.manifest, digest: b.digest, fromInstall: true })]).toEqual([name, { builtin: true }]);
    }
  });
});
