#!/usr/bin/env node
// What one plugin container's life costs the machine when the container does nothing: the
// hardened spec a plugin gets under PROFILE (runtime, seccomp, caps, limits, labels), with
// `/bin/true` as its only process, created, attached, started, waited for and removed through
// the Engine API, RUNS times one after another. Printed: the CPU of the whole machine (the
// engine, containerd, the shim, the OCI runtime, the kernel) and the wall time per container,
// each against the same machine idling for as long. No plugin code runs: this is the floor
// under every container a run makes, whatever the container then does.
//
// Usage: node bench/container-floor.mjs [--json]
//   env RUNS=10 PROFILE=standard NOOP_BUNDLE=dir (default test/fixtures/plugins/passthrough)
//   needs `npm run build`, the engine and the images
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { benchContext, dist, preparedUnder, ROOT } from './lib/prepared-plugin.mjs';

const BUNDLE = path.resolve(process.env.NOOP_BUNDLE ?? path.join(ROOT, 'test', 'fixtures', 'plugins', 'passthrough'));
const RUNS = Number(process.env.RUNS ?? 10);
const PROFILE = process.env.PROFILE ?? 'standard';
const asJson = process.argv.includes('--json');

const { runBody } = await dist('run/run-plugin.js');
const { startContainer } = await dist('run/warm-start.js');

/** Busy CPU time of the whole machine so far, in ms (user, nice, system, irq, softirq, steal). */
function busyMs() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const ticks = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

const ctx = await benchContext();
const { engine } = ctx;
const { runId, policy, plugin: p } = await preparedUnder(ctx, PROFILE, BUNDLE);
const full = runBody({ spec: p.spec, runId, plugin: { name: p.name, version: p.version }, image: p.image });
// the plugin's own spec, with nothing to run but /bin/true
const body = { ...full, Entrypoint: ['/bin/true'], Cmd: [] };

async function once() {
  const w = await startContainer(engine, body);
  try {
    const r = await w.handle.wait();
    if (r.exitCode !== 0) throw new Error(`the container exited ${r.exitCode}`);
  } finally {
    for (const s of [w.streams.stdin, w.streams.stdout, w.streams.stderr]) s.destroy();
    await w.handle.remove();
  }
}

await once(); // warm-up: the image's layers in the page cache
const idle0 = busyMs();
const tIdle = performance.now();
await new Promise((r) => setTimeout(r, 1000));
const idlePerMs = (busyMs() - idle0) / (performance.now() - tIdle);
const b0 = busyMs();
const t0 = performance.now();
for (let i = 0; i < RUNS; i++) await once();
const wall = performance.now() - t0;
const cpu = busyMs() - b0 - idlePerMs * wall;
const out = {
  profile: policy.ceiling.profile.name,
  runtime: p.spec.HostConfig?.Runtime ?? 'runc',
  runs: RUNS,
  cpuMsPerContainer: Math.round(cpu / RUNS),
  wallMsPerContainer: Math.round(wall / RUNS),
  idleCpuMsPerSecond: Math.round(idlePerMs * 1000),
};
if (asJson) console.log(JSON.stringify(out));
else {
  console.log(`an empty container's life (create, attach, start, wait, remove) under profile ${out.profile} (runtime ${out.runtime}), ${RUNS} in a row:`);
  console.log(`  ${out.cpuMsPerContainer} ms of the machine's CPU and ${out.wallMsPerContainer} ms of wall each (idle machine: ${out.idleCpuMsPerSecond} ms of CPU per second, subtracted)`);
}
