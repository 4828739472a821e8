#!/usr/bin/env node
// Node's CPU for validating what crosses it on a 40-year bean-example ledger, zod alone
// against the compiled schemas (src/validate/compiled-schema.ts), in the same run.
//
// Set-up (not timed): bean-example writes the ledger, the runner's loader (host Python)
// turns it into protocol v1 lines, and each of the five builtin plugins of the ledger
// benchmark runs once on the loader's output (runner.py plugin --module ...), its result
// lines kept. Then each mode runs in a fresh Node process (so the first, cold pass is what
// is measured, as in a `sandboxctl run`), RUNS times, alternating, and the script prints
// the median CPU (user + system, process.cpuUsage) of:
//   loader    every loader directive through the ledger's directive schema (readLoader);
//   plugins   every line the five plugins sent through validatePluginMessage;
//   modify    every loader directive sent back as a modify message (a plugin that rewrites all);
// and the ratios zod / compiled. JSON.parse of the lines is outside the clock in both.
// Usage: node bench/validate-cpu.mjs      env RUNS=5 SEED=1 BEGIN=1985-01-01 END=2025-01-01
//   needs `npm run build` and Beancount on the host (bash scripts/host-beancount.sh)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(ROOT, 'dist');
const RUNNER = path.join(ROOT, 'images', 'python-runner', 'runner', 'runner.py');
const PLUGINS = ['implicit_prices', 'check_commodity', 'unique_prices', 'noduplicates', 'coherent_cost'];

if (process.argv[2] === '--worker') {
  await worker(process.argv[3], process.argv[4]);
  process.exit(0);
}

async function worker(mode, dir) {
  const imp = (p) => import(path.join(DIST, p));
  const { createDirectiveSchemas } = await imp('ledger/directive-schema.js');
  const { parseFast } = await imp('validate/compiled-schema.js');
  const { validatePluginMessage, validatePluginMessageByZod } = await imp('validate/message.js');
  const { accountRoots } = await imp('pipeline/load-ledger.js');
  const loader = readFileSync(path.join(dir, 'loader.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const options = loader.find((m) => m.type === 'options').options;
  const directives = loader.filter((m) => m.type === 'directive').map((m) => m.directive);
  const outputs = PLUGINS.flatMap((p) => readFileSync(path.join(dir, `${p}.out.jsonl`), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  // each pass gets its own copies: the compiled path returns its input, zod copies it
  const modifies = directives.map((d, i) => ({ type: 'modify', index: i, directive: structuredClone(d) }));
  const schema = createDirectiveSchemas({ accountRoots: accountRoots(options) }).Directive;
  const validate = mode === 'zod' ? validatePluginMessageByZod : validatePluginMessage;
  const cpu = (f) => {
    const t = process.cpuUsage();
    f();
    const u = process.cpuUsage(t);
    return (u.user + u.system) / 1000;
  };
  const out = {
    loader: cpu(() => {
      for (const d of directives) {
        const r = mode === 'zod' ? schema.safeParse(d) : parseFast(schema, d);
        if (!r.success) throw new Error(`a loader directive was refused: ${r.error.message}`);
      }
    }),
    plugins: cpu(() => {
      let line = 0;
      for (const m of outputs) validate(m, { plugin: 'bench', line: ++line });
    }),
    modify: cpu(() => {
      let line = 0;
      for (const m of modifies) validate(m, { plugin: 'bench', line: ++line });
    }),
    counts: { directives: directives.length, pluginLines: outputs.length, pluginDirectives: outputs.filter((m) => m.directive).length },
  };
  process.stdout.write(JSON.stringify(out) + '\n');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const f of ['validate/compiled-schema.js', 'validate/message.js']) {
  if (!existsSync(path.join(DIST, f))) {
    console.error('dist/ is missing or stale: run `npm run build` first');
    process.exit(2);
  }
}
for (const tool of ['/usr/bin/bean-example', '/usr/bin/python3']) {
  if (!existsSync(tool)) {
    console.error(`${tool} is missing: bash scripts/host-beancount.sh installs Beancount on the host`);
    process.exit(2);
  }
}
const RUNS = Number(process.env.RUNS ?? 5);
const SEED = process.env.SEED ?? '1';
const BEGIN = process.env.BEGIN ?? '1985-01-01';
const END = process.env.END ?? '2025-01-01';
console.log(`load average at start: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'sbx-bench-validate-'));
try {
  const ledger = path.join(dir, 'ledger.beancount');
  writeFileSync(ledger, execFileSync('/usr/bin/bean-example', ['-s', SEED, '--date-begin', BEGIN, '--date-end', END], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 }));
  const loaderText = execFileSync('/usr/bin/python3', [RUNNER, 'load', '--ledger', ledger], { maxBuffer: 1 << 30 }).toString('utf8');
  writeFileSync(path.join(dir, 'loader.jsonl'), loaderText);
  const lines = loaderText.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const options = lines.find((m) => m.type === 'options').options;
  const body = lines.filter((m) => m.type === 'directive').map((m) => JSON.stringify(m)).join('\n');
  const count = lines.filter((m) => m.type === 'directive').length;
  for (const p of PLUGINS) {
    const header = { type: 'header', protocol: 1, plugin: { name: `beancount.plugins.${p}`, version: null }, config: null, options, count };
    const input = `${JSON.stringify(header)}\n${body}\n{"type":"end"}\n`;
    const r = spawnSync('/usr/bin/python3', [RUNNER, 'plugin', '--module', `beancount.plugins.${p}`], { input, maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`plugin ${p} failed on the host: ${r.stderr}`);
    writeFileSync(path.join(dir, `${p}.out.jsonl`), r.stdout);
  }

  const runs = { zod: [], compiled: [] };
  for (let i = 0; i < RUNS; i++) {
    for (const mode of ['zod', 'compiled']) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', mode, dir], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (r.status !== 0) throw new Error(`the ${mode} worker failed: ${r.stderr}`);
      runs[mode].push(JSON.parse(r.stdout));
    }
  }
  const c = runs.zod[0].counts;
  console.log(`ledger: ${c.directives} directives from the loader; the five plugins sent ${c.pluginLines} lines (${c.pluginDirectives} with a directive)`);
  console.log(`median Node CPU of ${RUNS} fresh processes per mode:`);
  console.log('part      zod (ms)  compiled (ms)  ratio');
  let zt = 0;
  let ct = 0;
  for (const part of ['loader', 'plugins', 'modify']) {
    const z = median(runs.zod.map((r) => r[part]));
    const k = median(runs.compiled.map((r) => r[part]));
    zt += z;
    ct += k;
    console.log(`${part.padEnd(8)}  ${z.toFixed(0).padStart(8)}  ${k.toFixed(0).padStart(13)}  ${(z / k).toFixed(2)}x`);
  }
  console.log(`${'all'.padEnd(8)}  ${zt.toFixed(0).padStart(8)}  ${ct.toFixed(0).padStart(13)}  ${(zt / ct).toFixed(2)}x`);
  console.log(`load average at end: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
