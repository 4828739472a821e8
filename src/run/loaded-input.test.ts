import { describe, expect, it } from 'vitest';
import type { Directive } from '../ledger/directive-schema.js';
import { loadedInputBody, readsLoaderPickle } from './loaded-input.js';

const d = (n: number) => ({ type: 'Note', date: '2020-01-01', meta: { n }, account: 'Assets:Cash', comment: `c${n}` }) as unknown as Directive;
const LINE = '{"type":"loaded","format":{"encoding":"pickle","pickle":5,"python":"3.11","beancount":"2.3.5","codec":1},"count":3,"data":"AAAA"}';

describe('readsLoaderPickle', () => {
  it('offers the pickle to the loader image itself and to images built on it, never to others', () => {
    expect(readsLoaderPickle({ id: 'sha256:py' }, 'sha256:py')).toBe(true);
    expect(readsLoaderPickle({ id: 'sha256:plugin', runnerId: 'sha256:py' }, 'sha256:py')).toBe(true);
    // built on another runner image (an older python runner, or the node runner), or a pinned image
    expect(readsLoaderPickle({ id: 'sha256:plugin', runnerId: 'sha256:old' }, 'sha256:py')).toBe(false);
    expect(readsLoaderPickle({ id: 'sha256:pinned' }, 'sha256:py')).toBe(false);
  });
});

describe('loadedInputBody', () => {
  it('sends the loader\'s line unchanged, then references and the new directives in input order', () => {
    const loaded = [d(0), d(1), d(2)];
    const made = d(9);
    const input = [loaded[0]!, made, loaded[1]!, loaded[2]!];
    const text = Buffer.concat(loadedInputBody(input, { line: LINE, index: new Map(loaded.map((x, i) => [x, i])) })).toString('utf8');
    const lines = text.split('\n');
    expect(lines[0]).toBe(LINE);
    expect(lines.slice(1, -1).map((l) => JSON.parse(l))).toEqual([
      { type: 'refs', index: 0, from: 0, count: 1 },
      { type: 'directive', index: 1, directive: JSON.parse(JSON.stringify(made)) },
      { type: 'refs', index: 2, from: 1, count: 2 },
    ]);
    expect(lines.at(-1)).toBe('');
  });

  it('encodes a shared input once', () => {
    const loaded = [d(0)];
    const index = new Map(loaded.map((x, i) => [x, i]));
    expect(loadedInputBody(loaded, { line: LINE, index })).toBe(loadedInputBody(loaded, { line: LINE, index }));
  });
});
