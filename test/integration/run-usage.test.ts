// What a plugin used, as the audit records it, and what killed it, as the kernel says:
// every execution has its peak memory and CPU time, a short one too (the kernel's counters
// are read from the container's cgroup on the host, under runc and gVisor alike); exit 137
// is an OOM kill only when the kernel reports one.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { SandboxViolation } from '../../src/errors.js';
import { newRunId } from '../../src/ids.js';
import { Labels } from '../../src/labels.js';
import { runPlugin, type PluginRun } from '../../src/run/run-plugin.js';
import { SAMPLE_DIRECTIVES } from '../fixtures/run/sample-directives.js';
import { runCli } from './helpers/cli.js';
import { cleanupFixtureImages, fixture, FIXTURES, limitsFor, quietLogger, specFor } from './helpers/plugin-fixtures.js';

const engine = createDockerEngine();
const runId = `test-${newRunId()}`;
const MiB = 1024 * 1024;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-run-usage-'));
});

afterAll(async () => {
  const left = await engine.listContainers({ [Labels.run]: runId });
  for (const c of left) await engine.removeContainer(c.id);
  await cleanupFixtureImages(engine);
  await rm(dir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

async function run(name: string, profile: string): Promise<PluginRun> {
  const { bundle, image } = await fixture(engine, name);
  return runPlugin({
    engine,
    runId,
    plugin: { name: bundle.manifest.name, version: bundle.manifest.version },
    image,
    spec: await specFor(engine, bundle, profile),
    config: null,
    options: {},
    input: SAMPLE_DIRECTIVES,
    effects: bundle.manifest.capabilities.effects,
    limits: limitsFor(bundle, SAMPLE_DIRECTIVES.length),
    logger: quietLogger,
  });
}

describe('usage of a plugin that ends well under a second', () => {
  // strict prefers gVisor (runsc), standard runs runc: both have a host cgroup
  it.each([['standard', 'runc'], ['strict', 'runsc']])('is measured by the kernel (%s profile, %s)', async (profile, runtime) => {
    const r = await run('passthrough', profile);
    if (!r.ok) throw r.error;
    expect(r.spec.HostConfig.Runtime ?? 'runc').toBe(runtime);
    expect(r.usage).toMatchObject({ source: 'cgroup', unavailable: null, kernelOomKills: 0 });
    // a Python interpreter with Beancount imported: several MiB, some CPU time
    expect(r.usage.peakMemoryBytes).toBeGreaterThan(4 * MiB);
    expect(r.usage.peakMemoryBytes).toBeLessThanOrEqual(r.spec.HostConfig.Memory!);
    expect(r.usage.cpuNanos).toBeGreaterThan(1e6);
    console.log(`${profile}/${runtime}: ${r.durationMs} ms, peak ${(r.usage.peakMemoryBytes / MiB).toFixed(1)} MiB, cpu ${(r.usage.cpuNanos / 1e6).toFixed(0)} ms, ${r.usage.samples} reads`);
  });

  it('has non-null peak memory and CPU in its audit record', async () => {
    const input = path.join(dir, 'in.jsonl');
    const auditLog = path.join(dir, 'audit.jsonl');
    await writeFile(input, SAMPLE_DIRECTIVES.map((d) => JSON.stringify(d)).join('\n') + '\n');
    const res = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', path.join(FIXTURES, 'passthrough'), '--profile', 'standard', '-o', path.join(dir, 'out.jsonl')], {
      env: { SANDBOXCTL_AUDIT_LOG: auditLog, SANDBOXCTL_LOG_LEVEL: 'warn' },
    });
    expect(res.code, res.stderr).toBe(0);
    const records = (await readFile(auditLog, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const rec = records.find((r) => r.event === 'plugin-run')!;
    expect(rec.outcome.status).toBe('ok');
    // the kernel's counters, not the engine's stats (about one sample a second, too slow for this run)
    expect(rec.usage).toMatchObject({ source: 'cgroup', unavailable: null });
    expect(rec.usage.peakMemoryBytes).toBeGreaterThan(4 * MiB);
    expect(rec.usage.cpuNanos).toBeGreaterThan(1e6);
    console.log(`audit record: ${rec.durationMs} ms, peak ${(rec.usage.peakMemoryBytes / MiB).toFixed(1)} MiB, cpu ${(rec.usage.cpuNanos / 1e6).toFixed(0)} ms`);
  });
});

describe('exit 137 is an OOM kill only when the kernel says so', () => {
  it('the memory hog is OOM-killed, on the kernel\'s word', async () => {
    const r = await run('memory-hog', 'standard');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(true);
    expect(r.oomEvidence.length).toBeGreaterThan(0);
    expect(r.error).toBeInstanceOf(SandboxViolation);
    expect((r.error as SandboxViolation).kind).toBe('memory');
    expect(r.error.message).toMatch(/ran out of memory \(limit 64 MiB\): killed by the kernel for exceeding its memory limit \(OOM\)/);
    // it was measured; the kernel may kill it between two readings and its cgroup goes with
    // it, so the last reading is a lower bound (the OOM verdict itself says it hit the limit)
    expect(r.usage.source).toBe('cgroup');
    expect(r.usage.peakMemoryBytes).toBeGreaterThan(0);
    expect(r.usage.peakMemoryBytes).toBeLessThanOrEqual(64 * MiB);
    console.log(`memory-hog: OOM evidence ${r.oomEvidence.join(', ')}; peak ${(r.usage.peakMemoryBytes / MiB).toFixed(1)} MiB`);
  });

  it('a plugin that SIGKILLs itself exits 137 and is not called OOM', async () => {
    const r = await run('kills-itself', 'standard');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.exitCode).toBe(137);
    expect(r.oomKilled).toBe(false);
    expect(r.oomEvidence).toEqual([]);
    expect((r.error as SandboxViolation).kind).toBe('crash');
    expect(r.error.message).toMatch(/test\.kills-itself was killed \(signal 9, exit 137\); the kernel reported no OOM kill/);
    expect(r.error.message).not.toMatch(/memory|OOM\)/);
    expect(r.usage.kernelOomKills).toBe(0);
  });
});
