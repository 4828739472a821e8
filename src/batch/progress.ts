// Progress on stderr (stdout carries the summary only): on a terminal, one bar with the
// counts and an ETA, redrawn in place; otherwise one plain line per finished ledger.
import type { ReportLedger, ReportTotals } from './report-schema.js';
import { formatElapsed } from './report.js';
import { safeText } from '../safe-text.js';

export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** The bar's text for a width (pure). */
export function barLine(t: ReportTotals, running: number, elapsedMs: number, width: number): string {
  const done = t.ledgers - t.notRun;
  const failed = t.errors + t.refused + t.violation + t.failed;
  // the ETA comes from the ledgers that ran (skips take no time to speak of)
  const ran = done - t.skipped;
  const left = t.ledgers - done;
  const eta = ran > 0 && left > 0 ? ` ETA ${formatElapsed((elapsedMs / ran) * left)}` : '';
  const text = ` ${done}/${t.ledgers} ok ${t.ok} skipped ${t.skipped} failed ${failed} running ${running}${eta}`;
  const barWidth = Math.max(10, Math.min(40, width - text.length - 3));
  const filled = t.ledgers === 0 ? barWidth : Math.round((done / t.ledgers) * barWidth);
  return `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${text}`;
}

/** One finished ledger as a plain line (pure). */
export function ledgerLine(done: number, total: number, l: ReportLedger): string {
  const took = l.durationMs === null ? '' : ` in ${(l.durationMs / 1000).toFixed(1)}s`;
  const why = l.status === 'skipped' ? '' : l.diagnostics[0] ? `: ${l.diagnostics[0].title}` : '';
  return safeText(`[${done}/${total}] ${l.status} ${l.ledger}${took}${why}`);
}

export class Progress {
  private readonly t0 = Date.now();
  private drawn = false;

  constructor(private readonly out: ProgressSink) {}

  finished(l: ReportLedger, t: ReportTotals, running: number): void {
    if (this.out.isTTY) this.draw(t, running);
    else this.out.write(ledgerLine(t.ledgers - t.notRun, t.ledgers, l) + '\n');
  }

  started(t: ReportTotals, running: number): void {
    if (this.out.isTTY) this.draw(t, running);
  }

  /** A line that must not be overdrawn (the batch stopping, say). */
  note(s: string): void {
    if (this.drawn) this.out.write('\r\u001b[K');
    this.drawn = false;
    this.out.write(s + '\n');
  }

  end(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }

  private draw(t: ReportTotals, running: number): void {
    this.out.write(`\r\u001b[K${barLine(t, running, Date.now() - this.t0, this.out.columns ?? 80)}`);
    this.drawn = true;
  }
}
