import { describe, expect, it } from 'vitest';
import type { Line } from '../protocol/framing.js';
import { readLoader } from './load-ledger.js';

const format = { encoding: 'pickle', pickle: 5, python: '3.11', beancount: '2.3.5', codec: 1 };
const note = { type: 'Note', date: '2020-01-01', meta: { filename: '/l', lineno: 1 }, account: 'Assets:Cash', comment: 'c' };

function lines(msgs: unknown[]): AsyncIterator<Line> {
  const all = msgs.map((m, i) => ({ line: i + 1, text: JSON.stringify(m), bytes: JSON.stringify(m).length }));
  return (async function* () {
    yield* all;
  })();
}

const head = [
  { type: 'options', options: {}, sandbox: { plugin_sandbox: null, plugin_timeout: null, plugin_memory_limit: null }, input_hash: 'h' },
  { type: 'plugins', processing_mode: 'default', pre: [], plugins: [], post: [] },
  { type: 'directive', index: 0, directive: note },
];

describe('readLoader and the loader\'s pickle', () => {
  it('keeps the "loaded" line as it came, unread, beside the directives', async () => {
    const loaded = { type: 'loaded', format, count: 1, data: 'gAWVAAAA' };
    const l = await readLoader(lines([...head, loaded, { type: 'done', count: 1, errors: 0 }]));
    expect(l.directives).toEqual([note]);
    expect(l.pickled).toEqual({ format, line: JSON.stringify(loaded) });
  });

  it('has no pickle when the loader sent none', async () => {
    const l = await readLoader(lines([...head, { type: 'done', count: 1, errors: 0 }]));
    expect(l.pickled).toBeUndefined();
  });

  it('refuses a pickle whose count is not the number of directives sent', async () => {
    await expect(readLoader(lines([...head, { type: 'loaded', format, count: 2, data: '' }, { type: 'done', count: 1, errors: 0 }]))).rejects.toThrow(
      /line 4: the pickle holds 2 directives, 1 were sent/,
    );
  });
});
