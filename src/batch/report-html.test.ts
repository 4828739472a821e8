import { describe, expect, it } from 'vitest';
import { HOSTILE_PLUGIN, HOSTILE_TITLE, sampleReport } from '../../test/fixtures/batch-report.js';
import { renderDiagnostic } from '../ledger/diagnostic.js';
import { esc, formatBytes, formatMs, relativeHref, renderReportHtml, STATUS_ORDER } from './report-html.js';

const DIR = '/srv/books';

function unescapeHtml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** Every element name that appears as markup (not as escaped text). */
function tags(html: string): Set<string> {
  return new Set([...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]!.toLowerCase()));
}

describe('renderReportHtml', () => {
  const report = sampleReport({ ledgers: 24, dir: DIR });
  const html = renderReportHtml(report, { reportDir: DIR });

  it('escapes markup from ledgers and plugins: no element they wrote reaches the page', () => {
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('tag&lt;img src=x onerror=alert(2)&gt;');
    expect(html).toContain('&lt;/pre&gt;&lt;script&gt;alert(3)&lt;/script&gt;');
    expect([...tags(html)].sort()).toEqual(
      ['a', 'b', 'body', 'code', 'div', 'g', 'h1', 'h2', 'h3', 'head', 'html', 'line', 'meta', 'p', 'pre', 'rect', 'section', 'span', 'style', 'svg', 'table', 'tbody', 'td', 'text', 'th', 'thead', 'title', 'tr'],
    );
    expect(html).not.toMatch(/<[^>]*\sonerror\s*=/i);
  });

  it('shows control characters and bidi overrides as text, never raw', () => {
    const raw = [...html].filter((c) => {
      const n = c.codePointAt(0)!;
      return (n < 0x20 && n !== 0x0a && n !== 0x09) || (n >= 0x7f && n <= 0x9f) || (n >= 0x202a && n <= 0x202e) || (n >= 0x2066 && n <= 0x2069);
    });
    expect(raw).toEqual([]);
    expect(html).toContain('\\x1b[31mred\\x07');
    expect(html).toContain('\\x1b[2J');
    expect(html).toContain('\\u202eevil');
    expect(esc('a\u0000b\u009bc')).toBe('a\\x00b\\x9bc');
  });

  it('is self-contained: no script, nothing fetched, and a policy that forbids both', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    for (const m of html.matchAll(/\s(?:src|href)\s*=\s*"([^"]*)"/gi)) expect(m[1]).not.toMatch(/^(?:[a-z][a-z0-9+.-]*:|\/\/)/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"`);
  });

  it('prints each diagnostic in the ledger-error form, exactly', () => {
    const l = report.ledgers[2]!;
    const d = l.diagnostics[0]!;
    const expected = renderDiagnostic({
      severity: d.severity, code: d.code, title: d.title, location: { file: d.location!.file, line: d.location!.line },
      sourceLine: d.sourceLine!, notes: [{ label: 'plugin', text: 'check_payee_names' }, ...d.notes],
    });
    const pres = [...html.matchAll(/<pre class="(error|warning)">([^<]*)<\/pre>/g)].map((m) => unescapeHtml(m[2]!));
    expect(pres).toContain(expected.replace('\u202e', '\\u202e'));
    expect(expected).toContain(' --> /srv/books/household-0002/main.beancount:122:');
    expect(expected).toMatch(/\n +\| +\^+\n/);
    expect(html).toContain('<pre class="warning">warning: Balance failed for Assets:Checking');
  });

  it('lists ledgers failures first, then in the order given', () => {
    const rows = [...html.matchAll(/<tr><td><span class="chip" style="--c:#[0-9a-f]+">([a-z-]+)<\/span>(?:<div class="why">[^<]*<\/div>)?<\/td><td><a href="[^"]*">([^<]*)<\/a>/g)];
    const statuses = rows.map((m) => m[1]);
    expect(statuses).toHaveLength(24);
    const ranks = statuses.map((s) => STATUS_ORDER.indexOf(s as never));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(statuses[0]).toBe('failed');
    const oks = rows.filter((m) => m[1] === 'ok').map((m) => m[2]);
    expect(oks).toEqual([...oks].sort());
  });

  it('links outputs and ledgers relative to the report, percent-encoded', () => {
    expect(html).toContain('<a href="out/household-0000.beancount">household-0000.beancount</a>');
    expect(html).toContain('<a href="household-0000/main.beancount">/srv/books/household-0000/main.beancount</a>');
    expect(relativeHref('/var/lib/sandboxctl/report', '/srv/books/a b/javascript:x#y.beancount')).toBe('../../../../srv/books/a%20b/javascript%3Ax%23y.beancount');
    expect(html).toContain('<a href="#l2">2</a>');
    expect(html).toContain('<section id="l2">');
  });

  it('charts every plugin and the slowest ledgers with time and peak memory', () => {
    const svgs = html.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect(svgs).toHaveLength(2);
    expect(svgs[0]).toContain('>tag_large_transactions<');
    expect(svgs[0]).toContain('peak memory, max');
    expect(svgs[0]).toContain(`>${esc(HOSTILE_PLUGIN)}<`);
    const ran = report.ledgers.filter((l) => l.plugins.length > 0);
    expect((svgs[1]!.match(/<g>/g) ?? []).length).toBe(ran.length);
    const slowest = [...ran].sort((a, b) => b.durationMs! - a.durationMs!)[0]!;
    expect(svgs[1]!.indexOf(`${slowest.ledger}: `)).toBeLessThan(svgs[1]!.indexOf('<g>', svgs[1]!.indexOf('<g>') + 1));
  });

  it('shows the totals and says when the batch did not finish', () => {
    expect(html).toContain('failed <b>2</b>');
    expect(html).toContain('ok <b>12</b>');
    expect(html).not.toContain('class="banner"');
    const stopped = renderReportHtml({ ...report, state: 'stopped', finishedAt: null, exitCode: null, stoppedBecause: 'engine <down>' }, { reportDir: DIR });
    expect(stopped).toContain('<p class="banner">The batch stopped early: engine &lt;down&gt;.</p>');
    expect(stopped).toContain('<th>wall time</th><td>–</td>');
  });

  it('stays small for 1,000 ledgers: slowest 25 charted, diagnostics capped', () => {
    const big = renderReportHtml(sampleReport({ ledgers: 1000, dir: DIR }), { reportDir: DIR });
    expect(big.length).toBeLessThan(1_500_000);
    expect((big.match(/<tr><td>/g) ?? []).length).toBe(1000);
    const svgs = big.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
    expect((svgs[1]!.match(/<g>/g) ?? []).length).toBe(25);
    expect(big).toContain('faster ledger(s) not charted');
    expect((big.match(/<pre /g) ?? []).length).toBe(400);
    expect(big).toMatch(/\d+ further problem\(s\) past the first 400 are in report\.json/);
  });

  it('cuts a huge diagnostic and says so', () => {
    const r = sampleReport({ ledgers: 3, dir: DIR });
    r.ledgers[2]!.diagnostics[0]!.title = 'x'.repeat(100_000);
    const out = renderReportHtml(r, { reportDir: DIR, maxDiagnosticChars: 500 });
    expect(out.length).toBeLessThan(20_000);
    expect(out).toMatch(/x{400,}…<\/pre>/);
  });

  it('reports a batch with no plugin run at all', () => {
    const r = sampleReport({ ledgers: 1, dir: DIR });
    const out = renderReportHtml({ ...r, ledgers: [{ ...r.ledgers[0]!, plugins: [] }] }, { reportDir: DIR });
    expect(out).toContain('<p>No plugin ran.</p>');
    expect(out).not.toContain('<svg');
  });
});

describe('formats', () => {
  it('prints times and sizes for people', () => {
    expect([formatMs(null), formatMs(12.4), formatMs(1234), formatMs(125_000)]).toEqual(['–', '12 ms', '1.23 s', '2 min 5 s']);
    expect([formatBytes(null), formatBytes(2048), formatBytes(45 * 1024 * 1024)]).toEqual(['–', '2 KiB', '45.0 MiB']);
  });

  it('the fixture really is hostile', () => {
    expect(HOSTILE_TITLE).toContain('<script>');
    expect(HOSTILE_TITLE).toContain('\u001b');
  });
});
