import { describe, expect, it } from 'vitest';
import { PassThrough, Writable } from 'node:stream';
import { FramingError, JsonLinesWriter, parseJsonLine, splitLines, type Line } from './framing.js';

async function* chunks(...parts: Array<string | Uint8Array>): AsyncGenerator<Uint8Array | string> {
  for (const p of parts) yield p;
}

async function collect(gen: AsyncIterable<Line>): Promise<Line[]> {
  const out: Line[] = [];
  for await (const l of gen) out.push(l);
  return out;
}

async function failure(gen: AsyncIterable<Line>): Promise<{ err: FramingError; seen: Line[] }> {
  const seen: Line[] = [];
  try {
    for await (const l of gen) seen.push(l);
  } catch (err) {
    expect(err).toBeInstanceOf(FramingError);
    return { err: err as FramingError, seen };
  }
  throw new Error('expected a FramingError');
}

describe('splitLines', () => {
  it('splits lines across chunks and numbers them from 1', async () => {
    const lines = await collect(splitLines(chunks('{"a":1}\n{"b"', ':2}\n', '{"c":3}\n'), { maxLineBytes: 100 }));
    expect(lines.map((l) => [l.line, l.text])).toEqual([
      [1, '{"a":1}'],
      [2, '{"b":2}'],
      [3, '{"c":3}'],
    ]);
  });

  it('keeps a multi-byte character split across chunk boundaries intact', async () => {
    const bytes = Buffer.from('"é€😀"\n', 'utf8');
    const parts = [...bytes].map((b) => Uint8Array.of(b));
    const lines = await collect(splitLines(chunks(...parts), { maxLineBytes: 100 }));
    expect(lines).toEqual([{ line: 1, text: '"é€😀"', bytes: bytes.length - 1 }]);
  });

  it('refuses invalid UTF-8 with the line number', async () => {
    const { err, seen } = await failure(
      splitLines(chunks('"ok"\n', Uint8Array.of(0x22, 0xc3, 0x28, 0x22, 0x0a)), { maxLineBytes: 100 }),
    );
    expect(seen).toHaveLength(1);
    expect(err.problem).toBe('invalid-utf8');
    expect(err.line).toBe(2);
  });

  it('refuses a long line while it arrives, before its end is seen', async () => {
    let pulled = 0;
    async function* endless(): AsyncGenerator<string> {
      yield '{"ok":1}\n';
      for (;;) {
        pulled++;
        yield 'x'.repeat(1000);
      }
    }
    const { err } = await failure(splitLines(endless(), { maxLineBytes: 4096 }));
    expect(err.problem).toBe('line-too-long');
    expect(err.line).toBe(2);
    expect(pulled).toBe(5); // 4096 bytes are exceeded by the fifth 1000-byte chunk
  });

  it('accepts a line of exactly the limit', async () => {
    const lines = await collect(splitLines(chunks('x'.repeat(10) + '\n'), { maxLineBytes: 10 }));
    expect(lines[0]?.bytes).toBe(10);
  });

  it('refuses a stream larger than maxTotalBytes', async () => {
    const { err, seen } = await failure(
      splitLines(chunks('{"a":1}\n', '{"a":2}\n', '{"a":3}\n'), { maxLineBytes: 100, maxTotalBytes: 20 }),
    );
    expect(seen).toHaveLength(2);
    expect(err.problem).toBe('output-too-large');
    expect(err.line).toBe(3);
  });

  it('reports every chunk to onBytes', async () => {
    const seen: number[] = [];
    await collect(splitLines(chunks('ab\n', 'cd\n'), { maxLineBytes: 10, onBytes: (_n, t) => seen.push(t) }));
    expect(seen).toEqual([3, 6]);
  });

  it('refuses a last line without newline unless allowed', async () => {
    const { err } = await failure(splitLines(chunks('{"a":1}\n{"b":'), { maxLineBytes: 100 }));
    expect(err.problem).toBe('unterminated');
    expect(err.line).toBe(2);
    const lines = await collect(splitLines(chunks('{"a":1}\n{"b":2}'), { maxLineBytes: 100, allowUnterminatedLast: true }));
    expect(lines.map((l) => l.text)).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('reports an empty line as an error, never skips it', async () => {
    const { err } = await failure(splitLines(chunks('{"a":1}\n\n{"b":2}\n'), { maxLineBytes: 100 }));
    expect(err.problem).toBe('empty-line');
    expect(err.line).toBe(2);
  });

  it('does not keep references to source buffers that are reused', async () => {
    const shared = Buffer.from('abc');
    async function* reuse(): AsyncGenerator<Uint8Array> {
      yield shared;
      shared.write('xyz');
      yield Buffer.from('\n');
    }
    const lines = await collect(splitLines(reuse(), { maxLineBytes: 100 }));
    expect(lines[0]?.text).toBe('abc');
  });
});

describe('parseJsonLine', () => {
  it('parses and names the line of a syntax error', () => {
    expect(parseJsonLine({ line: 1, text: '{"a":1}', bytes: 7 })).toEqual({ a: 1 });
    try {
      parseJsonLine({ line: 7, text: '{"a":', bytes: 5 });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FramingError);
      expect((err as FramingError).line).toBe(7);
      expect((err as FramingError).problem).toBe('invalid-json');
    }
  });
});

describe('JsonLinesWriter', () => {
  it('writes one JSON object per line', async () => {
    const sink = new PassThrough();
    const got: Buffer[] = [];
    sink.on('data', (b: Buffer) => got.push(b));
    const w = new JsonLinesWriter(sink);
    await w.write({ type: 'header', n: 1 });
    await w.write({ s: 'a\nb' });
    await w.end();
    expect(Buffer.concat(got).toString()).toBe('{"type":"header","n":1}\n{"s":"a\\nb"}\n');
  });

  it('waits for drain when the reader is slow', async () => {
    const received: string[] = [];
    let release: (() => void) | undefined;
    const slow = new Writable({
      highWaterMark: 16,
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk.toString());
        release = () => cb();
      },
    });
    const w = new JsonLinesWriter(slow);
    let done = false;
    const p = w.write({ pad: 'x'.repeat(64) }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false); // buffer over its high-water mark: the write awaits 'drain'
    release?.();
    await p;
    expect(done).toBe(true);
  });

  it('rejects a pending write when the stream errors', async () => {
    const broken = new Writable({
      highWaterMark: 1,
      write(_c, _e, cb) {
        setTimeout(() => cb(new Error('EPIPE')), 5);
      },
    });
    const w = new JsonLinesWriter(broken);
    await expect(w.write({ a: 'xxxx' })).rejects.toThrow(/EPIPE|closed/);
    await expect(w.write({ a: 1 })).rejects.toThrow(/EPIPE/);
  });

  it('rejects a pending write on abort', async () => {
    const stuck = new Writable({ highWaterMark: 1, write() {} });
    const ac = new AbortController();
    const w = new JsonLinesWriter(stuck, ac.signal);
    const p = w.write({ a: 'xxxx' });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});
