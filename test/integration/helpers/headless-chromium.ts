// Debian's Chromium, headless, opening a file: its console messages (from --enable-logging),
// the requests the page made (from the network log, told apart from the browser's own
// background requests by their file:// isolation key), and a screenshot or the DOM.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function chromiumPresent(): boolean {
  try {
    execFileSync('chromium', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface PageVisit {
  /** Console messages of the page, as Chromium logs them ("Uncaught ...", CSP refusals, console.*). */
  console: string[];
  /** URLs the page itself asked the network for (not file:). */
  requests: string[];
  /** --dump-dom output, when asked for. */
  dom: string;
}

/** Opens FILE once; `screenshot` writes a PNG of the window, otherwise the DOM is dumped. */
export function visit(file: string, opts: { screenshot?: string; width?: number; height?: number } = {}): PageVisit {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'sbx-chromium-'));
  const netlog = path.join(profile, 'netlog.json');
  try {
    const args = [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`,
      // nothing resolves: a page that tried to fetch could not, and the attempt is in the net log
      '--host-resolver-rules=MAP * ~NOTFOUND',
      `--log-net-log=${netlog}`,
      '--enable-logging=stderr', '--v=0',
      ...(opts.screenshot ? [`--screenshot=${opts.screenshot}`, `--window-size=${opts.width ?? 1280},${opts.height ?? 2000}`] : ['--dump-dom']),
      `file://${file}`,
    ];
    const r = spawnSync('chromium', args, { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr.slice(-2000)}`);
    const consoleLines = r.stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));
    return { console: consoleLines, requests: pageRequests(readFileSync(netlog, 'utf8')), dom: opts.screenshot ? '' : r.stdout };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

interface NetLog {
  constants: { logEventTypes: Record<string, number> };
  events: Array<{ type: number; params?: { url?: string; network_isolation_key?: string } }>;
}

function pageRequests(text: string): string[] {
  // Chromium may stop before closing the events array; the events written are still valid
  const log = JSON.parse(/\]\s*\}\s*$/.test(text) ? text : text.replace(/,?\s*$/, ']}')) as NetLog;
  const start = log.constants.logEventTypes.URL_REQUEST_START_JOB;
  return log.events
    .filter((e) => e.type === start && e.params?.url && !e.params.url.startsWith('file:') && e.params.network_isolation_key?.startsWith('file://'))
    .map((e) => e.params!.url!);
}
