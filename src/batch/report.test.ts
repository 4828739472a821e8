import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { barLine, ledgerLine } from './progress.js';
import { batchExitCode, newReport, pendingLedger, ReportWriter, summaryLine, totalsOf } from './report.js';
import { BatchReport, type LedgerStatus } from './report-schema.js';

const statuses = (...s: LedgerStatus[]) => s.map((status) => ({ status }));

describe('the batch report', () => {
  it('counts each status, and exits 0 only when every ledger is ok or skipped', () => {
    const t = totalsOf(statuses('ok', 'skipped', 'ok'));
    expect(t).toEqual({ ledgers: 3, ok: 2, skipped: 1, errors: 0, refused: 0, violation: 0, failed: 0, notRun: 0 });
    expect(batchExitCode(t, false)).toBe(0);
    expect(batchExitCode(totalsOf(statuses('ok', 'errors')), false)).toBe(10);
    expect(batchExitCode(totalsOf(statuses('ok', 'refused', 'failed')), false)).toBe(10);
    expect(batchExitCode(totalsOf(statuses('ok', 'not-run')), true)).toBe(11);
  });

  it('sums up in one line', () => {
    const totals = totalsOf(statuses(...Array<LedgerStatus>(17).fill('ok'), 'skipped', 'skipped', 'refused'));
    expect(summaryLine({ batchId: '20260612-abcd', totals }, 192_000, '/r/report.json')).toBe('batch 20260612-abcd: 17 ok, 2 skipped, 1 failed (refused 1) in 3m12s; report: /r/report.json');
    expect(summaryLine({ batchId: 'b', totals: totalsOf(statuses('ok', 'not-run')) }, 5_000, 'r')).toBe('batch b: 1 ok, 0 skipped, 0 failed, 1 not run in 5s; report: r');
  });

  it('is rewritten whole as ledgers finish, and always parses', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'batch-report-'));
    try {
      const report = newReport({ batchId: 'b1', sandboxctlVersion: '0.1.0', startedAt: new Date(0), profile: 'standard', jobs: 2 }, [pendingLedger('/a', 'standard'), pendingLedger('/b', 'standard')]);
      const w = new ReportWriter(report, dir, 0);
      await w.flush();
      expect(BatchReport.parse(JSON.parse(await readFile(w.file, 'utf8'))).totals.notRun).toBe(2);
      w.setLedger(1, { ...pendingLedger('/b', 'standard'), status: 'ok', exitCode: 0, attempts: 1 });
      await w.flush();
      const back = BatchReport.parse(JSON.parse(await readFile(w.file, 'utf8')));
      expect(back.ledgers.map((l) => l.status)).toEqual(['not-run', 'ok']);
      expect(back.totals).toMatchObject({ ok: 1, notRun: 1 });
      expect(await readdir(dir)).toEqual(['report.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('progress', () => {
  it('draws counts and an ETA from the ledgers that ran', () => {
    const t = totalsOf(statuses('ok', 'skipped', 'failed', 'not-run', 'not-run'));
    const line = barLine(t, 1, 10_000, 100);
    expect(line).toMatch(/^\[#+\.+\] 3\/5 ok 1 skipped 1 failed 1 running 1 ETA 10s$/);
    expect(line.length).toBeLessThanOrEqual(100);
  });

  it('writes one plain line per ledger, with terminal control characters made visible', () => {
    const l = { ...pendingLedger('/srv/a\u001b[31m.beancount', 's'), status: 'failed' as const, durationMs: 1234, diagnostics: [{ severity: 'error' as const, code: 'x', title: 'broken', location: null, sourceLine: null, notes: [], plugin: null }] };
    const line = ledgerLine(3, 5, l);
    expect(line).toMatch(/^\[3\/5\] failed \/srv\/a.*\.beancount in 1\.2s: broken$/);
    expect(line).not.toContain('\u001b');
  });
});
