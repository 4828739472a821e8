import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { ChainVerifier, openLine, type ChainVerdict, type ExpectedHead, type OpenedLine } from './hash-chain.js';
import type { AuditRecord } from './record.js';

// A line longer than this is not one of ours; it is cut into pieces that fail to parse.
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/**
 * Yields the file's lines as bytes, newline removed, in order; `terminated` is false only
 * for a last line with no newline. Bytes are never decoded and re-encoded before hashing.
 */
export async function* readLines(file: string): AsyncGenerator<{ bytes: Buffer; terminated: boolean }> {
  const stream = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
  let pending: Buffer[] = [];
  let pendingLength = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
        const piece = chunk.subarray(from, nl);
        yield { bytes: pending.length ? Buffer.concat([...pending, piece]) : piece, terminated: true };
        pending = [];
        pendingLength = 0;
        from = nl + 1;
      }
      if (from < chunk.length) {
        pending.push(chunk.subarray(from));
        pendingLength += chunk.length - from;
        if (pendingLength > MAX_LINE_BYTES) {
          yield { bytes: Buffer.concat(pending), terminated: true };
          pending = [];
          pendingLength = 0;
        }
      }
    }
    if (pendingLength > 0) yield { bytes: Buffer.concat(pending), terminated: false };
  } finally {
    stream.destroy();
  }
}

/** Checks the whole chain of a log file, streaming; stops at the first bad record. */
export async function verifyFile(file: string, expectHead?: ExpectedHead): Promise<ChainVerdict> {
  assertReadable(file);
  const verifier = new ChainVerifier(expectHead);
  for await (const { bytes, terminated } of readLines(file)) {
    if (!verifier.push(bytes, terminated)) break;
  }
  return verifier.end();
}

export interface ReadRecord {
  line: number;
  opened: OpenedLine;
}

/** Every record of one run, in file order (each line's own seal checked, not the chain). */
export async function recordsOfRun(file: string, runId: string): Promise<ReadRecord[]> {
  assertReadable(file);
  const needle = Buffer.from(`"runId":${JSON.stringify(runId)}`);
  const out: ReadRecord[] = [];
  let line = 0;
  for await (const { bytes } of readLines(file)) {
    line++;
    // cheap byte search first: most lines belong to other runs
    if (bytes.includes(needle)) {
      const opened = openLine(bytes);
      if (!opened.ok || opened.record.runId === runId) out.push({ line, opened });
    }
  }
  return out;
}

/** The last n records, read backwards from the end of the file. */
export function lastRecords(file: string, n: number): ReadRecord[] {
  assertReadable(file);
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const lines: Buffer[] = [];
    let carry = Buffer.alloc(0);
    // the final newline closes the last line; it does not open an empty one
    let pos = size;
    const tail = Buffer.alloc(1);
    if (size > 0) {
      fs.readSync(fd, tail, 0, 1, size - 1);
      if (tail[0] === 0x0a) pos = size - 1;
    }
    while (pos > 0 && lines.length < n) {
      const from = Math.max(0, pos - 64 * 1024);
      const chunk = Buffer.alloc(pos - from);
      fs.readSync(fd, chunk, 0, chunk.length, from);
      let buf = Buffer.concat([chunk, carry]);
      for (let nl = buf.lastIndexOf(0x0a); nl >= 0 && lines.length < n; nl = buf.lastIndexOf(0x0a)) {
        lines.push(buf.subarray(nl + 1));
        buf = buf.subarray(0, nl);
      }
      carry = buf;
      pos = from;
    }
    if (pos === 0 && lines.length < n && carry.length > 0) lines.push(carry);
    // line numbers are not known without reading from the start: number them from the end (-1 = last)
    return lines.map((bytes, k) => ({ line: -(k + 1), opened: openLine(bytes) })).reverse();
  } finally {
    fs.closeSync(fd);
  }
}

/** The runId of the last readable record, for `audit show` without --run. */
export function lastRunId(file: string): string | undefined {
  for (const r of lastRecords(file, 50).reverse()) {
    if (r.opened.ok) return r.opened.record.runId;
  }
  return undefined;
}

export type { AuditRecord };

function assertReadable(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new UsageError(`no audit log at ${file}`, {
      cause: err,
      hint: 'name the log with --audit-log FILE or SANDBOXCTL_AUDIT_LOG; without either, the default location for this user is used',
      details: { path: file },
    });
  }
  if (!st.isFile()) throw new UsageError(`${file} is not a regular file`, { hint: 'name the audit log file with --audit-log FILE', details: { path: file } });
}
