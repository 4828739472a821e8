import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError, UsageError } from '../errors.js';
import { loadProfile, profileLocations } from './load-profile.js';
import { ROOT } from '../../test/fixtures/policy-fixtures.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-profiles-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadProfile', () => {
  it('loads each shipped profile by name, with its seccomp file from the install', async () => {
    const where = profileLocations(ROOT, {});
    for (const name of ['strict', 'standard', 'permissive']) {
      const p = await loadProfile(name, where);
      expect(p.profile.name).toBe(name);
      expect(p.seccompFile).toBe(path.join(ROOT, 'seccomp', `${name}.json`));
    }
  });

  it('prefers --profiles-dir, then SANDBOXCTL_PROFILES_DIR, then the install', () => {
    expect(profileLocations('/opt/s', {}).profilesDir).toBe('/opt/s/profiles');
    expect(profileLocations('/opt/s', { SANDBOXCTL_PROFILES_DIR: '/etc/s' }).profilesDir).toBe('/etc/s');
    expect(profileLocations('/opt/s', { SANDBOXCTL_PROFILES_DIR: '/etc/s' }, '/srv/p').profilesDir).toBe('/srv/p');
  });

  it("loads an admin's own profile by name or path; a seccomp path is relative to it", async () => {
    const text = (await readFile(path.join(ROOT, 'profiles', 'strict.yaml'), 'utf8')).replace('name: strict', 'name: house').replace('seccomp: strict.json', 'seccomp: sc/house.json');
    await writeFile(path.join(dir, 'house.yaml'), text);
    const byName = await loadProfile('house', profileLocations(ROOT, { SANDBOXCTL_PROFILES_DIR: dir }));
    expect(byName.profile.name).toBe('house');
    expect(byName.seccompFile).toBe(path.join(dir, 'sc', 'house.json'));
    const byPath = await loadProfile(path.join(dir, 'house.yaml'), profileLocations(ROOT, {}));
    expect(byPath.file).toBe(path.join(dir, 'house.yaml'));
  });

  it('refuses a broken profile naming each field, and never falls back to a default', async () => {
    await writeFile(path.join(dir, 'bad.yaml'), 'name: bad\nrank: 1\nallow: {network: everything}\nceilings: {memory: 1Gi}\nseccomp: x.json\nuser: "0:0"\nextra: 1\n');
    const err = await loadProfile('bad', profileLocations(ROOT, {}, dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues.map((i) => i.path)).toEqual([
      'allow.network',
      'ceilings.cpus',
      'ceilings.timeout',
      'ceilings.pids',
      'ceilings.outputBytes',
      'ceilings.lineBytes',
      'ceilings.results',
      'ceilings.errors',
      'user',
      'extra',
    ]);
  });

  it('says where it looked when a profile is missing, and refuses a misnamed file', async () => {
    await expect(loadProfile('nope', profileLocations(ROOT, {}, dir))).rejects.toBeInstanceOf(UsageError);
    await writeFile(path.join(dir, 'alias.yaml'), (await readFile(path.join(ROOT, 'profiles', 'strict.yaml'), 'utf8')));
    await expect(loadProfile('alias', profileLocations(ROOT, {}, dir))).rejects.toThrow(/must be named alias/);
  });
});
