import { describe, expect, it } from 'vitest';
import { directiveJson } from './directive-json.js';
import type { Directive } from './directive-schema.js';

describe('directiveJson', () => {
  it('is exactly JSON.stringify, made once per directive object', () => {
    const d = { type: 'Open', date: '2024-01-01', meta: { filename: 'f', lineno: 1 }, account: 'Assets:Cash', currencies: ['EUR'], booking: null } as unknown as Directive;
    expect(directiveJson(d)).toBe(JSON.stringify(d));
    expect(`{"type":"directive","index":3,"directive":${directiveJson(d)}}`).toBe(JSON.stringify({ type: 'directive', index: 3, directive: d }));
    expect(directiveJson(d)).toBe(directiveJson(d));
  });
});
