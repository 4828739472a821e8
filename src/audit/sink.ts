import fs from 'node:fs';
import path from 'node:path';
import { pino, type DestinationStream, type Logger, type TransportMultiOptions, type TransportSingleOptions } from 'pino';
import { AuditWriteError } from '../errors.js';
import { openLine, sealLine } from './hash-chain.js';
import { acquireLock, type LockOptions } from './lock.js';
import { GENESIS, type AuditRecordBody } from './record.js';

/** Longest line the tail reader will walk back over; records are bounded far below this. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;
const TAIL_CHUNK = 64 * 1024;

export interface ChainTail {
  /** seq of the last record (0 for an empty log). */
  seq: number;
  /** hash of the last record (the genesis value for an empty log). */
  prev: string;
}

export interface SinkOptions extends LockOptions {
  /** pino transport(s) that receive a copy of every sealed line after it is on disk. */
  ship?: TransportSingleOptions | TransportMultiOptions;
}

/**
 * The append-only JSON-lines file behind the audit log. Each append takes the cross-process
 * lock, reads only the tail for the previous hash, writes one line through pino and fsyncs
 * before the lock is released, so concurrent writers keep one chain.
 */
export class AuditSink {
  private readonly file = new FileDestination();
  private readonly shipStream: (DestinationStream & { end?: () => void; on?: (event: string, listener: (...args: unknown[]) => void) => unknown }) | undefined;
  private readonly logger: Logger;
  private sealed: { line: string; hash: string } | undefined;

  constructor(
    readonly path: string,
    private readonly opts: SinkOptions = {},
  ) {
    this.shipStream = opts.ship ? (pino.transport(opts.ship) as DestinationStream) : undefined;
    const dest = this.shipStream
      ? // the file comes first: a record that is not on disk is never shipped
        pino.multistream([{ stream: this.file }, { stream: this.shipStream }])
      : this.file;
    this.logger = pino(
      {
        base: null,
        timestamp: false, // the record carries its own time, from the injected clock
        hooks: {
          // the chain is computed on the exact text pino produced, just before it is written
          streamWrite: (s: string) => {
            this.sealed = sealLine(s);
            return this.sealed.line;
          },
        },
      },
      dest,
    );
  }

  /** Fails fast (before any plugin runs) when the log cannot be written or its tail is damaged. */
  async check(): Promise<void> {
    await this.withFile(async (fd) => {
      readTail(fd, this.path);
    });
  }

  /** Appends one record built from the current tail; resolves once the line is on disk. */
  async append(build: (tail: ChainTail) => AuditRecordBody): Promise<{ seq: number; hash: string }> {
    return this.withFile(async (fd, size) => {
      const tail = readTail(fd, this.path);
      const body = build(tail);
      this.file.fd = fd;
      this.sealed = undefined;
      // pino writes its own "level" first; the rest of the body follows in schema order
      const { level: _level, ...rest } = body;
      try {
        this.logger.info(rest);
      } catch (err) {
        // leave no half-written line behind: the next writer must find a clean tail
        try {
          fs.ftruncateSync(fd, size);
        } catch {
          // nothing more can be done; verify will name the damaged line
        }
        throw writeError(this.path, 'cannot write the audit record', err);
      } finally {
        this.file.fd = -1;
      }
      const sealed = this.sealed as { hash: string } | undefined;
      if (!sealed) throw writeError(this.path, 'pino wrote no line', undefined);
      if (size === 0) syncDir(path.dirname(this.path));
      return { seq: body.seq, hash: sealed.hash };
    });
  }

  /** Flushes and stops the shipping transport, if any. */
  async close(): Promise<void> {
    const s = this.shipStream as unknown as { end(): void; once(ev: string, cb: () => void): void } | undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.once('close', resolve);
      s.end();
    });
  }

  private async withFile<T>(fn: (fd: number, size: number) => Promise<T>): Promise<T> {
    const dir = path.dirname(this.path);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o750 });
    } catch (err) {
      throw writeError(this.path, `cannot create the directory ${dir}`, err);
    }
    const release = await acquireLock(`${this.path}.lock`, this.opts);
    let fd = -1;
    try {
      try {
        // 'a+': appends always go to the end; reads serve the tail
        fd = fs.openSync(this.path, 'a+', 0o640);
      } catch (err) {
        throw writeError(this.path, 'cannot open the audit log for appending', err);
      }
      return await fn(fd, fs.fstatSync(fd).size);
    } finally {
      if (fd >= 0) fs.closeSync(fd);
      await release();
    }
  }
}

// A pino destination that writes each line with one write(2) and fsyncs it before returning.
class FileDestination {
  fd = -1;
  write(line: string): void {
    if (this.fd < 0) throw new Error('audit: no audit log is open for writing');
    const buf = Buffer.from(line, 'utf8');
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    fs.fsyncSync(this.fd);
  }
}

/** Reads the last record from the end of the file (never the whole file) and checks its seal. */
export function readTail(fd: number, file: string): ChainTail {
  const size = fs.fstatSync(fd).size;
  if (size === 0) return { seq: 0, prev: GENESIS };
  const lastByte = Buffer.alloc(1);
  fs.readSync(fd, lastByte, 0, 1, size - 1);
  if (lastByte[0] !== 0x0a) throw damaged(file, 'the file ends in the middle of a record (no final newline)');
  let start = size - 1;
  const chunks: Buffer[] = [];
  for (;;) {
    const from = Math.max(0, start - TAIL_CHUNK);
    const chunk = Buffer.alloc(start - from);
    fs.readSync(fd, chunk, 0, chunk.length, from);
    const nl = chunk.lastIndexOf(0x0a);
    if (nl >= 0) {
      chunks.unshift(chunk.subarray(nl + 1));
      break;
    }
    chunks.unshift(chunk);
    start = from;
    if (from === 0) break;
    if (size - from > MAX_LINE_BYTES) throw damaged(file, `the last line is longer than ${MAX_LINE_BYTES} bytes`);
  }
  const opened = openLine(Buffer.concat(chunks));
  if (!opened.ok) throw damaged(file, `the last record is ${opened.kind}: ${opened.message}`);
  return { seq: opened.record.seq, prev: opened.hash };
}

function syncDir(dir: string): void {
  // a new file's directory entry must be durable too
  let fd = -1;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some file systems refuse fsync on directories; the file itself is synced
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

function damaged(file: string, what: string): AuditWriteError {
  return new AuditWriteError(`cannot append to the audit log ${file}: ${what}`, {
    hint: `run \`sandboxctl audit verify --audit-log ${file}\`; to start a new chain, move the damaged log aside (keep it as evidence)`,
    details: { path: file },
  });
}

function writeError(file: string, what: string, cause: unknown): AuditWriteError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new AuditWriteError(`${what}: ${file}${code ? ` (${code})` : ''}`, {
    cause,
    hint:
      code === 'ENOSPC'
        ? 'the disk holding the audit log is full; free space and run again'
        : 'the audit log must be a writable file in a writable directory; choose another with --audit-log or SANDBOXCTL_AUDIT_LOG',
    details: { path: file, errno: code ?? null },
  });
}
