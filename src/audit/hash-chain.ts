import { createHash } from 'node:crypto';
import { AUDIT_SCHEMA_VERSION, AuditRecordBody, GENESIS, type AuditRecord } from './record.js';

// A line is `{...body...,"hash":"<sha256 of the body bytes>"}`: the body is the line with the
// seal cut off and its closing brace put back. Hashing the exact bytes written (not a
// re-serialisation) means no JSON library's key order or escaping can break verification.
const SEAL_PREFIX = ',"hash":"';
const SEAL_LENGTH = SEAL_PREFIX.length + 64 + 2;
const SEAL_RE = /^,"hash":"([0-9a-f]{64})"\}$/;
const RECORD_START = '{"level":';
const decoder = new TextDecoder('utf-8', { fatal: true });

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Seals one JSON object text (as pino produced it, trailing newline optional): appends
 * the hash of its exact UTF-8 bytes as the last key. Returns the line to write and its hash.
 */
export function sealLine(body: string): { line: string; hash: string } {
  const text = body.endsWith('\n') ? body.slice(0, -1) : body;
  // the seal goes after the last key, so the object must have at least one
  if (!text.startsWith('{"') || !text.endsWith('}') || text.includes('\n')) {
    throw new Error(`audit: cannot seal a line that is not a one-line, non-empty JSON object: ${text.slice(0, 80)}`);
  }
  const hash = sha256Hex(text);
  return { line: `${text.slice(0, -1)}${SEAL_PREFIX}${hash}"}\n`, hash };
}

/** Serialises a body the way the sink writes it; for tests and tools that build lines by hand. */
export function encodeRecord(body: AuditRecordBody): { line: string; hash: string } {
  return sealLine(JSON.stringify(body));
}

export type LineProblemKind = 'edited' | 'malformed' | 'truncated';

export type OpenedLine =
  | { ok: true; record: AuditRecord; hash: string }
  | { ok: false; kind: LineProblemKind; seq: number | null; message: string };

/** Checks one line (without its newline) on its own: JSON, seal, hash over the body, schema. */
export function openLine(bytes: Uint8Array): OpenedLine {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { ok: false, kind: 'malformed', seq: null, message: 'not valid UTF-8' };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const looksCut = text.startsWith(RECORD_START);
    return {
      ok: false,
      kind: looksCut ? 'truncated' : 'malformed',
      seq: seqOf(text),
      message: looksCut
        ? `the record is cut short or spliced: not valid JSON (${(err as Error).message})`
        : `not an audit record: not valid JSON (${(err as Error).message})`,
    };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, kind: 'malformed', seq: null, message: 'not an audit record: not a JSON object' };
  }
  const obj = parsed as Record<string, unknown>;
  const seq = typeof obj.seq === 'number' ? obj.seq : null;
  const seal = SEAL_RE.exec(text.slice(-SEAL_LENGTH));
  if (!seal || obj.hash !== seal[1]) {
    return {
      ok: false,
      kind: 'hash' in obj ? 'edited' : 'malformed',
      seq,
      message:
        'hash' in obj
          ? 'the line was re-serialised: its hash is no longer the last key in the sealed form'
          : 'not an audit record: it has no hash seal',
    };
  }
  const claimed = seal[1]!;
  const body = bytes.subarray(0, bytes.length - SEAL_LENGTH);
  const actual = createHash('sha256').update(body).update('}').digest('hex');
  if (actual !== claimed) {
    return {
      ok: false,
      kind: 'edited',
      seq,
      message: `the record was changed after it was written: its content hashes to ${actual.slice(0, 12)}..., its seal says ${claimed.slice(0, 12)}...`,
    };
  }
  if (obj.v !== AUDIT_SCHEMA_VERSION) {
    return { ok: false, kind: 'malformed', seq, message: `schema version ${JSON.stringify(obj.v)} is not one this sandboxctl reads (expected ${AUDIT_SCHEMA_VERSION})` };
  }
  const { hash: _hash, ...rest } = obj;
  const checked = AuditRecordBody.safeParse(rest);
  if (!checked.success) {
    const first = checked.error.issues[0];
    return {
      ok: false,
      kind: 'malformed',
      seq,
      message: `sealed, but not a valid audit record: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'schema mismatch'}`,
    };
  }
  return { ok: true, record: { ...checked.data, hash: claimed } as AuditRecord, hash: claimed };
}

function seqOf(text: string): number | null {
  const m = /"seq":(\d+)/.exec(text);
  return m ? Number(m[1]) : null;
}

export type TamperKind =
  | 'edited'
  | 'deleted'
  | 'inserted'
  | 'reordered'
  | 'truncated'
  | 'malformed'
  | 'seq-gap'
  | 'head-missing';

