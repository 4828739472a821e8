import { describe, expect, it } from 'vitest';
import type { Directive } from '../ledger/directive-schema.js';
import { finalizeLines } from './finalize-request.js';

const d = (n: number) => ({ type: 'Note', date: '2020-01-01', meta: { n }, account: 'Assets:Cash', comment: `c${n}` }) as unknown as Directive;

describe('finalizeLines', () => {
  it('sends runs of the loader\'s directives by reference and everything else in full', () => {
    const loaded = [d(0), d(1), d(2), d(3)];
    const index = new Map(loaded.map((x, i) => [x, i]));
    const made = d(9);
    // kept 0,1; a new directive; 3 before 2 (reordered); 2
    const lines = [...finalizeLines([loaded[0]!, loaded[1]!, made, loaded[3]!, loaded[2]!], index)].map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { type: 'refs', index: 0, from: 0, count: 2 },
      { type: 'directive', index: 2, directive: JSON.parse(JSON.stringify(made)) },
      { type: 'refs', index: 3, from: 3, count: 1 },
      { type: 'refs', index: 4, from: 2, count: 1 },
    ]);
  });

  it('ends every line with a newline and sends nothing for no directives', () => {
    const x = d(0);
    expect([...finalizeLines([x], new Map([[x, 0]]))]).toEqual(['{"type":"refs","index":0,"from":0,"count":1}\n']);
    expect([...finalizeLines([], new Map())]).toEqual([]);
  });
});
