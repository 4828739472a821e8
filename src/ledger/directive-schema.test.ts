import { describe, expect, it } from 'vitest';
import {
  AccountSchema,
  AmountSchema,
  Currency,
  DateString,
  DecimalString,
  DIRECTIVE_TYPES,
  DirectiveSchema,
  Flag,
  MetaSchema,
  Tag,
  accountRegex,
  createDirectiveSchemas,
  isCalendarDate,
  type Directive,
} from './directive-schema.js';
import { EXAMPLES } from '../../test/fixtures/directive-examples.js';

describe('directive schema', () => {
  it('accepts one example of every directive type', () => {
    expect(new Set(EXAMPLES.map((d) => d.type))).toEqual(new Set(DIRECTIVE_TYPES));
    for (const d of EXAMPLES) expect(DirectiveSchema.parse(d)).toEqual(d);
  });

  it('refuses unknown fields and unknown types', () => {
    expect(DirectiveSchema.safeParse({ ...EXAMPLES[1], extra: 1 }).success).toBe(false);
    expect(DirectiveSchema.safeParse({ ...EXAMPLES[1], type: 'Include' }).success).toBe(false);
    expect(DirectiveSchema.safeParse({ ...EXAMPLES[1], meta: undefined }).success).toBe(false);
  });

  it('checks dates against the calendar', () => {
    for (const ok of ['2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31']) expect(isCalendarDate(ok)).toBe(true);
    for (const bad of ['2023-02-29', '1900-02-29', '2024-04-31', '2024-13-01', '2024-00-10', '0000-01-01', '2024-1-01', '2024-01-01T00:00', ' 2024-01-01']) {
      expect(DateString.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('checks account names like the Beancount 2 lexer', () => {
    for (const ok of ['Assets:Cash', 'Liabilities:CC:Amex-Gold', 'Equity:Opening-Balances', 'Income:2024', 'Expenses:Café', 'Assets:Ü']) {
      expect(AccountSchema.safeParse(ok).success, ok).toBe(true);
    }
    for (const bad of ['Assets', 'Asset:Cash', 'assets:Cash', 'Assets:cash', 'Assets:Ca sh', 'Assets::Cash', 'Assets:Cash:', 'Assets:Ca_sh', 'Assets:-Cash', 'Assets:Cash\n2024-01-01 open Assets:X', 'Assets:Ca"sh']) {
      expect(AccountSchema.safeParse(bad).success, bad).toBe(false);
    }
  });

  it('follows renamed account roots', () => {
    const s = createDirectiveSchemas({ accountRoots: ['Actif', 'Passif', 'Capitaux', 'Revenus', 'Depenses'] });
    expect(s.Account.safeParse('Actif:Banque').success).toBe(true);
    expect(s.Account.safeParse('Assets:Bank').success).toBe(false);
    expect(() => accountRegex(['bad root'])).toThrow(/not a valid/);
  });

  it('checks currencies', () => {
    for (const ok of ['USD', 'V', 'VBMPX', 'BRK.B', "NT'L", 'A_B-C', 'X1', 'ABCDEFGHIJKLMNOPQRSTUVWX']) expect(Currency.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['usd', '1USD', 'US$', 'USD.', 'U-', 'ABCDEFGHIJKLMNOPQRSTUVWXY', '', 'US D']) expect(Currency.safeParse(bad).success, bad).toBe(false);
  });

  it('takes decimals only as exact strings', () => {
    for (const ok of ['0', '-0', '12.50', '-0.000001', '123456789012345678901234567890.123']) expect(DecimalString.safeParse(ok).success, ok).toBe(true);
    for (const bad of [1.5, '1e3', '1E+2', '.5', '5.', '+1', 'NaN', 'Infinity', '1,000', ' 1', '0x10', '1.2.3']) {
      expect(DecimalString.safeParse(bad).success, String(bad)).toBe(false);
    }
    expect(AmountSchema.safeParse({ number: 1, currency: 'USD' }).success).toBe(false);
    expect(AmountSchema.safeParse({ number: null, currency: null }).success).toBe(true);
  });

  it('checks flags, tags and links', () => {
    for (const ok of ['*', '!', 'P', 'T', '#']) expect(Flag.safeParse(ok).success).toBe(true);
    for (const bad of ['x', '**', '', 'txn', '"']) expect(Flag.safeParse(bad).success).toBe(false);
    for (const bad of ['a b', 'a#b', 'a^b', '', 'é', 'a"']) expect(Tag.safeParse(bad).success, bad).toBe(false);
    const tx = EXAMPLES[5] as Extract<Directive, { type: 'Transaction' }>;
    expect(DirectiveSchema.safeParse({ ...tx, tags: ['b', 'a'] }).success).toBe(false);
    expect(DirectiveSchema.safeParse({ ...tx, tags: ['a', 'a'] }).success).toBe(false);
  });

  it('types metadata values and keys', () => {
    expect(MetaSchema.safeParse({ x: 1.5 }).success).toBe(false);
    expect(MetaSchema.safeParse({ x: [1] }).success).toBe(false);
    expect(MetaSchema.safeParse({ x: { '@decimal': '1', extra: 1 } }).success).toBe(false);
    expect(MetaSchema.safeParse({ x: { '@date': '2024-02-30' } }).success).toBe(false);
    expect(MetaSchema.safeParse(JSON.parse('{"__proto__": "x"}')).success).toBe(false);
    expect(MetaSchema.safeParse({ constructor: 'x' }).success).toBe(true);
    expect(MetaSchema.safeParse({ Upper: 'x' }).success).toBe(false);
    expect(MetaSchema.safeParse({ 'a:b': 'x' }).success).toBe(false);
    expect(MetaSchema.safeParse({ __implicit_prices__: 'from_cost', __automatic__: true }).success).toBe(true);
    expect(MetaSchema.safeParse({ __proto__x: 'x' }).success).toBe(false);
    expect(MetaSchema.safeParse({ ['__proto__']: 'x' }).success).toBe(false);
    expect(MetaSchema.safeParse({ x: { '@tolerances': { USD: '0.01' } } }).success).toBe(false);
    expect(MetaSchema.safeParse({ __tolerances__: 'x' }).success).toBe(false);
  });

  it('checks custom values against their dtype', () => {
    const c = EXAMPLES[11] as Extract<Directive, { type: 'Custom' }>;
    expect(DirectiveSchema.safeParse({ ...c, values: [{ dtype: 'decimal', value: '3' }] }).success).toBe(false);
    expect(DirectiveSchema.safeParse({ ...c, values: [{ dtype: 'account', value: 'not an account' }] }).success).toBe(false);
    expect(DirectiveSchema.safeParse({ ...c, values: [{ dtype: 'int', value: 3 }] }).success).toBe(false);
  });
});
