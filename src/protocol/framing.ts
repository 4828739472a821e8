// JSON-lines framing for untrusted streams: lines are split on the byte 0x0A (which
// never occurs inside a multi-byte UTF-8 sequence), so chunk boundaries cannot split a
// character; each line is decoded strictly once it is complete. A line longer than the
// limit is refused as soon as its bytes exceed it, so no line is ever buffered unbounded.

export type FramingProblem =
  | 'line-too-long'
  | 'output-too-large'
  | 'invalid-utf8'
  | 'unterminated'
  | 'empty-line'
  | 'invalid-json';

/** A bad line (or stream) with the 1-based line number it was found on. Never skipped. */
export class FramingError extends Error {
  readonly problem: FramingProblem;
  readonly line: number;
  /** Bytes read from the stream when the problem was found. */
  readonly bytesRead: number;
  constructor(problem: FramingProblem, line: number, bytesRead: number, message: string, opts?: { cause?: unknown }) {
    super(`line ${line}: ${message}`, opts);
    this.name = 'FramingError';
    this.problem = problem;
    this.line = line;
    this.bytesRead = bytesRead;
  }
}

export interface SplitOptions {
  /** Largest line accepted, in bytes, without its terminating newline. */
  maxLineBytes: number;
  /** Largest total number of bytes read from the stream; unlimited when omitted. */
  maxTotalBytes?: number;
  /** Accept a last line with no newline (files); protocol streams must end with "\n". */
  allowUnterminatedLast?: boolean;
  /** Called with each chunk's size as it arrives (byte accounting, progress). */
  onBytes?: (n: number, total: number) => void;
}

export interface Line {
  /** 1-based line number in the stream. */
  line: number;
  text: string;
  /** Size of the line in bytes, without the newline. */
  bytes: number;
}

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines. Pull-based: the next chunk is read only when the
 * consumer asks for the next line, so backpressure reaches the source.
 */
export async function* splitLines(
  source: AsyncIterable<Uint8Array | string>,
  opts: SplitOptions,
): AsyncGenerator<Line, void, undefined> {
  if (!(opts.maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be positive, got ${opts.maxLineBytes}`);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let parts: Buffer[] = [];
  let pending = 0;
  let lineNo = 1;
  let total = 0;

  const finish = (last: Buffer): Line => {
    const buf = parts.length === 0 ? last : Buffer.concat([...parts, last]);
    parts = [];
    pending = 0;
    if (buf.length === 0) throw new FramingError('empty-line', lineNo, total, 'empty line; every line must hold one JSON object');
    let text: string;
    try {
      text = decoder.decode(buf);
    } catch (err) {
      throw new FramingError('invalid-utf8', lineNo, total, 'line is not valid UTF-8', { cause: err });
    }
    return { line: lineNo++, text, bytes: buf.length };
  };

  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    total += buf.length;
    opts.onBytes?.(buf.length, total);
    if (opts.maxTotalBytes !== undefined && total > opts.maxTotalBytes) {
      throw new FramingError(
        'output-too-large',
        lineNo,
        total,
        `stream exceeds ${opts.maxTotalBytes} bytes in total (read ${total})`,
      );
    }
    let start = 0;
    while (start < buf.length) {
      const nl = buf.indexOf(NEWLINE, start);
      const end = nl === -1 ? buf.length : nl;
      const size = pending + (end - start);
      if (size > opts.maxLineBytes) {
        throw new FramingError(
          'line-too-long',
          lineNo,
          total,
          `line is longer than ${opts.maxLineBytes} bytes (at least ${size} read so far)`,
        );
      }
      if (nl === -1) {
        // copy: the source may reuse its buffer once we ask for the next chunk
        parts.push(Buffer.from(buf.subarray(start)));
        pending = size;
        break;
      }
      yield finish(buf.subarray(start, nl));
      start = nl + 1;
    }
  }
  if (pending > 0 || parts.length > 0) {
    if (!opts.allowUnterminatedLast) {
      throw new FramingError('unterminated', lineNo, total, 'stream ended in the middle of a line (no final newline)');
    }
    yield finish(Buffer.alloc(0));
  }
}

/** JSON.parse of one line; a syntax error names the line. The result is untrusted data. */
export function parseJsonLine(line: Line): unknown {
  try {
    return JSON.parse(line.text);
  } catch (err) {
    throw new FramingError('invalid-json', line.line, 0, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** A writable end we can serialise messages to (a socket, a pipe, a file stream). */
export interface WritableLike {
  write(chunk: string | Buffer, cb?: (err?: Error | null) => void): boolean;
  end(cb?: () => void): unknown;
  once(event: 'drain' | 'error' | 'close', listener: (...args: unknown[]) => void): unknown;
  removeListener(event: 'drain' | 'error' | 'close', listener: (...args: unknown[]) => void): unknown;
}

/**
 * Writes one JSON object per line and honours backpressure: when the stream's buffer is
 * full, `write` waits for 'drain' (or rejects on 'error' / 'close' / abort).
 */
export class JsonLinesWriter {
  private failed: Error | undefined;
  bytesWritten = 0;
  constructor(
    private readonly out: WritableLike,
    private readonly signal?: AbortSignal,
  ) {
    // kept for the writer's lifetime: a stream may emit more than one error
    (out as unknown as { on(e: 'error', l: (err: unknown) => void): unknown }).on('error', (err) => {
      this.failed ??= err instanceof Error ? err : new Error(String(err));
    });
  }

  async write(message: unknown): Promise<void> {
    const line = JSON.stringify(message) + '\n';
    await this.writeRaw(line);
  }

  /** Writes text (or its UTF-8 bytes) that is already one or more complete lines. */
  async writeRaw(line: string | Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    this.signal?.throwIfAborted();
    this.bytesWritten += typeof line === 'string' ? Buffer.byteLength(line) : line.length;
    if (this.out.write(line)) return;
    await this.waitDrain();
  }

  /** Ends the stream; resolves once it has flushed, or at once if it already failed. */
  end(): Promise<void> {
    if (this.failed) return Promise.resolve();
    return new Promise((resolve) => {
      this.out.once('close', () => resolve());
      this.out.end(() => resolve());
    });
  }

  private waitDrain(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        this.out.removeListener('drain', onDrain);
        this.out.removeListener('error', onError);
        this.out.removeListener('close', onClose);
        this.signal?.removeEventListener('abort', onAbort);
      };
      const onDrain = () => {
        cleanup();
        resolve();
      };
      const onError = (err: unknown) => {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const onClose = () => {
        cleanup();
        reject(this.failed ?? new Error('stream closed before its buffer drained'));
      };
      const onAbort = () => {
        cleanup();
        reject(this.signal?.reason);
      };
      this.out.once('drain', onDrain);
      this.out.once('error', onError);
      this.out.once('close', onClose);
      this.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
