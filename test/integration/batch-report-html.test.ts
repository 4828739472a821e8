// report.html in a real browser (Debian's Chromium, headless): it renders, the page logs
// nothing to the console, asks the network for nothing, and text from plugins stays text.
// A control page with a script error and a remote image shows the same checks do catch
// both. Needs chromium, not the engine (.ci/run installs it; without it, outside CI, skipped).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../src/batch/report-html.js';
import { BatchReport } from '../../src/batch/report-schema.js';
import { sampleReport } from '../fixtures/batch-report.js';
import { ROOT, runCli } from './helpers/cli.js';
import { chromiumPresent, visit } from './helpers/headless-chromium.js';
import { readPng } from './helpers/png.js';
import { hostPathWorkDir, removeWorkDir } from './helpers/work-dir.js';

const CONTROL = `<!DOCTYPE html><html><body><p>control</p>
<script>console.error("control-console"); notDefinedAnywhere();</script>
<img src="http://control.invalid/pixel.png"></body></html>`;

function rgb(hex: string): number {
  return parseInt(hex.slice(1), 16);
}

describe.runIf(chromiumPresent() || process.env.CI === 'true')('report.html in headless Chromium', () => {
  let dir: string;
  let small: string;
  let big: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-report-html-'));
    small = path.join(dir, 'report.html');
    big = path.join(dir, 'big', 'report.html');
    await writeFile(small, renderReportHtml(sampleReport({ ledgers: 36, dir }), { reportDir: dir }));
    await mkdir(path.dirname(big));
    await writeFile(big, renderReportHtml(sampleReport({ ledgers: 1000, dir }), { reportDir: path.dirname(big) }));
    await writeFile(path.join(dir, 'control.html'), CONTROL);
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('catches a console error and a network request on a control page (the checks below can fail)', () => {
    const v = visit(path.join(dir, 'control.html'));
    expect(v.console.join('\n')).toContain('Uncaught ReferenceError: notDefinedAnywhere is not defined');
    expect(v.console.join('\n')).toContain('control-console');
    expect(v.requests).toContain('http://control.invalid/pixel.png');
  });

  it('renders the report: a full, coloured screenshot, no console message, no request', () => {
    const shot = path.join(dir, 'report.png');
    const v = visit(small, { screenshot: shot, width: 1280, height: 2000 });
    expect(v.console).toEqual([]);
    expect(v.requests).toEqual([]);
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    const png = readPng(readFileSync(shot));
    expect([png.width, png.height]).toEqual([1280, 2000]);
    const counts = new Map<number, number>();
    for (const p of png.pixels) counts.set(p, (counts.get(p) ?? 0) + 1);
    // text (anti-aliased) and the chart give many colours; a blank page has one
    expect(counts.size).toBeGreaterThan(100);
    const white = counts.get(0xffffff) ?? 0;
    expect(white / png.pixels.length).toBeLessThan(0.97);
    // the SVG chart's bars (first two plugins) and the failed-status chip are painted
    for (const colour of ['#4e79a7', '#f28e2b', '#a50e0e']) expect(counts.get(rgb(colour)) ?? 0, colour).toBeGreaterThan(200);
  });

  it('keeps plugin text as text: the DOM has no element a plugin wrote', () => {
    const v = visit(small);
    expect(v.console).toEqual([]);
    expect(v.dom).toContain('<h1>sandboxctl batch');
    expect(v.dom).not.toMatch(/<script|<img|<[^>]*\sonerror=/i);
    expect(v.dom).toContain('payee &lt;script&gt;alert(1)&lt;/script&gt; is \\x1b[31mred\\x07');
    expect(v.dom).toContain('tag&lt;img src=x onerror=alert(2)&gt;');
  });

  it('renders a report of 1,000 ledgers, with links relative to its own folder', () => {
    expect(statSync(big).size).toBeLessThan(1_500_000);
    const shot = path.join(dir, 'big.png');
    const v = visit(big, { screenshot: shot, width: 1280, height: 1200 });
    expect(v.console).toEqual([]);
    expect(v.requests).toEqual([]);
    const png = readPng(readFileSync(shot));
    expect(new Set(png.pixels).size).toBeGreaterThan(100);
    expect(readFileSync(big, 'utf8')).toContain('<a href="../out/household-0000.beancount">');
  });

  it('renders the report.html of a real batch: a clean ledger and one whose plugin reports hostile payees', async () => {
    const work = await hostPathWorkDir('report-html-');
    try {
      const header = 'plugin "benchplugins.payee_check"\n2024-01-01 open Assets:Cash EUR\n2024-01-01 open Expenses:Food EUR\n';
      const tx = (date: string, payee: string) => `${date} * "${payee}" "food"\n  Expenses:Food  5.00 EUR\n  Assets:Cash\n`;
      await mkdir(path.join(work, 'clean'));
      await mkdir(path.join(work, 'hostile'));
      await writeFile(path.join(work, 'clean', 'main.beancount'), header + tx('2024-01-02', 'Corner Shop'));
      // two spellings of one payee: the plugin's error quotes both, markup and all
      await writeFile(path.join(work, 'hostile', 'main.beancount'), header + tx('2024-01-02', '<script>alert(1)</script>') + tx('2024-01-03', '<SCRIPT>alert(1)</SCRIPT>'));
      const reportDir = path.join(work, 'report');
      const r = await runCli(['batch', path.join(work, '*', 'main.beancount'), '--plugins-dir', path.join(ROOT, 'bench', 'plugins'), '--profile', 'standard', '--report-dir', reportDir, '--audit-log', path.join(work, 'audit.jsonl')]);
      expect(r.code, r.stderr.slice(-2000)).toBe(10);
      const report = BatchReport.parse(JSON.parse(readFileSync(path.join(reportDir, 'report.json'), 'utf8')));
      expect(report.ledgers.map((l) => l.status)).toEqual(['ok', 'errors']);
      // the page the batch wrote at its end is its report.json, rendered
      const page = path.join(reportDir, 'report.html');
      const html = readFileSync(page, 'utf8');
      expect(html).toBe(renderReportHtml(report, { reportDir }));
      expect(html).toContain('&lt;SCRIPT&gt;alert(1)&lt;/SCRIPT&gt;');
      expect(html).toContain('<a href="../clean/main.out.beancount">main.out.beancount</a>');
      expect(html).toContain('>benchplugins.payee_check<');
      const shot = path.join(work, 'real.png');
      const v = visit(page, { screenshot: shot, width: 1280, height: 1000 });
      expect(v.console).toEqual([]);
      expect(v.requests).toEqual([]);
      expect(new Set(readPng(readFileSync(shot)).pixels).size).toBeGreaterThan(100);
      const dom = visit(page).dom;
      expect(dom).not.toMatch(/<script/i);
      expect(dom).toContain('<pre class="error">error: ');
    } finally {
      await removeWorkDir(work);
    }
  });
});
