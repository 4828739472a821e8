import { describe, expect, it } from 'vitest';
import { DEFAULT_VALUE_LIMITS } from './value-limits.js';
import { findStructureProblem } from './structure.js';

const opts = { limits: DEFAULT_VALUE_LIMITS };

describe('findStructureProblem', () => {
  it('accepts plain JSON', () => {
    expect(findStructureProblem({ a: [1, 'x', null, true, { b: 'c' }] }, opts)).toBeUndefined();
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s at any depth', (key) => {
    const v = JSON.parse(`{"directive":{"meta":{"ok":1,"${key}":{"polluted":true}}}}`);
    const p = findStructureProblem(v, opts);
    expect(p?.path).toBe(`directive.meta.${key}`);
    expect(p?.message).toMatch(/refused/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses a forbidden key inside an array element', () => {
    expect(findStructureProblem(JSON.parse('{"a":[{"__proto__":1}]}'), opts)?.path).toBe('a[0].__proto__');
  });

  it('refuses a control character in a string and says where', () => {
    const p = findStructureProblem({ directive: { narration: 'a\nb' } }, opts);
    expect(p?.path).toBe('directive.narration');
    expect(p?.message).toMatch(/U\+000A/);
  });

  it('refuses a control character in a key', () => {
    expect(findStructureProblem({ 'a\nb': 1 }, opts)?.message).toMatch(/U\+000A/);
  });

  it('allows newlines only in message paths', () => {
    const messagePaths = new Set(['message']);
    expect(findStructureProblem({ message: 'Traceback\n  x' }, { ...opts, messagePaths })).toBeUndefined();
    expect(findStructureProblem({ other: 'Traceback\n  x' }, { ...opts, messagePaths })?.path).toBe('other');
  });

  it('caps string length (message paths have their own cap)', () => {
    const limits = { ...DEFAULT_VALUE_LIMITS, maxStringLength: 7, maxErrorMessageLength: 10 };
    expect(findStructureProblem({ s: '12345678' }, { limits })?.message).toMatch(/longer than the limit of 7/);
    expect(findStructureProblem({ message: '123456789' }, { limits, messagePaths: new Set(['message']) })).toBeUndefined();
    expect(findStructureProblem({ message: '12345678901' }, { limits, messagePaths: new Set(['message']) })?.message).toMatch(/limit of 10/);
  });

  it('caps depth, array length and key count', () => {
    const limits = { ...DEFAULT_VALUE_LIMITS, maxDepth: 3, maxArrayItems: 2, maxObjectKeys: 2 };
    expect(findStructureProblem({ a: { b: { c: {} } } }, { limits })?.message).toMatch(/deeper than 3/);
    expect(findStructureProblem({ a: [1, 2, 3] }, { limits })?.message).toMatch(/3 items/);
    expect(findStructureProblem({ a: 1, b: 2, c: 3 }, { limits })?.message).toMatch(/3 keys/);
  });

  it('survives very deep nesting without recursing past the limit', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    expect(findStructureProblem(deep, opts)?.message).toMatch(/deeper than 16/);
  });
});
