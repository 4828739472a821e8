// The parity suite's comparison: what it forgives (only Beancount's own run-to-run
// differences) and what it reports.
import { describe, expect, it } from 'vitest';
import { compareOutcomes, firstDifference, normaliseMessage } from '../integration/helpers/parity-compare.js';

const open = (account: string, lineno: number, filename = '/l/main.beancount') => ({
  type: 'Open',
  date: '2024-01-01',
  meta: { filename, lineno },
  account,
  currencies: null,
  booking: null,
});
const price = (number: string, lineno: number) => ({ type: 'Price', date: '2024-01-02', meta: { filename: '/l/main.beancount', lineno }, currency: 'EUR', amount: { number, currency: 'USD' } });
const err = (message: string, lineno: number | null) => ({ message, source: lineno === null ? null : { filename: '/l/main.beancount', lineno } });

describe('compareOutcomes', () => {
  it('finds nothing to say about equal outcomes, whatever the key order', () => {
    const a = { directives: [open('Assets:A', 1), price('1.10', 2)], errors: [err('x', 1)] };
    const reordered = Object.fromEntries(Object.entries(price('1.10', 2)).reverse());
    const b = { directives: [open('Assets:A', 1), reordered], errors: [{ source: { lineno: 1, filename: '/l/main.beancount' }, message: 'x' }] };
    expect(compareOutcomes(a, b)).toBeNull();
  });

  it('names the first differing directive, its path and both values', () => {
    const diff = compareOutcomes(
      { directives: [open('Assets:A', 1), price('1.10', 2)], errors: [] },
      { directives: [open('Assets:A', 1), price('1.100', 2)], errors: [] },
    );
    expect(diff).toContain('first difference at index 1');
    expect(diff).toContain('.amount.number');
    expect(diff).toContain('"1.10"');
    expect(diff).toContain('"1.100"');
  });

  it('reports missing and extra directives and errors', () => {
    expect(compareOutcomes({ directives: [open('Assets:A', 1)], errors: [] }, { directives: [], errors: [] })).toContain('1 sandboxed, 0 in-process');
    expect(compareOutcomes({ directives: [], errors: [] }, { directives: [], errors: [err('Balance failed', 3)] })).toContain('errors: 0 sandboxed, 1 in-process');
  });

  it('keeps the order of directives that have a source line, and of errors at different sources', () => {
    expect(compareOutcomes({ directives: [open('Assets:B', 1), open('Assets:A', 1)], errors: [] }, { directives: [open('Assets:A', 1), open('Assets:B', 1)], errors: [] })).not.toBeNull();
    expect(compareOutcomes({ directives: [], errors: [err('a', 1), err('b', 2)] }, { directives: [], errors: [err('b', 2), err('a', 1)] })).not.toBeNull();
    expect(compareOutcomes({ directives: [], errors: [err('a', null), err('b', null)] }, { directives: [], errors: [err('b', null), err('a', null)] })).not.toBeNull();
  });

  it("forgives the order Beancount itself does not keep: plugin-made ties and one directive's errors", () => {
    const synthetic = (a: string) => open(a, 0, '<split_expenses>');
    expect(
      compareOutcomes(
        { directives: [synthetic('Expenses:Food:Bob'), synthetic('Expenses:Food:Ann')], errors: [err('a', 4), err('b', 4)] },
        { directives: [synthetic('Expenses:Food:Ann'), synthetic('Expenses:Food:Bob')], errors: [err('b', 4), err('a', 4)] },
      ),
    ).toBeNull();
  });

  it('renames book_conversions trade ids consistently, so a mixed-up pairing still differs', () => {
    const trades = (a: string, b: string) => [
      { ...open('Assets:A', 1), meta: { filename: 'f', lineno: 1, trades: a } },
      { ...open('Assets:B', 2), meta: { filename: 'f', lineno: 2, trades: b } },
    ];
    expect(compareOutcomes({ directives: trades('trade-aaaaaaaaaaaa', 'trade-bbbbbbbbbbbb'), errors: [] }, { directives: trades('trade-111111111111', 'trade-222222222222'), errors: [] })).toBeNull();
    expect(compareOutcomes({ directives: trades('trade-aaaaaaaaaaaa', 'trade-aaaaaaaaaaaa'), errors: [] }, { directives: trades('trade-111111111111', 'trade-222222222222'), errors: [] })).not.toBeNull();
  });
});

describe('normaliseMessage', () => {
  it("replaces only the plugin loop's frame of a traceback", () => {
    const inProcess = 'Error applying plugin "p": Traceback (most recent call last):\n    File "/usr/lib/python3/dist-packages/beancount/loader.py", line 454, in run_transformations\n      x\n    File "/usr/lib/python3/dist-packages/beancount/plugins/p.py", line 3, in f';
    const sandboxed = 'Error applying plugin "p": Traceback (most recent call last):\n    File "/opt/sandboxctl/sbx_runner/transform.py", line 70, in run_plugin\n      x\n    File "/usr/lib/python3/dist-packages/beancount/plugins/p.py", line 3, in f';
    expect(normaliseMessage(inProcess)).toBe(normaliseMessage(sandboxed));
    expect(normaliseMessage(sandboxed.replace('line 3, in f', 'line 4, in f'))).not.toBe(normaliseMessage(inProcess));
  });

  it('sorts the set members Beancount prints in set order, and nothing else', () => {
    expect(normaliseMessage("More than one currency in account 'A': USD,CAD")).toBe(normaliseMessage("More than one currency in account 'A': CAD,USD"));
    expect(normaliseMessage("tags=frozenset({'virtual', 'trip'}), x")).toBe("tags=frozenset({'trip', 'virtual'}), x");
    expect(normaliseMessage('Balance failed: USD,CAD')).toBe('Balance failed: USD,CAD');
  });
});

describe('firstDifference', () => {
  it('points at missing keys and array items', () => {
    expect(firstDifference({ a: 1 }, { a: 1, b: 2 })?.path).toBe('.b');
    expect(firstDifference([1, 2], [1])?.path).toBe('[1]');
    expect(firstDifference({ a: [1, { b: 'x' }] }, { a: [1, { b: 'y' }] })).toEqual({ path: '.a[1].b', left: 'x', right: 'y' });
  });
});
