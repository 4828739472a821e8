import { describe, expect, it } from 'vitest';
import { HeadTailCapture } from './stderr-capture.js';

describe('HeadTailCapture', () => {
  it('keeps everything that fits', () => {
    const c = new HeadTailCapture(100);
    c.push(Buffer.from('hello '));
    c.push(Buffer.from('world'));
    expect(c.result()).toEqual({ text: 'hello world', totalBytes: 11, truncated: false });
  });

  it('keeps the head and the tail of a long stream and counts the rest', () => {
    const c = new HeadTailCapture(10);
    for (let i = 0; i < 1000; i++) c.push(Buffer.from(String(i % 10)));
    const r = c.result();
    expect(r.truncated).toBe(true);
    expect(r.totalBytes).toBe(1000);
    expect(r.text).toBe('01234\n[... 990 bytes not kept ...]\n56789');
  });

  it('takes the tail of a single chunk larger than the buffer', () => {
    const c = new HeadTailCapture(8);
    c.push(Buffer.from('abcdefghijklmnopqrstuvwxyz'));
    expect(c.result().text).toBe('abcd\n[... 18 bytes not kept ...]\nwxyz');
  });

  it('stays bounded whatever is pushed', () => {
    const c = new HeadTailCapture(1024);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let i = 0; i < 2000; i++) c.push(chunk);
    expect(c.total).toBe(2000 * 64 * 1024);
    expect(c.result().text.length).toBeLessThan(1100);
  });

  it('gives the last lines for error messages', () => {
    const c = new HeadTailCapture(4096);
    c.push(Buffer.from(Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n') + '\n'));
    expect(c.lastLines(3)).toBe('line 47\nline 48\nline 49');
  });
});
