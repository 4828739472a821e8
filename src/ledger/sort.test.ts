import { describe, expect, it } from 'vitest';
import type { Directive } from './directive-schema.js';
import { isSorted, sortEntries } from './sort.js';

const d = (type: string, date: string, lineno: number, tag = ''): Directive =>
  ({ type, date, meta: { filename: 'f', lineno, tag } }) as unknown as Directive;

describe('sortEntries (Beancount entry_sortkey)', () => {
  it('orders by date, then Open < Balance < others < Document < Close, then line', () => {
    const list = [d('Close', '2024-01-01', 1), d('Transaction', '2024-01-01', 5), d('Open', '2024-01-01', 9), d('Document', '2024-01-01', 2), d('Balance', '2024-01-01', 7), d('Price', '2023-12-31', 99)];
    expect(sortEntries(list).map((x) => x.type)).toEqual(['Price', 'Open', 'Balance', 'Transaction', 'Document', 'Close']);
  });
  it('is stable for equal keys, like Python', () => {
    const list = [d('Price', '2024-01-01', 0, 'a'), d('Price', '2024-01-01', 0, 'b'), d('Price', '2024-01-01', 0, 'c')];
    expect(sortEntries(list).map((x) => (x.meta as { tag: string }).tag)).toEqual(['a', 'b', 'c']);
  });
  it('tells a sorted list from an unsorted one', () => {
    expect(isSorted([d('Open', '2024-01-01', 1), d('Close', '2024-01-01', 1)])).toBe(true);
    expect(isSorted([d('Close', '2024-01-01', 1), d('Open', '2024-01-01', 1)])).toBe(false);
  });
});
