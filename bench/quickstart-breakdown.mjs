#!/usr/bin/env node
// Where the time of one `sandboxctl run` of the quickstart ledger goes: runs the whole
// command RUNS times (after WARMUP untimed runs) and prints, as medians, its wall time and
// the phases the run reports (its `timings`, each plugin's turn) and logs (debug level).
//
// Usage: node bench/quickstart-breakdown.mjs
//   RUNS=5 WARMUP=1 PROFILE=strict LEDGER=examples/quickstart/main.beancount
//   PLUGINS_DIR=examples/quickstart/plugins
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.RUNS ?? 5);
const WARMUP = Number(process.env.WARMUP ?? 1);
const PROFILE = process.env.PROFILE ?? 'strict';
const LEDGER = path.resolve(root, process.env.LEDGER ?? 'examples/quickstart/main.beancount');
const PLUGINS = path.resolve(root, process.env.PLUGINS_DIR ?? 'examples/quickstart/plugins');
const work = mkdtempSync(path.join(os.tmpdir(), 'sbx-qs-breakdown-'));

function once() {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'sandboxctl.js'), 'run', LEDGER, '--plugins-dir', PLUGINS, '--profile', PROFILE, '-o', path.join(work, 'out.beancount'), '--json'], {
    env: { ...process.env, SANDBOXCTL_AUDIT_LOG: path.join(work, 'audit.jsonl'), SANDBOXCTL_LOG_LEVEL: 'debug' },
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`sandboxctl run failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const report = JSON.parse(r.stdout);
  const logs = r.stderr.trim().split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
  const row = { 'whole command': wallMs, ...report.timings };
  for (const p of report.plugins) row[`turn: ${p.name} (${p.isolation})`] = p.durationMs;
  const closed = logs.find((l) => l.msg === 'containers removed and the session closed');
  if (closed) row['after the chain: containers removed, session closed'] = closed.ms;
  const phases = logs.filter((l) => l.msg === 'session phase done');
  for (const ph of phases) row[`session ${ph.phase} phase`] = ph.ms;
  return row;
}

for (let i = 0; i < WARMUP; i++) once();
const rows = Array.from({ length: RUNS }, once);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(`${path.relative(root, LEDGER)} under profile ${PROFILE}; ${RUNS} runs after ${WARMUP} warm-up; load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} (at the end); ${os.cpus().length} cores`);
console.log('medians, ms (timings: beforeMs = process start to the run, openMs = the session container created and started,');
console.log('parseMs = then until the plugin lines are parsed, prepareMs = policy, images, containers started ahead, loadMs = all');
console.log('directives in (from the run start), chainMs = the plugins and the finalizer, totalMs = the run, from its start)');
for (const key of Object.keys(rows[0])) console.log(`  ${key.padEnd(64)} ${median(rows.map((r) => r[key] ?? 0)).toFixed(0).padStart(7)}`);
rmSync(work, { recursive: true, force: true });
