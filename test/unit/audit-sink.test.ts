import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuditWriteError, ExitCode } from '../../src/errors.js';
import { loadShipOptions, openAuditLog, openInvocationAuditLog, type AuditEntry } from '../../src/audit/index.js';
import { encodeRecord } from '../../src/audit/hash-chain.js';
import { GENESIS } from '../../src/audit/record.js';
import { verifyFile } from '../../src/audit/verify.js';
import { actor, body, entry } from './audit-fixtures.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-audit-'));
  file = path.join(dir, 'logs', 'audit.jsonl');
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const clock = () => new Date('2026-11-01T12:00:00.000Z');
const open = (p = file, extra = {}) => openAuditLog(p, { actor, argv: ['sandboxctl', 'run', 'x.beancount'], clock, ...extra });
const linesOf = (p: string) => fs.readFileSync(p, 'utf8').split('\n').filter(Boolean);

describe('the audit sink', () => {
  it('appends sealed, chained JSON lines, creating the directory, and returns each seq and hash', async () => {
    const log = await open();
    const a = await log.append(entry(1));
    const b = await log.append(entry(2, { event: 'refused', outcome: { status: 'refused', exitCode: ExitCode.refused } }));
    const lines = linesOf(file).map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, v: 1, seq: 1, prev: GENESIS, hash: a.hash, time: '2026-11-01T12:00:00.000Z', actor });
    expect(lines[1]).toMatchObject({ seq: 2, prev: a.hash, hash: b.hash, event: 'refused' });
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect(await verifyFile(file)).toEqual({ ok: true, length: 2, head: b.hash, headSeq: 2 });
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  it('continues the chain of an existing log (a second process opening it later)', async () => {
    await (await open()).append(entry(1));
    const again = await open();
    expect(await again.append(entry(2))).toMatchObject({ seq: 2 });
    expect(await verifyFile(file)).toMatchObject({ ok: true, length: 2 });
  });

  it('has the line on disk and fsynced before append resolves', async () => {
    const log = await open();
    await log.append(entry(1));
    const events: string[] = [];
    const realFsync = fs.fsyncSync;
    vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
      if (fs.fstatSync(fd).ino === fs.statSync(file).ino) {
        // the record is written before it is synced
        events.push(`fsync:${linesOf(file).length}`);
      }
      return realFsync(fd);
    });
    const done = log.append(entry(2)).then(() => events.push('resolved'));
    await done;
    expect(events).toEqual(['fsync:2', 'resolved']);
  });

  it('reads only the tail of a large log to find the previous hash', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let prev = GENESIS;
    const out: string[] = [];
    for (let seq = 1; seq <= 8000; seq++) {
      const r = encodeRecord(body(seq, prev));
      out.push(r.line);
      prev = r.hash;
    }
    fs.writeFileSync(file, out.join(''));
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(4 * 1024 * 1024);
    const log = await open();
    let read = 0;
    const realRead = fs.readSync;
    vi.spyOn(fs, 'readSync').mockImplementation(((fd: number, buf: NodeJS.ArrayBufferView, off: number, len: number, pos: number) => {
      const n = realRead(fd, buf, off, len, pos);
      read += n;
      return n;
    }) as typeof fs.readSync);
    expect(await log.append(entry(8001))).toMatchObject({ seq: 8001 });
    expect(read).toBeGreaterThan(0);
    expect(read).toBeLessThan(128 * 1024);
    expect(await verifyFile(file)).toMatchObject({ ok: true, length: 8001 });
  });

  it('fails with AuditWriteError (exit 6) when the directory cannot be created', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, '');
    const err = await open(path.join(blocker, 'audit.jsonl')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditWriteError);
    expect((err as AuditWriteError).exitCode).toBe(6);
    expect((err as AuditWriteError).message).toMatch(/cannot create the directory/);
    expect((err as AuditWriteError).hint).toMatch(/--audit-log/);
  });

  it('fails with AuditWriteError when the log path is a directory', async () => {
    fs.mkdirSync(file, { recursive: true });
    const err = await open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditWriteError);
    expect((err as AuditWriteError).message).toMatch(/cannot open the audit log/);
  });

  it('undoes a partial write and fails when the disk is full', async () => {
    const log = await open();
    await log.append(entry(1));
    const before = fs.statSync(file).size;
    const realWrite = fs.writeSync;
    vi.spyOn(fs, 'writeSync').mockImplementationOnce(((fd: number, buf: NodeJS.ArrayBufferView, off: number, len: number) => {
      realWrite(fd, buf, off, Math.floor(len / 2));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    }) as unknown as typeof fs.writeSync);
    const err = await log.append(entry(2)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditWriteError);
    expect((err as AuditWriteError).hint).toMatch(/disk .* is full/);
    expect(fs.statSync(file).size).toBe(before);
    vi.restoreAllMocks();
    expect(await log.append(entry(2))).toMatchObject({ seq: 2 });
    expect(await verifyFile(file)).toMatchObject({ ok: true, length: 2 });
  });

  it('refuses to append to a log that ends mid-record or whose last record was edited', async () => {
    await (await open()).append(entry(1));
    const good = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, good.slice(0, -10));
    await expect(open()).rejects.toThrow(/ends in the middle of a record/);
    fs.writeFileSync(file, good.replace('alice', 'mallory'));
    await expect(open()).rejects.toThrow(/last record is edited/);
  });

  it('times out with a clear error while another live process holds the lock', async () => {
    const log = await open(file, { timeoutMs: 300 });
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: process.pid, host: os.hostname(), since: 'now', token: 'x' }));
    const started = Date.now();
    const err = await log.append(entry(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditWriteError);
    expect((err as AuditWriteError).message).toMatch(new RegExp(`held by pid ${process.pid}`));
    expect((err as AuditWriteError).hint).toMatch(/remove .*audit\.jsonl\.lock/);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fs.existsSync(file) ? linesOf(file) : []).toHaveLength(0);
  });

  it('breaks a lock left by a process that is gone', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const log = await open();
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), since: 'then', token: 'y' }));
    expect(await log.append(entry(1))).toMatchObject({ seq: 1 });
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  });

  it('keeps call order for appends made at once from one process', async () => {
    const log = await open();
    const results = await Promise.all([1, 2, 3, 4, 5].map((k) => log.append(entry(k))));
    expect(results.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(linesOf(file).map((l) => JSON.parse(l).plugin.name)).toEqual(['plugins.p1', 'plugins.p2', 'plugins.p3', 'plugins.p4', 'plugins.p5']);
  });

  it('ships the same sealed lines through a pino transport after they are on disk', async () => {
    const shipped = path.join(dir, 'shipped.jsonl');
    const log = await open(file, { ship: { target: 'pino/file', options: { destination: shipped, mkdir: true } } });
    await log.append(entry(1));
    await log.append(entry(2));
    await log.close();
    expect(fs.readFileSync(shipped, 'utf8')).toBe(fs.readFileSync(file, 'utf8'));
    expect(await verifyFile(shipped)).toMatchObject({ ok: true, length: 2 });
  });
});