export interface ChainProblem {
  /** 1-based line number of the first bad record. */
  line: number;
  seq: number | null;
  kind: TamperKind;
  message: string;
}

export type ChainVerdict =
  | { ok: true; length: number; head: string; headSeq: number }
  /** `length` / `head`: the records before the first bad one, which still verify. */
  | { ok: false; problem: ChainProblem; length: number; head: string };

export interface ExpectedHead {
  hash: string;
  /** When published with its seq, a log cut short at the end is named as truncated. */
  seq?: number;
}

type Summary =
  | { line: number; state: 'ok'; seq: number; prev: string; hash: string }
  | { line: number; state: 'bad'; kind: LineProblemKind; seq: number | null; message: string };

interface Accepted {
  line: number;
  seq: number;
  hash: string;
}

// How many lines after the first break are read to tell a deletion from a reordering or an insertion.
const LOOKAHEAD = 4096;
// How many verified records are remembered to recognise a copy or a branch of the chain.
const WINDOW = 4096;

/**
 * Streaming verifier: push each line (bytes without the newline) in file order, then end().
 * Memory stays bounded however long the log is. push() returns false once the verdict is
 * known, so the caller can stop reading.
 */
export class ChainVerifier {
  private lineNo = 0;
  private last: Accepted = { line: 0, seq: 0, hash: GENESIS };
  private count = 0;
  private readonly window = new Map<string, Accepted>();
  private headSeen: Accepted | undefined;
  private broken: { first: Summary; later: Summary[] } | undefined;
  private finalProblem: ChainProblem | undefined;

  constructor(private readonly expectHead?: ExpectedHead) {}

  push(bytes: Uint8Array, terminated = true): boolean {
    if (this.finalProblem) return false;
    const line = ++this.lineNo;
    if (!terminated) {
      // only the file's last line can lack its newline: a write was cut short
      this.finalProblem = this.broken
        ? this.classify()
        : {
            line,
            seq: seqOf(Buffer.from(bytes).toString('utf8')),
            kind: 'truncated',
            message: `the file ends in the middle of a record: line ${line} has no newline (${bytes.length} bytes)`,
          };
      return false;
    }
    const opened = openLine(bytes);
    const s: Summary = opened.ok
      ? { line, state: 'ok', seq: opened.record.seq, prev: opened.record.prev, hash: opened.hash }
      : { line, state: 'bad', kind: opened.kind, seq: opened.seq, message: opened.message };
    if (this.broken) {
      this.broken.later.push(s);
      if (this.broken.later.length >= LOOKAHEAD) {
        this.finalProblem = this.classify();
        return false;
      }
      return true;
    }
    if (s.state === 'ok' && s.seq === this.last.seq + 1 && s.prev === this.last.hash) {
      this.accept({ line, seq: s.seq, hash: s.hash });
      return true;
    }
    this.broken = { first: s, later: [] };
    return true;
  }

  end(): ChainVerdict {
    if (!this.finalProblem && this.broken) this.finalProblem = this.classify();
    if (this.finalProblem) {
      const before = this.prefixBefore(this.finalProblem.line);
      return { ok: false, problem: this.finalProblem, length: before.count, head: before.hash };
    }
    const head = this.expectHead;
    if (head && !(this.headSeen && (head.seq === undefined || head.seq === this.headSeen.seq))) {
      return { ok: false, problem: this.headProblem(head), length: this.count, head: this.last.hash };
    }
    return { ok: true, length: this.count, head: this.last.hash, headSeq: this.last.seq };
  }

  private accept(a: Accepted): void {
    this.last = a;
    this.count++;
    this.window.set(a.hash, a);
    if (this.window.size > WINDOW) this.window.delete(this.window.keys().next().value!);
    if (this.expectHead && a.hash === this.expectHead.hash) this.headSeen = a;
  }

  // The verified prefix ends just before the first bad line (found in the window when it is recent).
  private prefixBefore(line: number): { count: number; hash: string } {
    if (line > this.last.line) return { count: this.count, hash: this.last.hash };
    const kept = [...this.window.values()].filter((a) => a.line < line).pop();
    return kept ? { count: kept.seq, hash: kept.hash } : { count: 0, hash: GENESIS };
  }

  private headProblem(head: ExpectedHead): ChainProblem {
    const end = this.last;
    if (head.seq !== undefined && end.seq < head.seq) {
      return {
        line: end.line + 1,
        seq: end.seq + 1,
        kind: 'truncated',
        message: `the published head is seq ${head.seq}, but the chain ends at seq ${end.seq}: records ${end.seq + 1}..${head.seq} were removed from the end`,
      };
    }
    return {
      line: end.line,
      seq: end.seq,
      kind: 'head-missing',
      message: `the published head ${head.hash.slice(0, 12)}...${head.seq === undefined ? '' : ` (seq ${head.seq})`} is not in this chain: the log was cut short or rewritten up to its end`,
    };
  }

