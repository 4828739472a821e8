import { describe, expect, it } from 'vitest';
import { resolveAuditPath } from '../../src/audit/location.js';
import { formatRecordDetail, formatVerdict } from '../../src/audit/present.js';
import { openLine } from '../../src/audit/hash-chain.js';
import { encodeRecord } from '../../src/audit/hash-chain.js';
import { GENESIS } from '../../src/audit/record.js';
import { body } from './audit-fixtures.js';

describe('resolveAuditPath', () => {
  const base = { env: {}, uid: 1000, home: '/home/alice', cwd: '/work' };
  it('prefers --audit-log, then $SANDBOXCTL_AUDIT_LOG, then the default', () => {
    const env = { SANDBOXCTL_AUDIT_LOG: '/srv/audit.jsonl' };
    expect(resolveAuditPath({ ...base, env, flag: 'logs/a.jsonl' })).toEqual({ path: '/work/logs/a.jsonl', source: 'flag' });
    expect(resolveAuditPath({ ...base, env })).toEqual({ path: '/srv/audit.jsonl', source: 'env' });
    expect(resolveAuditPath(base)).toEqual({ path: '/home/alice/.local/state/sandboxctl/audit.jsonl', source: 'default' });
  });
  it('uses /var/log for root and honours an absolute XDG_STATE_HOME', () => {
    expect(resolveAuditPath({ ...base, uid: 0 }).path).toBe('/var/log/sandboxctl/audit.jsonl');
    expect(resolveAuditPath({ ...base, env: { XDG_STATE_HOME: '/st' } }).path).toBe('/st/sandboxctl/audit.jsonl');
    expect(resolveAuditPath({ ...base, env: { XDG_STATE_HOME: 'rel' } }).path).toBe('/home/alice/.local/state/sandboxctl/audit.jsonl');
  });
});

describe('presenting records', () => {
  it('shows every recorded fact of a plugin run', () => {
    const b = body(1, GENESIS, {
      ledger: { path: '/l/main.beancount', sha256: 'c'.repeat(64) },
      profile: 'strict',
      capabilities: { granted: [{ capability: 'memory', value: '256MiB' }], denied: [{ capability: 'network', requested: 'egress', allowed: 'none', reason: 'strict' }] },
      runtime: 'runsc',
      apparmorApplied: false,
      limits: { memoryBytes: 256 * 1024 * 1024, timeoutMs: 30_000 },
      usage: { peakMemoryBytes: 10 * 1024 * 1024, cpuNanos: 2.5e9 },
      effects: { kept: 9, modified: 1, inserted: 0, deleted: 2 },
      validationErrors: ['bad amount'],
    });
    const opened = openLine(Buffer.from(encodeRecord(b).line.slice(0, -1)));
    if (!opened.ok) throw new Error(opened.message);
    const text = formatRecordDetail(opened.record);
    for (const s of ['/l/main.beancount', 'profile', 'strict', 'memory="256MiB"', 'network: requested egress, allowed none', 'runtime runsc', 'apparmor not applied', 'memory 256.0 MiB', 'timeout 30.00 s', 'peak memory 10.0 MiB', 'cpu 2.50 s', 'deleted 2', '1 error', 'bad amount']) {
      expect(text).toContain(s);
    }
  });
  it('words a broken chain with the line, seq and kind', () => {
    const t = formatVerdict('/x', { ok: false, length: 2, head: 'h', problem: { line: 3, seq: 4, kind: 'deleted', message: 'm' } });
    expect(t).toContain('NOT intact: deleted at line 3 (seq 4)');
  });
});
