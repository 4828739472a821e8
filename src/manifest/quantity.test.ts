import { describe, expect, it } from 'vitest';
import { formatDuration, formatSize, parseDuration, parseSize } from './quantity.js';

describe('parseSize', () => {
  it.each([
    ['128Mi', 128 * 1024 ** 2],
    ['64MB', 64e6],
    ['1Gi', 1024 ** 3],
    ['16Ki', 16384],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['4096', 4096],
    [4096, 4096],
  ])('%s -> %d bytes', (input, bytes) => {
    expect(parseSize(input)).toEqual({ ok: true, value: bytes });
  });
  it.each(['', 'lots', '-1Mi', '12 parsecs', '1Ti', 'Mi'])('rejects %j with the expected form', (input) => {
    const r = parseSize(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(/expected a size such as '128Mi'/);
  });
  it('rejects negative and fractional byte counts', () => {
    expect(parseSize(-1).ok).toBe(false);
    expect(parseSize(1.5).ok).toBe(false);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['2m', 120_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5s', 1500],
  ])('%s -> %d ms', (input, ms) => {
    expect(parseDuration(input)).toEqual({ ok: true, value: ms });
  });
  it('needs a unit unless the caller names one for bare numbers', () => {
    expect(parseDuration('30').ok).toBe(false);
    expect(parseDuration('30', 's')).toEqual({ ok: true, value: 30_000 });
  });
  it('says what it expected and what it found', () => {
    const r = parseDuration('soon');
    expect(r).toEqual({ ok: false, error: `expected a duration such as '500ms', '30s', '2m' or '1h', found "soon"` });
  });
});

describe('formatting', () => {
  it('round-trips the units people write', () => {
    expect(formatSize(128 * 1024 ** 2)).toBe('128Mi');
    expect(formatSize(64e6)).toBe('64MB');
    expect(formatSize(1000)).toBe('1KB');
    expect(formatSize(1023)).toBe('1023B');
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(120_000)).toBe('2m');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
