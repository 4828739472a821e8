import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/index.js';
import { openAuditLog } from '../../src/audit/index.js';
import { actor, entry } from './audit-fixtures.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-audit-cli-'));
const file = path.join(dir, 'audit.jsonl');
let heads: string[] = [];

beforeAll(async () => {
  const log = await openAuditLog(file, { actor, argv: ['sandboxctl', 'run', 'main.beancount'] });
  heads = [];
  for (let k = 1; k <= 5; k++) heads.push((await log.append(entry(k, k === 5 ? { runId: 'run-evil', plugin: { name: 'evil\u001b[2Jplugin' } } : {}))).hash);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    const code = await main(['node', 'sandboxctl', ...args]);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

function tampered(change: (lines: string[]) => void): string {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  change(lines);
  const p = path.join(dir, `t-${Math.random().toString(36).slice(2)}.jsonl`);
  fs.writeFileSync(p, lines.join('\n'));
  return p;
}

describe('sandboxctl audit verify', () => {
  it('reports a clean chain with its length and head, exit 0', async () => {
    const r = await cli('audit', 'verify', '--audit-log', file);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`intact, 5 records, head 5:${heads[4]}`);
    const j = await cli('audit', 'verify', '--audit-log', file, '--json');
    expect(JSON.parse(j.out)).toEqual({ path: file, ok: true, length: 5, head: heads[4], headSeq: 5 });
  });

  it('takes the log from $SANDBOXCTL_AUDIT_LOG, and the flag over it', async () => {
    vi.stubEnv('SANDBOXCTL_AUDIT_LOG', file);
    try {
      expect(JSON.parse((await cli('audit', 'verify', '--json')).out).length).toBe(5);
      const r = await cli('audit', 'verify', '--json', '--audit-log', path.join(dir, 'missing.jsonl'));
      expect(r.code).toBe(2);
      expect(r.err).toContain('no audit log at');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('names the first bad record of a tampered log, exit 8', async () => {
    const deleted = tampered((l) => l.splice(1, 1));
    const r = await cli('audit', 'verify', '--audit-log', deleted);
    expect(r.code).toBe(8);
    expect(r.out).toMatch(/NOT intact: deleted at line 2 \(seq 3\)/);
    const j = JSON.parse((await cli('audit', 'verify', '--audit-log', deleted, '--json')).out);
    expect(j).toMatchObject({ ok: false, length: 1, head: heads[0], problem: { line: 2, seq: 3, kind: 'deleted' } });
  });

  it('checks a published head with --expect-head', async () => {
    const cut = tampered((l) => l.splice(3, 2));
    expect((await cli('audit', 'verify', '--audit-log', cut)).code).toBe(0);
    const r = await cli('audit', 'verify', '--audit-log', cut, '--expect-head', `5:${heads[4]}`, '--json');
    expect(r.code).toBe(8);
    expect(JSON.parse(r.out).problem).toMatchObject({ kind: 'truncated', line: 4, seq: 4 });
    expect((await cli('audit', 'verify', '--audit-log', file, '--expect-head', `3:${heads[2]}`)).code).toBe(0);
    expect((await cli('audit', 'verify', '--audit-log', file, '--expect-head', 'nothex')).code).toBe(2);
  });
});

describe('sandboxctl audit show and tail', () => {
  it('shows every record of one run in full', async () => {
    const r = await cli('audit', 'show', '--audit-log', file, '--run', 'run-2');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/#3 .*plugin-run {2}ok exit 0/);
    expect(r.out).toMatch(/#4 /);
    expect(r.out).not.toMatch(/#2 /);
    expect(r.out).toContain('alice (uid 1000) on ledger-box');
    const j = JSON.parse((await cli('audit', 'show', '--audit-log', file, '--run', 'run-2', '--json')).out);
    expect(j.records.map((x: { seq: number }) => x.seq)).toEqual([3, 4]);
  });

  it('shows the most recent run by default, with untrusted text made safe', async () => {
    const r = await cli('audit', 'show', '--audit-log', file);
    expect(r.out).toContain('run-evil');
    expect(r.out).toContain('evil\\x1b[2Jplugin');
    expect(r.out).not.toContain('\u001b');
  });

  it('refuses an unknown run id', async () => {
    const r = await cli('audit', 'show', '--audit-log', file, '--run', 'nope');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no records of run nope');
  });

  it('tails the last n records, one line each', async () => {
    const r = await cli('audit', 'tail', '--audit-log', file, '-n', '2');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^#4 /);
    expect(lines[1]).toMatch(/^#5 /);
    const j = JSON.parse((await cli('audit', 'tail', '--audit-log', file, '-n', '50', '--json')).out);
    expect(j.records.map((x: { seq: number }) => x.seq)).toEqual([1, 2, 3, 4, 5]);
    expect((await cli('audit', 'tail', '--audit-log', file, '-n', '0')).code).toBe(2);
  });

  it('shows a damaged record in its place and exits 8', async () => {
    const edited = tampered((l) => (l[4] = l[4]!.replace('alice', 'mallory')));
    const r = await cli('audit', 'tail', '--audit-log', edited, '-n', '3');
    expect(r.code).toBe(8);
    expect(r.out).toMatch(/line 1 from the end: damaged record \(edited, seq 5\)/);
    expect(r.out).toMatch(/^#3 /m);
  });
});
