import { encodeRecord, sealLine } from '../../src/audit/hash-chain.js';
import { buildRecordBody, GENESIS, type AuditEntry, type AuditRecordBody } from '../../src/audit/record.js';

export const actor = { user: 'alice', uid: 1000, host: 'ledger-box', sudoUser: null };

export function entry(k: number, over: Partial<AuditEntry> = {}): AuditEntry {
  return {
    runId: `run-${Math.ceil(k / 2)}`,
    event: 'plugin-run',
    plugin: { name: `plugins.p${k}`, version: '1.0.0', bundleHash: `sha256:${'ab'.repeat(32)}` },
    outcome: { status: 'ok', exitCode: 0 },
    durationMs: 100 + k,
    ...over,
  };
}

export function body(seq: number, prev: string, over: Partial<AuditEntry> = {}): AuditRecordBody {
  return buildRecordBody(entry(seq, over), {
    seq,
    prev,
    time: new Date(Date.UTC(2026, 10, 1, 12, 0, seq)),
    actor,
    argv: ['sandboxctl', 'run', 'main.beancount'],
  });
}

/** A valid chain of n sealed lines (without newlines), and each line's hash. */
export function chainOf(n: number): { lines: string[]; hashes: string[] } {
  const lines: string[] = [];
  const hashes: string[] = [];
  let prev = GENESIS;
  for (let seq = 1; seq <= n; seq++) {
    const { line, hash } = encodeRecord(body(seq, prev));
    lines.push(line.slice(0, -1));
    hashes.push(hash);
    prev = hash;
  }
  return { lines, hashes };
}

/** Changes a sealed line's body and seals it again, as an attacker who knows the format would. */
export function reseal(line: string, change: (b: Record<string, unknown>) => void): { line: string; hash: string } {
  const parsed = JSON.parse(line) as Record<string, unknown>;
  delete parsed.hash;
  change(parsed);
  const sealed = sealLine(JSON.stringify(parsed));
  return { line: sealed.line.slice(0, -1), hash: sealed.hash };
}

export const bytesOf = (lines: string[]): Buffer[] => lines.map((l) => Buffer.from(l, 'utf8'));
