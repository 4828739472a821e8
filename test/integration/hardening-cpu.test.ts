// A plugin's CPU cap, as the kernel enforces it: the granted share is a quota per one-second
// period. A plugin that keeps busy is held to its share (the kernel throttles it, and its
// wall time stretches); a short one (under its share of a second) runs at full speed and is
// never throttled, which a 100 ms period (NanoCpus) would not allow. Read from the
// container's own cgroup (cpu.stat), under runc: gVisor shows no host cgroup files inside.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { newRunId } from '../../src/ids.js';
import { Labels } from '../../src/labels.js';
import type { HostFacts } from '../../src/policy/grant.js';
import { hostFacts } from '../../src/policy/host-facts.js';
import { ASKS, specFor } from './hardening/spec-for.js';
import { ROOT } from './helpers/cli.js';
import { runBody } from './helpers/runner-container.js';

const engine = createDockerEngine();
const runId = `test-${newRunId()}`;
let host: HostFacts;
let image: string;

beforeAll(async () => {
  host = (await hostFacts(engine)).facts;
  image = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
});

afterAll(async () => {
  expect(await engine.listContainers({ [Labels.run]: runId })).toEqual([]);
});

// Spins until the process has used `cpu` seconds, then reports its wall and CPU time and the
// cgroup's throttling counters (cgroup v2's cpu.stat, else v1's cpu controller).
const BURN = `
import json, sys, time
cpu = float(sys.argv[1])
w0, c0 = time.monotonic(), time.process_time()
while time.process_time() - c0 < cpu:
    pass
wall, used = time.monotonic() - w0, time.process_time() - c0
stat = {}
for f in ('/sys/fs/cgroup/cpu.stat', '/sys/fs/cgroup/cpu/cpu.stat', '/sys/fs/cgroup/cpu,cpuacct/cpu.stat'):
    try:
        stat = dict((k, int(v)) for k, v in (l.split() for l in open(f)))
        break
    except OSError:
        pass
print(json.dumps({'wall': wall, 'cpu': used, 'throttled': stat.get('nr_throttled')}))
`;

async function burn(cpus: number, seconds: number): Promise<{ wall: number; cpu: number; throttled: number | undefined }> {
  const ask = { ...ASKS.standard, capabilities: { ...ASKS.standard.capabilities, ledger: 'none' as const }, resources: { ...ASKS.standard.resources, cpus } };
  const spec = await specFor({ profile: 'standard', runtime: 'runc', host, image, runId, ask });
  const body = { ...spec.body, Entrypoint: ['python3', '-I', '-S', '-c', BURN], Cmd: [String(seconds)] };
  const r = await runBody(engine, body);
  expect(r.exitCode, r.err).toBe(0);
  return JSON.parse(r.out.trim().split('\n').pop()!);
}

describe('a plugin granted half a CPU (runc)', () => {
  it('is held to its share while it keeps busy: throttled, its wall time at least twice its CPU time less one period', async () => {
    const r = await burn(0.5, 1.5);
    expect(r.cpu).toBeGreaterThanOrEqual(1.5);
    expect(r.throttled).toBeGreaterThanOrEqual(1);
    // at most half a second of CPU in each one-second period: 1.5 s of CPU spans at least three periods' quota
    expect(r.wall).toBeGreaterThanOrEqual(2.0);
  });

  it('runs a short burst (under half a second of CPU) without being throttled', async () => {
    const r = await burn(0.5, 0.25);
    expect(r.cpu).toBeGreaterThanOrEqual(0.25);
    expect(r.throttled).toBe(0);
  });
});
