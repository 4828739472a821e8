import { describe, expect, it } from 'vitest';
import { SandboxViolation } from '../errors.js';
import type { PluginMessage } from '../protocol/messages.js';
import { SAMPLE_DIRECTIVES } from '../../test/fixtures/run/sample-directives.js';
import { applyEffects, EffectTracker, type Effect } from './effects.js';

const input = ['a', 'b', 'c', 'd'];
const D = SAMPLE_DIRECTIVES[0]!;
const ALL: Effect[] = ['add', 'modify', 'remove'];
const base = { plugin: 'acme.x', allowed: ALL, maxResults: 100, maxErrors: 100 };
const done = (c: Partial<Record<'kept' | 'modified' | 'inserted' | 'deleted' | 'errors', number>>): PluginMessage => ({
  type: 'done',
  counts: { kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0, ...c },
});

function violation(fn: () => unknown): SandboxViolation {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SandboxViolation);
    return err as SandboxViolation;
  }
  throw new Error('expected a SandboxViolation');
}

describe('applyEffects', () => {
  it('keeps ranges in stream order', () => {
    const r = applyEffects(input, [{ type: 'keep', from: 0, to: 4 }, done({ kept: 4 })], base);
    expect(r.output).toEqual(input);
    expect(r.counts.kept).toBe(4);
  });

  it('applies modify, insert and delete where they appear in the stream', () => {
    const r = applyEffects<unknown>(
      input,
      [
        { type: 'keep', from: 0, to: 1 },
        { type: 'insert', directive: D },
        { type: 'modify', index: 1, directive: D },
        { type: 'delete', index: 2 },
        { type: 'keep', from: 3, to: 4 },
        { type: 'error', message: 'bad', source: { filename: 'x', lineno: 3 }, index: 2 },
        done({ kept: 2, modified: 1, inserted: 1, deleted: 1, errors: 1 }),
      ],
      base,
    );
    expect(r.output).toEqual(['a', D, D, 'd']);
    expect(r.errors).toEqual([{ message: 'bad', source: { filename: 'x', lineno: 3 }, index: 2 }]);
    expect(r.counts).toEqual({ kept: 2, modified: 1, inserted: 1, deleted: 1, errors: 1 });
  });

  it('allows a plugin without effects to keep everything and report errors', () => {
    const r = applyEffects(input, [{ type: 'keep', from: 0, to: 4 }, { type: 'error', message: 'e', source: null, index: null }, done({ kept: 4, errors: 1 })], { ...base, allowed: [] });
    expect(r.output).toEqual(input);
  });

  it('handles empty input', () => {
    expect(applyEffects([], [done({})], base).output).toEqual([]);
  });

  it.each([
    ['modify', { type: 'modify', index: 1, directive: D }, 'modify', /modified input directive 1.*'modify' effect/],
    ['delete', { type: 'delete', index: 1 }, 'remove', /deleted input directive 1.*'remove' effect/],
    ['insert', { type: 'insert', directive: D }, 'add', /inserted a directive.*'add' effect/],
  ] as const)('refuses %s without its effect', (_n, msg, effect, re) => {
    const allowed = ALL.filter((e) => e !== effect);
    const v = violation(() => applyEffects(input, [{ type: 'keep', from: 0, to: 1 }, msg as PluginMessage], { ...base, allowed }));
    expect(v.kind).toBe('effect');
    expect(v.message).toMatch(re);
    expect(v.message).toMatch(/output line 2/);
    expect(v.hint).toMatch(new RegExp(`effects: \\[${effect}\\]`));
    expect(v.exitCode).toBe(4);
  });

  it('refuses an index accounted twice', () => {
    const v = violation(() => applyEffects(input, [{ type: 'keep', from: 0, to: 2 }, { type: 'delete', index: 1 }], base));
    expect(v.kind).toBe('protocol');
    expect(v.message).toMatch(/input 1 is accounted for twice/);
  });

  it('refuses overlapping keep ranges', () => {
    expect(violation(() => applyEffects(input, [{ type: 'keep', from: 0, to: 2 }, { type: 'keep', from: 1, to: 3 }], base)).message).toMatch(/twice/);
  });

  it('refuses indices past the input', () => {
    expect(violation(() => applyEffects(input, [{ type: 'keep', from: 2, to: 5 }], base)).message).toMatch(/goes past the 4 input/);
    expect(violation(() => applyEffects(input, [{ type: 'modify', index: 4, directive: D }], base)).message).toMatch(/refers to input 4/);
    expect(violation(() => applyEffects(input, [{ type: 'delete', index: 9 }], base)).message).toMatch(/refers to input 9/);
    expect(violation(() => applyEffects(input, [{ type: 'error', message: 'x', source: null, index: 4 }], base)).message).toMatch(/error refers to input 4/);
  });

  it('refuses done with inputs unaccounted for, naming them', () => {
    const v = violation(() => applyEffects(input, [{ type: 'keep', from: 1, to: 2 }, done({ kept: 1 })], base));
    expect(v.kind).toBe('protocol');
    expect(v.message).toMatch(/3 input\(s\) were never accounted for: 0, 2, 3/);
  });

  it('refuses done whose counts differ from what was sent', () => {
    const v = violation(() => applyEffects(input, [{ type: 'keep', from: 0, to: 4 }, done({ kept: 3 })], base));
    expect(v.message).toMatch(/kept: done says 3, sent 4/);
    expect(violation(() => applyEffects(input, [{ type: 'keep', from: 0, to: 4 }, done({ kept: 4, errors: 2 })], base)).message).toMatch(/errors: done says 2, sent 0/);
  });

  it('refuses anything after done', () => {
    const v = violation(() => applyEffects(input, [{ type: 'keep', from: 0, to: 4 }, done({ kept: 4 }), { type: 'error', message: 'late', source: null, index: null }], base));
    expect(v.message).toMatch(/follows done/);
  });

  it('reports output without done as cut short', () => {
    const v = violation(() => applyEffects(input, [{ type: 'keep', from: 0, to: 4 }], base));
    expect(v.kind).toBe('early-exit');
    expect(v.message).toMatch(/without done/);
  });

  it('caps results and errors', () => {
    const many: PluginMessage[] = [0, 1, 2, 3].map((i) => ({ type: 'keep', from: i, to: i + 1 }));
    const v = violation(() => applyEffects(input, many, { ...base, maxResults: 3 }));
    expect(v.kind).toBe('result-count');
    expect(v.message).toMatch(/more than 3 results/);
    const errs: PluginMessage[] = Array.from({ length: 3 }, () => ({ type: 'error', message: 'e', source: null, index: null }));
    const e = violation(() => applyEffects(input, errs, { ...base, maxErrors: 2 }));
    expect(e.kind).toBe('error-count');
    expect(e.message).toMatch(/output line 3.*more than 2 errors/);
  });
});

describe('EffectTracker with input still arriving', () => {
  it('refuses a reference to an input not yet sent', () => {
    const sent: string[] = ['a'];
    const t = new EffectTracker({ ...base, inputCount: 4 }, (i) => sent[i]);
    t.accept({ type: 'keep', from: 0, to: 1 }, 1);
    expect(violation(() => t.accept({ type: 'keep', from: 1, to: 2 }, 2)).message).toMatch(/before it was sent/);
  });
});