  private classify(): ChainProblem {
    const { first, later } = this.broken!;
    const e = this.last.seq + 1;
    const P = this.last.hash;
    const i = first.line;
    const next = later.find((s) => s.state === 'ok');
    const resumesAt = (seq: number, prev: string) =>
      later.find((s) => s.state === 'ok' && s.seq === seq && s.prev === prev);

    if (first.state === 'bad') {
      // a junk line the chain simply continues around was inserted
      if (first.kind === 'malformed' && next && next.line === i + 1 && next.seq === e && next.prev === P) {
        return { line: i, seq: first.seq, kind: 'inserted', message: `line ${i} is not an audit record and the chain continues around it: ${first.message}` };
      }
      return { line: i, seq: first.seq, kind: first.kind, message: first.message };
    }

    const s = first.seq;
    if (s === e) {
      const real = resumesAt(e, P);
      if (real) {
        return { line: i, seq: s, kind: 'inserted', message: `lines ${i}..${real.line - 1} are not part of the chain: seq ${e} continues it at line ${real.line}` };
      }
      if (this.last.line === 0) {
        return { line: i, seq: s, kind: 'edited', message: `the first record's prev is ${first.prev.slice(0, 12)}..., not the genesis value: it was rewritten` };
      }
      return {
        line: this.last.line,
        seq: this.last.seq,
        kind: 'edited',
        message: `the record was rewritten and resealed: line ${i} (seq ${s}) was chained to ${first.prev.slice(0, 12)}..., but line ${this.last.line} now hashes to ${P.slice(0, 12)}...`,
      };
    }

    if (s > e) {
      if (first.prev === P) {
        return { line: i, seq: s, kind: 'seq-gap', message: `seq jumps from ${e - 1} to ${s} although line ${i} is chained to line ${i - 1}: its seq was changed and resealed` };
      }
      const expected = resumesAt(e, P);
      if (expected) {
        // a moved record is still linked to its neighbours; a forged one is linked to nothing
        const linked =
          later.some((x) => x.state === 'ok' && (x.prev === first.hash || x.hash === first.prev)) ||
          this.window.has(first.prev);
        return linked
          ? { line: i, seq: s, kind: 'reordered', message: `records are out of order: line ${i} holds seq ${s}, but seq ${e} (which follows line ${i - 1}) is at line ${expected.line}` }
          : { line: i, seq: s, kind: 'inserted', message: `line ${i} (seq ${s}) is linked to no record in the log, and the chain continues at line ${expected.line}` };
      }
      return {
        line: i,
        seq: s,
        kind: 'deleted',
        message: `${e === s - 1 ? `record seq ${e} is` : `records seq ${e}..${s - 1} are`} missing ${
          i === 1 ? `from the start: the log begins at seq ${s}` : `between line ${i - 1} (seq ${e - 1}) and line ${i} (seq ${s})`
        }`,
      };
    }

    // s < e: a seq already used
    const copy = this.window.get(first.hash);
    if (copy) {
      return { line: i, seq: s, kind: 'inserted', message: `line ${i} is a copy of line ${copy.line} (seq ${s})` };
    }
    const branchFrom = this.window.get(first.prev);
    if (branchFrom && s === branchFrom.seq + 1) {
      // two runs of records follow line j; the one the later log keeps growing is the real one
      const spliced = this.last.line - branchFrom.line;
      let cur = first.hash;
      let continued = 1;
      for (const x of later) if (x.state === 'ok' && x.prev === cur) (cur = x.hash), continued++;
      if (continued > spliced) {
        return {
          line: branchFrom.line + 1,
          seq: branchFrom.seq + 1,
          kind: 'inserted',
          message: `lines ${branchFrom.line + 1}..${i - 1} are not part of the chain: line ${i} (seq ${s}) continues it from line ${branchFrom.line}`,
        };
      }
      return { line: i, seq: s, kind: 'inserted', message: `lines from ${i} on branch off the chain at line ${branchFrom.line}: seq ${s} was already used at line ${branchFrom.line + 1}` };
    }
    return { line: i, seq: s, kind: 'inserted', message: `line ${i} repeats seq ${s} (the chain is already at seq ${e - 1}) and is linked to no recent record` };
  }
}

/** Verifies whole lines at once (tests, small logs); the file verifier streams instead. */
export function verifyLines(lines: Uint8Array[], finalTerminated = true, expectHead?: ExpectedHead): ChainVerdict {
  const v = new ChainVerifier(expectHead);
  for (let k = 0; k < lines.length; k++) {
    if (!v.push(lines[k]!, k < lines.length - 1 || finalTerminated)) break;
  }
  return v.end();
}
