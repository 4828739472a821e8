import { describe, expect, it } from 'vitest';
import { encodeRecord, verifyLines } from '../../src/audit/hash-chain.js';
import { GENESIS } from '../../src/audit/record.js';
import { body, bytesOf, reseal } from './audit-fixtures.js';

describe('the batch id in audit records', () => {
  it('is written right after runId when a batch run sets it, and not at all otherwise', () => {
    const inBatch = encodeRecord(body(1, GENESIS, { batchId: 'b-20261206' })).line;
    expect(inBatch).toMatch(/"runId":"run-1","batchId":"b-20261206","event":/);
    const alone = encodeRecord(body(1, GENESIS)).line;
    expect(alone).not.toContain('batchId');
  });

  it('keeps one chain across records with and without it (older logs verify unchanged)', () => {
    const lines: string[] = [];
    let prev = GENESIS;
    for (let seq = 1; seq <= 4; seq++) {
      const { line, hash } = encodeRecord(body(seq, prev, seq % 2 === 0 ? { batchId: 'b1' } : {}));
      lines.push(line.slice(0, -1));
      prev = hash;
    }
    expect(verifyLines(bytesOf(lines))).toMatchObject({ ok: true, length: 4, head: prev });
  });

  it('cannot be added, removed or changed after sealing without breaking the chain', () => {
    const lines: string[] = [];
    let prev = GENESIS;
    for (let seq = 1; seq <= 3; seq++) {
      const { line, hash } = encodeRecord(body(seq, prev, { batchId: 'b1' }));
      lines.push(line.slice(0, -1));
      prev = hash;
    }
    const edited = [...lines];
    edited[1] = reseal(lines[1]!, (b) => (b.batchId = 'b2')).line;
    const v = verifyLines(bytesOf(edited));
    expect(v.ok).toBe(false);
  });
});
