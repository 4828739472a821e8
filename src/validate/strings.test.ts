import { describe, expect, it } from 'vitest';
import { findUnsafeLedgerChar, findUnsafeMessageChar } from './strings.js';

describe('ledger strings', () => {
  it.each([
    ['newline', 'a\nb', 'U+000A'],
    ['carriage return', 'a\rb', 'U+000D'],
    ['tab', 'a\tb', 'U+0009'],
    ['NUL', 'a\u0000', 'U+0000'],
    ['escape', '\u001b[31mred', 'U+001B'],
    ['DEL', 'a\u007f', 'U+007F'],
    ['C1 NEL', 'a\u0085b', 'U+0085'],
    ['C1 CSI', '\u009b2J', 'U+009B'],
    ['line separator', 'a\u2028b', 'U+2028'],
    ['paragraph separator', 'a\u2029b', 'U+2029'],
    ['right-to-left override', 'abc\u202edef', 'U+202E'],
    ['isolate', '\u2066x', 'U+2066'],
    ['lone high surrogate', 'a\ud83d', 'U+D83D'],
    ['lone low surrogate', '\ude00a', 'U+DE00'],
  ])('refuses %s', (_name, s, cp) => {
    expect(findUnsafeLedgerChar(s)?.codePoint).toBe(cp);
  });

  it('names the offset', () => {
    expect(findUnsafeLedgerChar('abc\ndef')).toEqual({ offset: 3, codePoint: 'U+000A' });
  });

  it.each([['plain', 'Lunch'], ['quotes and backslashes (escaped by the printer)', 'say "hi" \\ ok'], ['accents and emoji', 'café ☕ 😀'], ['CJK', '東京'], ['Arabic', 'مرحبا']])(
    'accepts %s',
    (_name, s) => {
      expect(findUnsafeLedgerChar(s)).toBeUndefined();
    },
  );
});

describe('error message strings', () => {
  it('accept newlines and tabs (tracebacks)', () => {
    expect(findUnsafeMessageChar('Traceback:\n\tline 3\n')).toBeUndefined();
  });
  it('refuse other controls', () => {
    expect(findUnsafeMessageChar('x\u001b[2J')?.codePoint).toBe('U+001B');
    expect(findUnsafeMessageChar('x\r')?.codePoint).toBe('U+000D');
    expect(findUnsafeMessageChar('x\u202e')?.codePoint).toBe('U+202E');
  });
});
