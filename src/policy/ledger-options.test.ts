import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.js';
import { chooseProfile, looserThan, parseLedgerOptions } from './ledger-options.js';
import { shippedProfile } from '../../test/fixtures/policy-fixtures.js';

const strict = shippedProfile('strict');
const standard = shippedProfile('standard');
const permissive = shippedProfile('permissive');

describe('parseLedgerOptions', () => {
  it('reads the three sandbox options as the seed writes them', () => {
    expect(parseLedgerOptions({ plugin_sandbox: 'strict', plugin_timeout: '30', plugin_memory_limit: '64MB', title: 'x', plugin_processing_mode: 'raw' })).toEqual({
      sandbox: 'strict',
      timeoutMs: 30_000,
      memoryBytes: 64e6,
    });
    expect(parseLedgerOptions({ plugin_timeout: '2m' })).toEqual({ timeoutMs: 120_000 });
  });

  it('rejects bad values and misspelt sandbox options, all at once', () => {
    const err = (() => {
      try {
        parseLedgerOptions({ plugin_timeout: 'soon', plugin_memory_limit: '0', plugin_sandbox: 'Strict!', plugin_timout: '30' }, 'main.beancount');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).file).toBe('main.beancount');
    expect((err as InvalidInputError).issues.map((i) => i.path)).toEqual(['plugin_timeout', 'plugin_memory_limit', 'plugin_sandbox', 'plugin_timout']);
  });
});

describe('profile order', () => {
  it('ships strict < standard < permissive in every field', () => {
    expect(looserThan(strict, standard)).toEqual([]);
    expect(looserThan(standard, permissive)).toEqual([]);
    expect(looserThan(strict, permissive)).toEqual([]);
    expect(looserThan(permissive, strict).length).toBeGreaterThan(5);
  });

  it('does not trust rank alone: a low-ranked profile that is looser somewhere is refused', () => {
    const sneaky = { ...strict, name: 'sneaky', rank: 1, allow: { ...strict.allow, network: 'egress' as const } };
    const choice = chooseProfile(standard, { sandbox: 'sneaky' }, sneaky);
    expect(choice.profile.name).toBe('standard');
    expect(choice.notices[0]?.reason).toMatch(/allow.network egress/);
  });
});
