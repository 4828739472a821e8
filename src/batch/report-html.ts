// report.html: the batch report a person opens from disk. Pure (report in, HTML out) and
// self-contained: inline CSS and SVG, no script, no fonts or images, nothing fetched; a
// Content-Security-Policy says so to the browser too, so text that escaped escaping still
// could not run or load anything. Every string that came from a ledger or a plugin is
// escaped for HTML and for control characters. Its size is bounded for 1,000 ledgers: the
// chart shows every plugin in aggregate and only the slowest ledgers one by one, and the
// number of diagnostics printed is capped (report.json keeps them all).
import path from 'node:path';
import { renderDiagnostic, type Diagnostic } from '../ledger/diagnostic.js';
import { safeText } from '../safe-text.js';
import type { BatchReport, LedgerStatus, ReportDiagnostic, ReportLedger } from './report-schema.js';

export interface ReportHtmlOptions {
  /** The directory report.html is written to: links to outputs and ledgers are relative to it. */
  reportDir: string;
  /** Ledgers charted one by one, the slowest first. @default 25 */
  chartLedgers?: number;
  /** Diagnostics printed on the whole page; the rest are counted. @default 400 */
  maxDiagnostics?: number;
  /** Characters of one printed diagnostic; a longer one is cut and says so. @default 4000 */
  maxDiagnosticChars?: number;
}

/** Failures first: the order of the ledger table and of the diagnostics. */
export const STATUS_ORDER: readonly LedgerStatus[] = ['failed', 'violation', 'refused', 'errors', 'not-run', 'skipped', 'ok'];

const STATUS_COLOUR: Record<LedgerStatus, string> = {
  failed: '#a50e0e', violation: '#d4380d', refused: '#8e24aa', errors: '#b26a00', 'not-run': '#6b6b6b', skipped: '#3367d6', ok: '#1e7d32',
};

/** Plugins are told apart by colour in the chart; the list repeats past eight plugins. */
const PLUGIN_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f'];

export function renderReportHtml(report: BatchReport, options: ReportHtmlOptions): string {
  const o = { chartLedgers: 25, maxDiagnostics: 400, maxDiagnosticChars: 4000, ...options };
  const order = sortedLedgers(report.ledgers);
  const plugins = pluginNames(report.ledgers);
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>sandboxctl batch ${esc(report.batchId)}</title>`,
    `<style>${CSS}</style></head><body>`,
    header(report),
    pluginSection(report.ledgers, plugins),
    slowestSection(report.ledgers, plugins, o.chartLedgers),
    ledgerTable(order, o.reportDir),
    diagnosticsSection(order, o.maxDiagnostics, o.maxDiagnosticChars),
    '</body></html>',
    '',
  ].join('\n');
}

// ---- text

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Untrusted text as HTML: control characters and bidirectional overrides made visible, markup escaped. */
export function esc(s: string): string {
  return safeText(s)
    .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

export function formatBytes(b: number | null): string {
  if (b === null) return '–';
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(0)} KiB`;
  return `${(b / 1024 / 1024).toFixed(1)} MiB`;
}

/** A link from the report's directory to a host file: relative, each segment percent-encoded (so never a scheme). */
export function relativeHref(reportDir: string, file: string): string {
  return path.relative(reportDir, file).split(path.sep).map(encodeURIComponent).join('/');
}

// ---- order and aggregates

function sortedLedgers(ledgers: readonly ReportLedger[]): Array<{ l: ReportLedger; index: number }> {
  const rank = (s: LedgerStatus) => STATUS_ORDER.indexOf(s);
  return ledgers.map((l, index) => ({ l, index })).sort((a, b) => rank(a.l.status) - rank(b.l.status) || a.index - b.index);
}

function pluginNames(ledgers: readonly ReportLedger[]): string[] {
  const names = new Set<string>();
  for (const l of ledgers) for (const p of l.plugins) names.add(p.name);
  return [...names];
}

interface PluginStats { name: string; runs: number; medianMs: number | null; maxMs: number | null; maxBytes: number | null; failures: number }

function pluginStats(ledgers: readonly ReportLedger[], names: readonly string[]): PluginStats[] {
  return names.map((name) => {
    const times: number[] = [];
    let maxBytes: number | null = null;
    let runs = 0;
    let failures = 0;
    for (const l of ledgers) {
      for (const p of l.plugins) {
        if (p.name !== name) continue;
        runs++;
        if (p.status !== 'ok') failures++;
        if (p.durationMs !== null) times.push(p.durationMs);
        if (p.peakMemoryBytes !== null) maxBytes = Math.max(maxBytes ?? 0, p.peakMemoryBytes);
      }
    }
    times.sort((a, b) => a - b);
    const medianMs = times.length === 0 ? null : times[times.length >> 1]!;
    const maxMs = times.length === 0 ? null : times[times.length - 1]!;
    return { name, runs, medianMs, maxMs, maxBytes, failures };
  });
}

