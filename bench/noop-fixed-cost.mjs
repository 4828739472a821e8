#!/usr/bin/env node
// The fixed cost of running one no-op plugin (test/fixtures/plugins/passthrough: returns its
// input unchanged) on a tiny input, against `docker run --rm` of the same plugin image
// doing the same (the same protocol stream on stdin, the same answer on stdout), under
// the same OCI runtime as the plugin's grant (a profile may pick gVisor's runsc).
//
// Per profile, three figures, each the median of RUNS runs after WARMUP untimed ones:
//   cli     `node bin/sandboxctl.js run --input-format jsonl --input tiny.jsonl --plugin passthrough -o out`
//           (Node start-up, policy, image lookup, the container, the audit record);
//   api     runPlugin() from dist/run/run-plugin.js in one long-lived Node process: one
//           container's create, start, stream, wait and remove (Node already running,
//           plugin already prepared);
//   ahead   the same runPlugin() with a container started ahead (as `sandboxctl run LEDGER`
//           starts every plugin's container while the loader works): what the plugin's own
//           turn costs once its input is ready;
//   ledger  what one plugin line adds to a whole `sandboxctl run tiny.beancount`: the median
//           with the line minus the median without it (loader, finalizer, audit on both sides);
//   docker  `docker run --rm -i --network none --runtime R IMAGE` with the same input.
// Usage: node bench/noop-fixed-cost.mjs
//   env RUNS=15 WARMUP=2 PROFILES="strict standard" NOOP_BUNDLE=dir
//   needs `npm run build`, the engine and the images
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { benchContext, dist, preparedUnder, ROOT } from './lib/prepared-plugin.mjs';

const CLI = path.join(ROOT, 'bin', 'sandboxctl.js');
const BUNDLE = path.resolve(process.env.NOOP_BUNDLE ?? path.join(ROOT, 'test', 'fixtures', 'plugins', 'passthrough'));
const RUNS = Number(process.env.RUNS ?? 15);
const WARMUP = Number(process.env.WARMUP ?? 2);
const TARGET = 0.6;
const PROFILES = (process.env.PROFILES ?? 'strict standard').split(/\s+/).filter(Boolean);

const { runPlugin, runBody } = await dist('run/run-plugin.js');
const { startContainer } = await dist('run/warm-start.js');
const { loadBundle } = await dist('manifest/bundle.js');

// a tiny ledger's worth of directives, in protocol v1 form
const meta = (lineno) => ({ filename: '/ledger/tiny.beancount', lineno });
const amount = (number, currency) => ({ number, currency });
const TINY = [
  { type: 'Open', date: '2024-01-01', meta: meta(1), account: 'Assets:Cash', currencies: ['USD'], booking: null },
  { type: 'Open', date: '2024-01-01', meta: meta(2), account: 'Expenses:Food', currencies: null, booking: null },
  {
    type: 'Transaction', date: '2024-01-02', meta: meta(4), flag: '*', payee: 'Cafe', narration: 'Lunch', tags: [], links: [],
    postings: [
      { account: 'Expenses:Food', units: amount('12.50', 'USD'), cost: null, price: null, flag: null, meta: meta(5) },
      { account: 'Assets:Cash', units: amount('-12.50', 'USD'), cost: null, price: null, flag: null, meta: meta(6) },
    ],
  },
  { type: 'Price', date: '2024-01-03', meta: meta(8), currency: 'EUR', amount: amount('1.09', 'USD') },
];

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs a command to its end with `input` on stdin; resolves with its exit code, stdout and wall time. */
function timed(cmd, args, input, env = process.env) {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t }));
    child.stdin.end(input ?? '');
  });
}

async function measure(label, once) {
  for (let i = 0; i < WARMUP; i++) await once();
  const ms = [];
  for (let i = 0; i < RUNS; i++) ms.push(await once());
  const r = { label, median: median(ms), min: Math.min(...ms), max: Math.max(...ms) };
  console.log(`  ${label.padEnd(8)} median ${r.median.toFixed(0).padStart(5)} ms   (min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)}, ${RUNS} runs)`);
  return r;
}

const TINY_LEDGER = `option "operating_currency" "USD"

2024-01-01 open Assets:Cash USD
2024-01-01 open Expenses:Food

2024-01-02 * "Cafe" "Lunch"
  Expenses:Food  12.50 USD
  Assets:Cash   -12.50 USD

2024-01-03 price EUR 1.09 USD
`;