describe('opening the log for an invocation', () => {
  it('resolves the path from the environment and records the actor and argv', async () => {
    const log = await openInvocationAuditLog({ env: { SANDBOXCTL_AUDIT_LOG: file }, argv: ['sandboxctl', 'run', 'a'], clock });
    expect(log.path).toBe(file);
    await log.append(entry(1));
    const rec = JSON.parse(linesOf(file)[0]!);
    expect(rec.argv).toEqual(['sandboxctl', 'run', 'a']);
    expect(rec.actor.host).toBe(os.hostname());
  });

  it('refuses a shipping config that is not pino transport options', async () => {
    const cfg = path.join(dir, 'ship.json');
    fs.writeFileSync(cfg, '{"nope":1}');
    await expect(loadShipOptions({ SANDBOXCTL_AUDIT_SHIP: cfg })).rejects.toThrow(AuditWriteError);
    fs.writeFileSync(cfg, '{not json');
    await expect(loadShipOptions({ SANDBOXCTL_AUDIT_SHIP: cfg })).rejects.toThrow(/cannot read the audit shipping config/);
    expect(await loadShipOptions({})).toBeUndefined();
  });
});

describe('records for each way a run ends', () => {
  const cases: Array<[string, AuditEntry]> = [
    ['success', entry(1, { effects: { kept: 10, modified: 1, inserted: 2, deleted: 0 }, io: { inputCount: 11, inputDigest: 'sha256:aa', outputCount: 3, outputDigest: 'sha256:bb' } })],
    ['refusal', { runId: 'r', event: 'refused', plugin: { name: 'p' }, profile: 'strict', capabilities: { denied: [{ capability: 'network', requested: 'egress', allowed: 'none', reason: 'profile strict allows no network' }] }, outcome: { status: 'refused', exitCode: 3 } }],
    ['violation', entry(3, { outcome: { status: 'violation', exitCode: 4, violation: 'effect', message: 'deleted an Open directive' }, validationErrors: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] })],
    ['crash', entry(4, { outcome: { status: 'crash', exitCode: 4, violation: 'crash', message: 'runner exited 1' } })],
    ['timeout', entry(5, { outcome: { status: 'timeout', exitCode: 4, violation: 'timeout' }, usage: { peakMemoryBytes: 1e6, cpuNanos: 3e9 } })],
    ['oom', entry(6, { outcome: { status: 'oom', exitCode: 4, violation: 'memory' }, limits: { memoryBytes: 64 * 1024 * 1024, pids: 64 } })],
    ['interrupt', { runId: 'r', event: 'interrupted', outcome: { status: 'interrupted', exitCode: 130, message: 'SIGINT' } }],
    ['engine down', { runId: 'r', event: 'engine-unavailable', outcome: { status: 'engine-unavailable', exitCode: 5 } }],
  ];
  it.each(cases)('%s: one complete record, every field present, chain intact', async (_name, e) => {
    const log = await open();
    await log.append(e);
    const [rec] = linesOf(file).map((l) => JSON.parse(l));
    expect(Object.keys(rec)).toEqual([
      'level', 'v', 'seq', 'prev', 'time', 'runId', 'event', 'actor', 'argv', 'ledger', 'plugin', 'imageId', 'profile',
      'capabilities', 'specDigest', 'seccompDigest', 'runtime', 'apparmorApplied', 'limits', 'usage', 'durationMs',
      'outcome', 'io', 'effects', 'validationErrors', 'isolation', 'hash',
    ]);
    expect(rec.event).toBe(e.event);
    expect(rec.outcome).toMatchObject({ status: e.outcome.status, exitCode: e.outcome.exitCode ?? null });
    expect(rec.validationErrors.count).toBe(e.validationErrors?.length ?? 0);
    expect(rec.validationErrors.first.length).toBeLessThanOrEqual(5);
    expect(await verifyFile(file)).toMatchObject({ ok: true, length: 1 });
  });

  it('bounds untrusted text and rejects a malformed entry before sealing', async () => {
    const log = await open();
    await log.append(entry(1, { outcome: { status: 'error', message: 'x'.repeat(100_000) } }));
    expect(JSON.parse(linesOf(file)[0]!).outcome.message.length).toBeLessThan(2100);
    await expect(log.append({ runId: 'r', event: 'nope' as never, outcome: { status: 'ok' } })).rejects.toThrow(AuditWriteError);
    expect(linesOf(file)).toHaveLength(1);
  });
});
