import { describe, expect, it } from 'vitest';
import { encodeRecord, openLine, sealLine, verifyLines, type ChainVerdict } from '../../src/audit/hash-chain.js';
import { GENESIS } from '../../src/audit/record.js';
import { body, bytesOf, chainOf, reseal } from './audit-fixtures.js';

function problem(v: ChainVerdict) {
  if (v.ok) throw new Error(`expected a broken chain, got an intact one of ${v.length}`);
  return v.problem;
}

describe('sealing', () => {
  it('hashes the exact bytes of the line body and puts the hash last', () => {
    const { line, hash } = encodeRecord(body(1, GENESIS));
    expect(line.endsWith(`,"hash":"${hash}"}\n`)).toBe(true);
    const opened = openLine(Buffer.from(line.slice(0, -1)));
    expect(opened.ok && opened.record.seq === 1 && opened.hash === hash).toBe(true);
  });

  it('keeps non-ASCII text byte-exact', () => {
    const { line } = encodeRecord(body(1, GENESIS, { outcome: { status: 'error', message: 'Kontoauszug für Zürich ✓ \u2028' } }));
    const opened = openLine(Buffer.from(line.slice(0, -1), 'utf8'));
    expect(opened.ok && opened.record.outcome.message).toBe('Kontoauszug für Zürich ✓ \u2028');
  });

  it('refuses to seal something that is not a one-line JSON object', () => {
    expect(() => sealLine('{}')).toThrow(/non-empty JSON object/);
    expect(() => sealLine('[1]')).toThrow();
  });
});

