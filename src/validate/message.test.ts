import { describe, expect, it } from 'vitest';
import { SandboxViolation } from '../errors.js';
import { SAMPLE_DIRECTIVES } from '../../test/fixtures/run/sample-directives.js';
import { DEFAULT_VALUE_LIMITS } from './value-limits.js';
import { validatePluginMessage } from './message.js';

const ctx = { plugin: 'acme.test', line: 7 };
const txn = structuredClone(SAMPLE_DIRECTIVES.find((d) => d.type === 'Transaction')!);

function violation(raw: unknown, c: Parameters<typeof validatePluginMessage>[1] = ctx): SandboxViolation {
  try {
    validatePluginMessage(raw, c);
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxViolation);
    return err as SandboxViolation;
  }
  throw new Error('expected a SandboxViolation');
}

function modifyWith(mut: (d: Record<string, any>) => void): unknown {
  const d = structuredClone(txn) as unknown as Record<string, any>;
  mut(d);
  return { type: 'modify', index: 0, directive: d };
}

describe('validatePluginMessage', () => {
  it('accepts every directive type as modify and insert', () => {
    for (const d of SAMPLE_DIRECTIVES) {
      expect(validatePluginMessage({ type: 'insert', directive: d }, ctx)).toEqual({ type: 'insert', directive: d });
      expect(validatePluginMessage({ type: 'modify', index: 3, directive: d }, ctx).type).toBe('modify');
    }
  });

  it('accepts keep, delete, error and done', () => {
    expect(validatePluginMessage({ type: 'keep', from: 0, to: 3 }, ctx)).toEqual({ type: 'keep', from: 0, to: 3 });
    expect(validatePluginMessage({ type: 'delete', index: 2 }, ctx).type).toBe('delete');
    const err = { type: 'error', message: 'Traceback (most recent call last):\n  File "x.py"\nValueError', source: null, index: 1 };
    expect(validatePluginMessage(err, ctx)).toEqual(err);
    const done = { type: 'done', counts: { kept: 1, modified: 0, inserted: 0, deleted: 0, errors: 0 } };
    expect(validatePluginMessage(done, ctx)).toEqual(done);
  });

  it('refuses __proto__ in metadata before any schema sees it', () => {
    const raw = JSON.parse(`{"type":"modify","index":0,"directive":${JSON.stringify(txn).replace('"meta":{', '"meta":{"__proto__":{"admin":true},')}}`);
    const v = violation(raw);
    expect(v.kind).toBe('invalid-output');
    expect(v.message).toMatch(/output line 7.*directive\.meta\.__proto__/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('refuses a constructor key in a posting', () => {
    const v = violation(modifyWith((d) => (d.postings[0].meta = { constructor: 'x' })));
    expect(v.kind).toBe('invalid-output');
    expect(v.message).toMatch(/postings\[0\]\.meta\.constructor/);
  });

  it.each([
    ['newline in narration', (d: any) => (d.narration = 'ok\n2024-01-01 open Assets:Evil'), /narration.*U\+000A/],
    ['control char in payee', (d: any) => (d.payee = 'x\u001b[2J'), /payee.*U\+001B/],
    ['newline in a metadata string', (d: any) => (d.meta.note = 'a\nplugin "evil"'), /meta\.note.*U\+000A/],
    ['carriage return in posting meta', (d: any) => (d.postings[0].meta = { a: '\r' }), /U\+000D/],
    ['bad account', (d: any) => (d.postings[0].account = 'Assets:bank checking'), /postings\[0\]\.account/],
    ['unknown account root', (d: any) => (d.postings[0].account = 'Cash:Wallet'), /account/],
    ['bad date', (d: any) => (d.date = '2024-02-30'), /date.*calendar/],
    ['bad date shape', (d: any) => (d.date = '2024/01/01'), /date/],
    ['float number', (d: any) => (d.postings[0].units.number = 12.5), /postings\[0\]\.units\.number/],
    ['exponent decimal', (d: any) => (d.postings[0].units.number = '1e5'), /units\.number/],
    ['float metadata value', (d: any) => (d.meta.rate = 1.5), /meta\.rate/],
    ['bad currency', (d: any) => (d.postings[0].units.currency = 'usd'), /currency/],
    ['bad metadata key', (d: any) => (d.meta.Bad = 'x'), /meta/],
    ['metadata key with a space', (d: any) => (d.meta['a b'] = 'x'), /meta/],
    ['tag with a space', (d: any) => (d.tags = ['a b']), /tags/],
    ['unsorted tags', (d: any) => (d.tags = ['b', 'a']), /tags/],
    ['bad flag', (d: any) => (d.flag = 'x'), /flag/],
    ['unknown field', (d: any) => (d.extra = 1), /extra|Unrecognized/i],
  ])('refuses %s', (_name, mut, re) => {
    const v = violation(modifyWith(mut));
    expect(v.kind).toBe('invalid-output');
    expect(v.message).toMatch(re);
    expect(v.message).toMatch(/plugin acme\.test, output line 7/);
    expect(v.exitCode).toBe(4);
  });

  it('refuses too many postings and too many metadata keys', () => {
    const limits = { ...DEFAULT_VALUE_LIMITS, maxPostings: 1, maxMetaKeys: 3 };
    expect(violation(modifyWith(() => {}), { ...ctx, limits }).message).toMatch(/postings, more than the limit of 1|metadata keys/);
    const few = modifyWith((d) => {
      d.postings = [d.postings[0]];
      d.meta = { filename: 'x', lineno: 1, a: 1, b: 2 };
    });
    expect(violation(few, { ...ctx, limits }).message).toMatch(/4 metadata keys, more than the limit of 3/);
    const postingMeta = modifyWith((d) => {
      d.postings = [d.postings[0]];
      d.meta = {};
      d.postings[0].meta = { a: 1, b: 2, c: 3, e: 4 };
    });
    expect(violation(postingMeta, { ...ctx, limits }).message).toMatch(/postings\[0\]\.meta: 4 metadata keys/);
  });

  it('refuses an overlong string', () => {
    const limits = { ...DEFAULT_VALUE_LIMITS, maxStringLength: 30 };
    expect(violation(modifyWith((d) => (d.narration = 'x'.repeat(31))), { ...ctx, limits }).message).toMatch(/narration.*longer than the limit of 30/);
  });

  it('refuses control characters other than newline and tab in error messages', () => {
    const v = violation({ type: 'error', message: 'x\u001b]0;title\u0007', source: null, index: null });
    expect(v.kind).toBe('invalid-output');
  });

  it('reports a line that is not a plugin message as a protocol violation', () => {
    expect(violation({ type: 'hello' }).kind).toBe('protocol');
    expect(violation([1, 2]).kind).toBe('protocol');
    expect(violation('text').kind).toBe('protocol');
    expect(violation({ type: 'keep', from: 3, to: 3 }).message).toMatch(/non-empty/);
    expect(violation({ type: 'keep', from: 0, to: 1, extra: true }).kind).toBe('protocol');
    expect(violation({ type: 'delete', index: 1.5 }).kind).toBe('protocol');
    expect(violation({ type: 'delete', index: -1 }).kind).toBe('protocol');
  });
});