const work = await mkdtemp(path.join(os.tmpdir(), 'sbx-bench-noop-'));
try {
  // the loader reads the ledgers as an unprivileged user
  await chmod(work, 0o755);
  const bare = path.join(work, 'bare.beancount');
  const withPlugin = path.join(work, 'with-plugin.beancount');
  await writeFile(bare, TINY_LEDGER);
  const bundleName = (await loadBundle(BUNDLE)).manifest.name;
  await writeFile(withPlugin, `plugin "${bundleName}"\n` + TINY_LEDGER);
  const input = path.join(work, 'tiny.jsonl');
  await writeFile(input, TINY.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const env = { ...process.env, SANDBOXCTL_AUDIT_LOG: path.join(work, 'audit.jsonl') };

  const ctx = await benchContext();
  const { engine, logger } = ctx;
  console.log(`no-op plugin fixed cost: ${TINY.length} directives through ${path.relative(ROOT, BUNDLE)}; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  for (const profile of PROFILES) {
    // prepared as the CLI prepares it: policy, grant, the plugin image, the container spec
    const { runId, policy, plugin: p } = await preparedUnder(ctx, profile, BUNDLE);
    const runtime = p.spec.HostConfig?.Runtime ?? 'runc';
    const header = { type: 'header', protocol: 1, plugin: { name: p.name, version: p.version }, config: null, options: {}, count: TINY.length };
    const stream = [header, ...TINY.map((d, i) => ({ type: 'directive', index: i, directive: d })), { type: 'end' }].map((m) => JSON.stringify(m)).join('\n') + '\n';

    console.log(`profile ${policy.ceiling.profile.name} (runtime ${runtime}, image ${p.image.ref}):`);
    const cli = await measure('cli', async () => {
      const r = await timed(process.execPath, [CLI, 'run', '--input-format', 'jsonl', '--input', input, '--plugin', BUNDLE, '--profile', profile, '-o', path.join(work, 'out.jsonl')], '', env);
      if (r.code !== 0) throw new Error(`sandboxctl run failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
      return r.ms;
    });
    const api = await measure('api', async () => {
      const t = performance.now();
      const run = await runPlugin({ engine, runId, plugin: { name: p.name, version: p.version }, image: p.image, spec: p.spec, config: null, options: {}, input: TINY, effects: p.effects, limits: p.limits, logger });
      if (!run.ok) throw run.error;
      return performance.now() - t;
    });
    const ahead = await measure('ahead', async () => {
      const warm = await startContainer(engine, runBody({ spec: p.spec, runId, plugin: { name: p.name, version: p.version }, image: p.image }));
      const t = performance.now();
      const run = await runPlugin({ engine, runId, plugin: { name: p.name, version: p.version }, image: p.image, spec: p.spec, config: null, options: {}, input: TINY, effects: p.effects, limits: p.limits, logger, warm: Promise.resolve(warm) });
      if (!run.ok) throw run.error;
      return performance.now() - t;
    });
    const ledgerRun = (file) => async () => {
      const r = await timed(process.execPath, [CLI, 'run', file, '--plugins-dir', path.dirname(BUNDLE), '--profile', profile, '--format', 'jsonl', '-o', path.join(work, 'out-ledger.jsonl')], '', env);
      if (r.code !== 0) throw new Error(`sandboxctl run ${path.basename(file)} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
      return r.ms;
    };
    const without = await measure('ledger0', ledgerRun(bare));
    const withOne = await measure('ledger1', ledgerRun(withPlugin));
    const added = withOne.median - without.median;
    console.log(`  ledger   ${added.toFixed(0).padStart(5)} ms   added by the plugin line (ledger1 - ledger0)`);
    const docker = await measure('docker', async () => {
      const r = await timed('docker', ['run', '--rm', '-i', '--network', 'none', '--runtime', runtime, p.image.id], stream);
      if (r.code !== 0 || !r.stdout.includes('"type":"done"')) throw new Error(`docker run failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
      return r.ms;
    });
    const ratio = (a) => (a.median / docker.median).toFixed(2);
    console.log(`  ratio cli/docker ${ratio(cli)}x   (Node start-up included; target <= ${TARGET}x)`);
    console.log(`  ratio api/docker ${ratio(api)}x   (one runPlugin() in a running process; target <= ${TARGET}x)`);
    console.log(`  ratio ahead/docker ${ratio(ahead)}x   (its turn, the container started ahead; target <= ${TARGET}x)`);
    console.log(`  ratio ledger/docker ${(added / docker.median).toFixed(2)}x   (what one plugin line adds to a ledger run; target <= ${TARGET}x)`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
