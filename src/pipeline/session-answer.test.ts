import { describe, expect, it } from 'vitest';
import { SandboxViolation } from '../errors.js';
import type { Directive } from '../ledger/directive-schema.js';
import type { Line } from '../protocol/framing.js';
import { runLimits } from '../run/run-limits.js';
import { readSessionAnswer } from './session-answer.js';

const price = (day: number): Directive =>
  ({ type: 'Price', date: `2024-01-${String(day).padStart(2, '0')}`, meta: { filename: '/books/main.beancount', lineno: day }, currency: 'VWCE', amount: { number: '100', currency: 'EUR' } }) as unknown as Directive;
const INPUT = [price(1), price(2), price(3)];

function lines(msgs: unknown[]): () => Promise<Line> {
  const queue = msgs.map((m, i) => {
    const text = JSON.stringify(m);
    return { line: i + 1, text, bytes: Buffer.byteLength(text) };
  });
  return async () => {
    const next = queue.shift();
    if (!next) throw new Error('ended');
    return next;
  };
}

const counts = (o: Partial<Record<string, number>>) => ({ kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0, ...o });
const limits = runLimits({ timeoutMs: 1000 }, 0);

describe('readSessionAnswer', () => {
  it("applies the answer to the input as a container's, and lists what it made in the order sent", async () => {
    let started = false;
    const made = [price(4), price(5)];
    const a = await readSessionAnswer({
      plugin: 'beancount.plugins.implicit_prices',
      input: INPUT,
      effects: ['add', 'modify'],
      limits,
      onStarted: () => (started = true),
      next: lines([
        { type: 'started' },
        { type: 'keep', from: 0, to: 1 },
        { type: 'modify', index: 1, directive: made[0] },
        { type: 'insert', directive: made[1] },
        { type: 'keep', from: 2, to: 3 },
        { type: 'error', message: 'odd', source: null, index: 2 },
        { type: 'done', counts: counts({ kept: 2, modified: 1, inserted: 1, errors: 1 }) },
        { type: 'finished', ms: 12.5, cpu_ms: 11 },
      ]),
    });
    expect(started).toBe(true);
    expect(a.output[0]).toBe(INPUT[0]);
    expect(a.output[3]).toBe(INPUT[2]);
    expect(a.output.slice(1, 3)).toEqual(made);
    // the new ones are the very objects in the output: the host numbers them as the session does
    expect(a.made).toEqual([a.output[1], a.output[2]]);
    expect(a.made[0]).toBe(a.output[1]);
    expect(a).toMatchObject({ counts: counts({ kept: 2, modified: 1, inserted: 1, errors: 1 }), ms: 12.5, cpuMs: 11 });
    expect(a.errors).toEqual([{ message: 'odd', source: null, index: 2 }]);
  });

  it('refuses an effect the grant lacks, exactly as for a container', async () => {
    const r = readSessionAnswer({
      plugin: 'beancount.plugins.check_commodity',
      input: INPUT,
      effects: [],
      limits,
      next: lines([{ type: 'started' }, { type: 'delete', index: 0 }]),
    });
    await expect(r).rejects.toBeInstanceOf(SandboxViolation);
    await expect(r).rejects.toMatchObject({ kind: 'effect' });
  });

  it('refuses an answer that does not account for every input, or lacks its framing', async () => {
    await expect(
      readSessionAnswer({ plugin: 'p', input: INPUT, effects: [], limits, next: lines([{ type: 'started' }, { type: 'keep', from: 0, to: 2 }, { type: 'done', counts: counts({ kept: 2 }) }]) }),
    ).rejects.toMatchObject({ kind: 'protocol' });
    await expect(readSessionAnswer({ plugin: 'p', input: INPUT, effects: [], limits, next: lines([{ type: 'keep', from: 0, to: 3 }]) })).rejects.toMatchObject({ kind: 'protocol' });
    await expect(
      readSessionAnswer({ plugin: 'p', input: INPUT, effects: [], limits, next: lines([{ type: 'started' }, { type: 'keep', from: 0, to: 3 }, { type: 'done', counts: counts({ kept: 3 }) }, { type: 'done' }]) }),
    ).rejects.toMatchObject({ kind: 'protocol' });
  });

  it('holds the answer to the grant\'s line and output sizes', async () => {
    const small = { ...limits, maxLineBytes: 20 };
    await expect(
      readSessionAnswer({ plugin: 'p', input: INPUT, effects: [], limits: small, next: lines([{ type: 'started' }, { type: 'keep', from: 0, to: 3 }]) }),
    ).rejects.toMatchObject({ kind: 'line-size' });
    const tiny = { ...limits, maxOutputBytes: 30 };
    await expect(
      readSessionAnswer({ plugin: 'p', input: INPUT, effects: [], limits: tiny, next: lines([{ type: 'started' }, { type: 'keep', from: 0, to: 1 }, { type: 'keep', from: 1, to: 3 }]) }),
    ).rejects.toMatchObject({ kind: 'output-size' });
  });
});