// ---- sections

function header(r: BatchReport): string {
  const wall = r.finishedAt === null ? null : Date.parse(r.finishedAt) - Date.parse(r.startedAt);
  const chips = STATUS_ORDER.map((s) => {
    const n = r.totals[s === 'not-run' ? 'notRun' : s];
    return `<span class="chip${n === 0 ? ' zero' : ''}" style="--c:${STATUS_COLOUR[s]}">${s} <b>${n}</b></span>`;
  }).join(' ');
  const state = r.state === 'done'
    ? ''
    : `<p class="banner">${r.state === 'running' ? 'The batch is still running (or was killed): this report holds the ledgers finished so far.' : `The batch stopped early: ${esc(r.stoppedBecause ?? 'no reason recorded')}.`}</p>`;
  return [
    `<h1>sandboxctl batch <code>${esc(r.batchId)}</code></h1>`,
    state,
    '<table class="facts">',
    `<tr><th>started</th><td>${esc(r.startedAt)}</td><th>finished</th><td>${esc(r.finishedAt ?? '–')}</td><th>wall time</th><td>${formatMs(wall !== null && Number.isFinite(wall) ? wall : null)}</td></tr>`,
    `<tr><th>profile</th><td>${esc(r.profile)}</td><th>jobs</th><td>${r.jobs}</td><th>exit status</th><td>${r.exitCode ?? '–'}</td></tr>`,
    `<tr><th>ledgers</th><td>${r.totals.ledgers}</td><th>sandboxctl</th><td>${esc(r.sandboxctlVersion)}</td><th>state</th><td>${esc(r.state)}</td></tr>`,
    '</table>',
    `<p class="chips">${chips}</p>`,
  ].join('\n');
}

const BAR_W = 300;
const LABEL_W = 240;
const ROW_H = 22;

function pluginSection(ledgers: readonly ReportLedger[], names: readonly string[]): string {
  if (names.length === 0) return '<h2>Plugins</h2><p>No plugin ran.</p>';
  const stats = pluginStats(ledgers, names);
  const maxMs = Math.max(1, ...stats.map((s) => s.maxMs ?? 0));
  const maxBytes = Math.max(1, ...stats.map((s) => s.maxBytes ?? 0));
  const width = LABEL_W + 2 * (BAR_W + 130);
  const rows = stats.map((s, i) => {
    const y = 24 + i * ROW_H;
    const colour = PLUGIN_COLOURS[i % PLUGIN_COLOURS.length]!;
    const x2 = LABEL_W + BAR_W + 130;
    const tip = `${s.name}: ${s.runs} run(s), ${s.failures} not ok; time median ${formatMs(s.medianMs)}, max ${formatMs(s.maxMs)}; peak memory max ${formatBytes(s.maxBytes)}`;
    return [
      `<g><title>${esc(tip)}</title>`,
      `<text x="${LABEL_W - 6}" y="${y + 14}" text-anchor="end">${esc(clip(s.name, 32))}</text>`,
      bar(LABEL_W, y + 3, scale(s.medianMs, maxMs), colour),
      s.maxMs === null ? '' : `<line x1="${LABEL_W + scale(s.maxMs, maxMs)}" x2="${LABEL_W + scale(s.maxMs, maxMs)}" y1="${y + 1}" y2="${y + 19}" class="max"/>`,
      `<text x="${LABEL_W + BAR_W + 8}" y="${y + 14}">${formatMs(s.medianMs)} / ${formatMs(s.maxMs)}</text>`,
      bar(x2, y + 3, scale(s.maxBytes, maxBytes), colour),
      `<text x="${x2 + BAR_W + 8}" y="${y + 14}">${formatBytes(s.maxBytes)}</text>`,
      '</g>',
    ].join('');
  });
  const height = 30 + names.length * ROW_H;
  return [
    '<h2>Plugins</h2>',
    `<p>Every plugin over all ledgers: time (bar: median, line: maximum) and peak memory (maximum). Hover a row for counts.</p>`,
    `<svg class="chart" role="img" aria-label="time and peak memory of each plugin" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<text x="${LABEL_W}" y="14" class="head">time, median / max</text><text x="${LABEL_W + BAR_W + 130}" y="14" class="head">peak memory, max</text>`,
    ...rows,
    '</svg>',
  ].join('\n');
}