describe('verifying a chain', () => {
  it('reports a clean chain with its length and head', () => {
    const { lines, hashes } = chainOf(6);
    expect(verifyLines(bytesOf(lines))).toEqual({ ok: true, length: 6, head: hashes[5], headSeq: 6 });
  });

  it('reports an empty log as intact at the genesis value', () => {
    expect(verifyLines([])).toEqual({ ok: true, length: 0, head: GENESIS, headSeq: 0 });
  });

  it('names an edited record (content changed, seal left alone) at its own line', () => {
    const { lines, hashes } = chainOf(6);
    lines[2] = lines[2]!.replace('"status":"ok"', '"status":"refused"');
    const v = verifyLines(bytesOf(lines));
    expect(problem(v)).toMatchObject({ line: 3, seq: 3, kind: 'edited' });
    expect(v).toMatchObject({ length: 2, head: hashes[1] });
  });

  it('names an edited and resealed record at its line, through its successor', () => {
    const { lines } = chainOf(6);
    lines[2] = reseal(lines[2]!, (b) => ((b.actor as { user: string }).user = 'mallory')).line;
    const p = problem(verifyLines(bytesOf(lines)));
    expect(p).toMatchObject({ line: 3, seq: 3, kind: 'edited' });
    expect(p.message).toMatch(/rewritten and resealed/);
  });

  it('names a deleted record at the line where the gap shows', () => {
    const { lines, hashes } = chainOf(6);
    lines.splice(2, 1);
    const v = verifyLines(bytesOf(lines));
    expect(problem(v)).toMatchObject({ line: 3, seq: 4, kind: 'deleted' });
    expect(problem(v).message).toMatch(/record seq 3 is missing/);
    expect(v).toMatchObject({ length: 2, head: hashes[1] });
  });

  it('names deleted records at the start of the log', () => {
    const { lines } = chainOf(6);
    lines.splice(0, 2);
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 1, seq: 3, kind: 'deleted' });
  });

  it('names a forged record linked to nothing as inserted', () => {
    const { lines } = chainOf(6);
    const forged = encodeRecord(body(99, 'f'.repeat(64))).line.slice(0, -1);
    lines.splice(2, 0, forged);
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 3, seq: 99, kind: 'inserted' });
  });

  it('names a well-forged record (right seq, right prev) as inserted once the real chain goes on around it', () => {
    const { lines, hashes } = chainOf(6);
    const forged = encodeRecord(body(3, hashes[1]!, { runId: 'forged' })).line.slice(0, -1);
    lines.splice(2, 0, forged);
    const v = verifyLines(bytesOf(lines));
    expect(problem(v)).toMatchObject({ line: 3, seq: 3, kind: 'inserted' });
    expect(v).toMatchObject({ length: 2, head: hashes[1] });
  });

  it('names a forged record that claims the next seq but links elsewhere as inserted', () => {
    const { lines } = chainOf(6);
    lines.splice(2, 0, encodeRecord(body(3, 'e'.repeat(64))).line.slice(0, -1));
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 3, seq: 3, kind: 'inserted' });
  });

  it('names a copied record as inserted, and says what it copies', () => {
    const { lines } = chainOf(6);
    lines.splice(4, 0, lines[1]!);
    const p = problem(verifyLines(bytesOf(lines)));
    expect(p).toMatchObject({ line: 5, seq: 2, kind: 'inserted' });
    expect(p.message).toMatch(/copy of line 2/);
  });

  it('names a junk line the chain continues around as inserted', () => {
    const { lines } = chainOf(6);
    lines.splice(3, 0, 'hello from the editor');
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 4, kind: 'inserted' });
  });

  it('names swapped records as reordered', () => {
    const { lines } = chainOf(6);
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    const p = problem(verifyLines(bytesOf(lines)));
    expect(p).toMatchObject({ line: 3, seq: 4, kind: 'reordered' });
    expect(p.message).toMatch(/seq 3 .* is at line 4/);
  });

  it('names a record moved from the end into the middle as reordered', () => {
    const { lines } = chainOf(6);
    lines.splice(2, 0, lines.pop()!);
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 3, seq: 6, kind: 'reordered' });
  });

  it('names the last two records swapped as reordered', () => {
    const { lines } = chainOf(6);
    [lines[4], lines[5]] = [lines[5]!, lines[4]!];
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 5, seq: 6, kind: 'reordered' });
  });

  it('names a file that ends in the middle of a record as truncated at that line', () => {
    const { lines, hashes } = chainOf(6);
    lines[5] = lines[5]!.slice(0, 40);
    const v = verifyLines(bytesOf(lines), false);
    expect(problem(v)).toMatchObject({ line: 6, seq: 6, kind: 'truncated' });
    expect(v).toMatchObject({ length: 5, head: hashes[4] });
  });

  it('names a record cut short in the middle of the file as truncated at its line', () => {
    const { lines } = chainOf(6);
    lines[2] = lines[2]!.slice(0, 120);
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 3, seq: 3, kind: 'truncated' });
  });

  it('names bytes cut across two records (one spliced line) as truncated at that line', () => {
    const { lines } = chainOf(6);
    const spliced = lines[2]!.slice(0, 200) + lines[3]!.slice(300);
    lines.splice(2, 2, spliced);
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 3, seq: 3, kind: 'truncated' });
  });

  it('names a line that is not JSON as malformed', () => {
    const { lines } = chainOf(6);
    lines[3] = 'not json at all';
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 4, kind: 'malformed' });
  });

  it('names a changed seq with an intact link as a seq gap', () => {
    const { lines } = chainOf(6);
    lines[3] = reseal(lines[3]!, (b) => (b.seq = 40)).line;
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 4, seq: 40, kind: 'seq-gap' });
  });

  it('names a record rewritten with an unknown schema version as malformed', () => {
    const { lines } = chainOf(3);
    lines[1] = reseal(lines[1]!, (b) => (b.v = 2)).line;
    expect(problem(verifyLines(bytesOf(lines)))).toMatchObject({ line: 2, kind: 'malformed' });
  });

  it('cannot see whole records cut from the end on its own, and names them with a published head', () => {
    const { lines, hashes } = chainOf(6);
    const cut = lines.slice(0, 4);
    // the limit of any hash chain: a shorter prefix is itself a valid chain
    expect(verifyLines(bytesOf(cut))).toMatchObject({ ok: true, length: 4 });
    const v = verifyLines(bytesOf(cut), true, { seq: 6, hash: hashes[5]! });
    expect(problem(v)).toMatchObject({ line: 5, seq: 5, kind: 'truncated' });
    expect(problem(v).message).toMatch(/records 5\.\.6 were removed/);
  });

  it('accepts a published head that is still in a log that has grown since', () => {
    const { lines, hashes } = chainOf(6);
    expect(verifyLines(bytesOf(lines), true, { seq: 4, hash: hashes[3]! })).toMatchObject({ ok: true, length: 6 });
    expect(verifyLines(bytesOf(lines), true, { hash: hashes[3]! })).toMatchObject({ ok: true, length: 6 });
  });

  it('cannot see a resealed rewrite of the tail on its own, and names it with a published head', () => {
    const { lines, hashes } = chainOf(6);
    const published = { seq: 6, hash: hashes[5]! };
    // rewrite records 4..6 and reseal every one, chaining each to the new previous hash
    let prev = hashes[2]!;
    for (let k = 3; k < 6; k++) {
      const r = reseal(lines[k]!, (b) => {
        (b.outcome as { status: string }).status = 'refused';
        b.prev = prev;
      });
      lines[k] = r.line;
      prev = r.hash;
    }
    expect(verifyLines(bytesOf(lines))).toMatchObject({ ok: true, length: 6 });
    expect(problem(verifyLines(bytesOf(lines), true, published))).toMatchObject({ kind: 'head-missing', line: 6, seq: 6 });
  });
});