function slowestSection(ledgers: readonly ReportLedger[], names: readonly string[], limit: number): string {
  const ran = ledgers.filter((l) => l.durationMs !== null && l.plugins.length > 0);
  if (ran.length === 0 || limit <= 0) return '';
  const shown = [...ran].sort((a, b) => (b.durationMs ?? 0) - (a.durationMs ?? 0)).slice(0, limit);
  const colourOf = new Map(names.map((n, i) => [n, PLUGIN_COLOURS[i % PLUGIN_COLOURS.length]!]));
  const maxMs = Math.max(1, ...shown.map((l) => l.durationMs ?? 0));
  const maxBytes = Math.max(1, ...shown.flatMap((l) => l.plugins.map((p) => p.peakMemoryBytes ?? 0)));
  const rowH = Math.max(ROW_H, 4 * Math.min(names.length, 8) + 6);
  const x2 = LABEL_W + BAR_W + 90;
  const width = x2 + BAR_W + 90;
  const rows = shown.map((l, i) => {
    const y = 24 + i * rowH;
    let x = LABEL_W;
    // plugins that only report errors run side by side: their segments never pass the ledger's own bar
    const end = LABEL_W + scale(l.durationMs, maxMs);
    const segments = l.plugins.map((p) => {
      const w = Math.min(scale(p.durationMs, maxMs), end - x);
      const seg = w > 0 ? `<rect x="${x.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${colourOf.get(p.name)}"><title>${esc(`${p.name}: ${formatMs(p.durationMs)}, ${formatBytes(p.peakMemoryBytes)}, ${p.status}`)}</title></rect>` : '';
      x += w;
      return seg;
    });
    const memory = l.plugins.slice(0, 8).map((p, j) => bar(x2, y + 3 + j * 4, scale(p.peakMemoryBytes, maxBytes), colourOf.get(p.name)!, 3));
    return [
      `<g><title>${esc(`${l.ledger}: ${l.status}, ${formatMs(l.durationMs)}`)}</title>`,
      `<text x="${LABEL_W - 6}" y="${y + 14}" text-anchor="end">${esc(clipStart(shortName(l.ledger), 32))}</text>`,
      `<rect x="${LABEL_W}" y="${y + 3}" width="${scale(l.durationMs, maxMs).toFixed(1)}" height="${rowH - 8}" class="whole"/>`,
      ...segments,
      `<text x="${LABEL_W + BAR_W + 8}" y="${y + 14}">${formatMs(l.durationMs)}</text>`,
      ...memory,
      `<text x="${x2 + BAR_W + 8}" y="${y + 14}">${formatBytes(Math.max(0, ...l.plugins.map((p) => p.peakMemoryBytes ?? 0)) || null)}</text>`,
      '</g>',
    ].join('');
  });
  const height = 30 + shown.length * rowH;
  const legend = names.map((n) => `<span class="key" style="--c:${colourOf.get(n)}"></span>${esc(n)}`).join(' ');
  return [
    `<h2>The ${shown.length === ran.length ? '' : `${shown.length} `}slowest ledgers</h2>`,
    `<p>Each plugin's time within the ledger's run (grey: the rest of the run) and each plugin's peak memory.${shown.length < ran.length ? ` ${ran.length - shown.length} faster ledger(s) not charted; the table below has them all.` : ''}</p>`,
    `<p class="legend">${legend}</p>`,
    `<svg class="chart" role="img" aria-label="time and peak memory of each plugin in the slowest ledgers" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<text x="${LABEL_W}" y="14" class="head">time</text><text x="${x2}" y="14" class="head">peak memory per plugin</text>`,
    ...rows,
    '</svg>',
  ].join('\n');
}

function ledgerTable(order: ReadonlyArray<{ l: ReportLedger; index: number }>, reportDir: string): string {
  const rows = order.map(({ l, index }) => {
    const plugins = l.plugins.map((p) => `<span class="p${p.status === 'ok' ? '' : ' bad'}">${esc(p.name)} ${formatMs(p.durationMs)} · ${formatBytes(p.peakMemoryBytes)}${p.status === 'ok' ? '' : ` · ${esc(p.status)}`}</span>`).join(' ');
    const problems = l.diagnostics.length + l.diagnosticsOmitted;
    return [
      `<tr><td><span class="chip" style="--c:${STATUS_COLOUR[l.status]}">${l.status}</span>${l.skippedBecause === null ? '' : `<div class="why">${esc(l.skippedBecause)}</div>`}</td>`,
      `<td><a href="${relativeHref(reportDir, l.ledger)}">${esc(l.ledger)}</a></td>`,
      `<td class="num">${formatMs(l.durationMs)}</td>`,
      `<td>${plugins}</td>`,
      `<td>${l.output === null ? '–' : `<a href="${relativeHref(reportDir, l.output)}">${esc(path.basename(l.output))}</a>`}</td>`,
      `<td class="num">${problems === 0 ? '' : `<a href="#l${index}">${problems}</a>`}</td>`,
      `<td><code>${esc(l.runId ?? '')}</code></td></tr>`,
    ].join('');
  });
  return [
    '<h2>Ledgers</h2>',
    '<table class="ledgers"><thead><tr><th>status</th><th>ledger</th><th>time</th><th>plugins: time · peak memory</th><th>output</th><th>problems</th><th>audit run</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ].join('\n');
}

function diagnosticsSection(order: ReadonlyArray<{ l: ReportLedger; index: number }>, max: number, maxChars: number): string {
  const out: string[] = [];
  let printed = 0;
  let left = 0;
  for (const { l, index } of order) {
    if (l.diagnostics.length === 0 && l.diagnosticsOmitted === 0) continue;
    const room = Math.max(0, max - printed);
    const shown = l.diagnostics.slice(0, room);
    printed += shown.length;
    const notShown = l.diagnostics.length - shown.length + l.diagnosticsOmitted;
    left += l.diagnostics.length - shown.length;
    if (shown.length === 0) continue;
    out.push(
      `<section id="l${index}"><h3><span class="chip" style="--c:${STATUS_COLOUR[l.status]}">${l.status}</span> ${esc(l.ledger)}</h3>`,
      ...shown.map((d) => `<pre class="${d.severity}">${esc(clip(renderDiagnostic(asDiagnostic(d)), maxChars))}</pre>`),
      notShown > 0 ? `<p class="more">${notShown} more problem(s) of this ledger not shown: see report.json${l.runId === null ? '' : ` or <code>sandboxctl audit show --run ${esc(l.runId)}</code>`}.</p>` : '',
      '</section>',
    );
  }
  if (out.length === 0) return '';
  return ['<h2>Problems</h2>', ...out, left > 0 ? `<p class="more">${left} further problem(s) past the first ${max} are in report.json.</p>` : ''].join('\n');
}

// ---- helpers

function asDiagnostic(d: ReportDiagnostic): Diagnostic {
  const notes = d.plugin !== null && !d.notes.some((n) => n.label === 'plugin') ? [{ label: 'plugin', text: d.plugin }, ...d.notes] : d.notes;
  return {
    severity: d.severity,
    code: d.code,
    title: d.title,
    ...(d.location === null ? {} : { location: { file: d.location.file, line: d.location.line, ...(d.location.column === null ? {} : { column: d.location.column }) } }),
    ...(d.sourceLine === null ? {} : { sourceLine: d.sourceLine }),
    notes,
  };
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** Ledgers are often all called main.beancount: their folder tells them apart. */
function shortName(file: string): string {
  return file.split('/').slice(-2).join('/');
}

function clipStart(s: string, n: number): string {
  return s.length <= n ? s : `…${s.slice(s.length - n + 1)}`;
}

function scale(v: number | null, max: number): number {
  return v === null ? 0 : (Math.max(0, v) / max) * BAR_W;
}

function bar(x: number, y: number, w: number, colour: string, h = 16): string {
  return `<rect x="${x}" y="${y}" width="${w.toFixed(1)}" height="${h}" fill="${colour}"/>`;
}

const CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f1f1f;background:#fff}
h1{font-size:20px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:16px 0 4px;word-break:break-all}
code,pre{font-family:ui-monospace,monospace;font-size:12.5px}
pre{background:#f6f6f6;border-left:4px solid #a50e0e;padding:8px 10px;overflow-x:auto;white-space:pre;margin:4px 0}
pre.warning{border-left-color:#b26a00}
.banner{background:#fff4e5;border:1px solid #b26a00;padding:8px}
table{border-collapse:collapse}td,th{padding:3px 8px;text-align:left;vertical-align:top}
.facts th{color:#555;font-weight:normal}
.ledgers{width:100%}.ledgers thead th{border-bottom:2px solid #ccc}.ledgers td{border-bottom:1px solid #eee}
.ledgers td:nth-child(2){word-break:break-all}
.num{text-align:right;white-space:nowrap}
.chip{display:inline-block;border-radius:10px;padding:0 8px;background:var(--c);color:#fff;font-size:12px;white-space:nowrap}
.chip.zero{opacity:.35}
.p{display:inline-block;margin-right:8px;white-space:nowrap;font-size:12.5px}.p.bad{color:#a50e0e}
.why{font-size:12px;color:#555}
.more{color:#555}
.chart text{font-size:12px;fill:#1f1f1f}.chart text.head{fill:#555}
.chart .max{stroke:#1f1f1f;stroke-width:2}.chart .whole{fill:#ddd}
.legend .key{display:inline-block;width:10px;height:10px;background:var(--c);margin:0 4px 0 10px}
`.trim();
