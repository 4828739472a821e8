// `sandboxctl run --input-format jsonl` as a user runs it: a child process, the real
// engine, the audit log; its memory while plugins flood it; signals mid-run; `gc`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import tarFs from 'tar-fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { Labels, ourLabels } from '../../src/labels.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { PLUGIN_IMAGE_KIND } from '../../src/run/plugin-image.js';
import { SAMPLE_DIRECTIVES } from '../fixtures/run/sample-directives.js';
import { CLI, ROOT, runCli } from './helpers/cli.js';
import { FIXTURES } from './helpers/plugin-fixtures.js';

const engine = createDockerEngine();
let dir: string;
let input: string;
let auditLog: string;
let imagesBefore: Set<string>;
const env = () => ({ SANDBOXCTL_AUDIT_LOG: auditLog, SANDBOXCTL_LOG_LEVEL: 'warn' });
const plugin = (name: string) => path.join(FIXTURES, name);
const jsonl = (ds: unknown[]) => ds.map((d) => JSON.stringify(d)).join('\n') + '\n';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-run-cli-'));
  input = path.join(dir, 'in.jsonl');
  auditLog = path.join(dir, 'audit.jsonl');
  await writeFile(input, jsonl(SAMPLE_DIRECTIVES));
  imagesBefore = new Set((await engine.listImages({ [Labels.kind]: PLUGIN_IMAGE_KIND })).map((i) => i.id));
});

afterAll(async () => {
  // plugin images this suite built from test fixtures (a cache; nobody else builds test.* bundles)
  for (const img of await engine.listImages({ [Labels.kind]: PLUGIN_IMAGE_KIND })) {
    if (!imagesBefore.has(img.id) && (img.labels[Labels.plugin] ?? '').startsWith('test.')) await engine.removeImage(img.id);
  }
  await rm(dir, { recursive: true, force: true });
});

async function auditRecords(): Promise<Array<Record<string, any>>> {
  const text = await readFile(auditLog, 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

async function containersOf(pid: number) {
  return engine.listContainers({ [Labels.managed]: 'true', [Labels.owner]: String(pid) });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Runs the CLI and records its peak resident memory (VmHWM) while it runs. */
async function runMeasured(args: string[]): Promise<{ code: number | null; stderr: string; peakRssBytes: number }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env() }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  let peak = 0;
  const poll = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8')
      .then((s) => {
        const kb = Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0);
        peak = Math.max(peak, kb * 1024);
      })
      .catch(() => {});
  }, 25);
  const { code } = await exited(child);
  clearInterval(poll);
  return { code, stderr, peakRssBytes: peak };
}

describe('sandboxctl run --input-format jsonl', () => {
  it('round-trips a directive file through an identity plugin, and audits it', async () => {
    const out = path.join(dir, 'identity.jsonl');
    const r = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin('passthrough'), '-o', out, '--json'], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(jsonl(SAMPLE_DIRECTIVES));
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ ok: true, counts: { input: 17, output: 17 }, plugins: [{ name: 'test.passthrough', ok: true, exitCode: 0 }] });
    const recs = await auditRecords();
    const run = recs.filter((x) => x.plugin?.name === 'test.passthrough').at(-1)!;
    expect(run).toMatchObject({ event: 'plugin-run', outcome: { status: 'ok', exitCode: 0 }, profile: 'strict', io: { inputCount: 17, outputCount: 17 }, effects: { kept: 17 } });
    expect(run.imageId).toMatch(/^sha256:/);
    expect(run.plugin.bundleHash).toMatch(/^sha256:/);
  });

  it('writes results to stdout when no -o is given', async () => {
    const r = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin('passthrough')], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(jsonl(SAMPLE_DIRECTIVES));
    expect(r.stderr).toMatch(/ok: 17 directives in, 17 out/);
  });

  it('reports every bad input line with its number and runs nothing', async () => {
    const bad = path.join(dir, 'bad.jsonl');
    const good = JSON.stringify(SAMPLE_DIRECTIVES[0]);
    await writeFile(bad, [good, '{"type":"Open"', good, JSON.stringify({ ...SAMPLE_DIRECTIVES[0], date: '2024-02-30' })].join('\n') + '\n');
    const r = await runCli(['run', '--input-format', 'jsonl', '--input', bad, '--plugin', plugin('passthrough')], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.jsonl: 2 problems/);
    expect(r.stderr).toMatch(/line 2: not valid JSON/);
    expect(r.stderr).toMatch(/line 4: date: expected a real calendar date/);
    expect(r.stdout).toBe('');
  });

  it('stops the chain at a failing plugin: later plugins do not run and nothing is written', async () => {
    const out = path.join(dir, 'chain.jsonl');
    // identity (error-only), then bad-account (may modify: the chain waits for it), then identity again
    const r = await runCli(
      ['run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin('passthrough'), '--plugin', plugin('bad-account'), '--plugin', plugin('passthrough'), '-o', out],
      { env: env() },
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/test\.bad-account, output line \d+: modify message for input \d+ refused|test\.bad-account.*postings\[0\]\.account/);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
    const recs = (await auditRecords()).filter((x) => x.argv.includes(out));
    expect(recs.filter((x) => x.event === 'plugin-run').map((x) => [x.plugin.name, x.outcome.status])).toEqual([
      ['test.passthrough', 'ok'],
      ['test.bad-account', 'violation'],
    ]);
    expect(recs.find((x) => x.outcome.status === 'violation')).toMatchObject({ outcome: { violation: 'invalid-output' }, validationErrors: { count: 1 } });
  });

  it('refuses a plugin that asks for more than the profile allows, before anything runs', async () => {
    const out = path.join(dir, 'refused.jsonl');
    const r = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin('passthrough'), '--plugin', plugin('wants-network'), '-o', out], { env: env() });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/test\.wants-network refused by profile strict: capabilities\.network.*resources\.memory/);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
    const recs = (await auditRecords()).filter((x) => x.argv.includes(out));
    expect(recs.map((x) => x.event)).toEqual(['refused', 'run-summary']);
    expect(recs[0]!.capabilities.denied.map((d: { capability: string }) => d.capability)).toEqual(['capabilities.network', 'resources.memory']);
  });

  it('runs a runtime: image plugin pinned by ID, and refuses one whose pinned image is not present', async () => {
    const runner = await requireRunnerImage(engine, { root: ROOT }, 'python');
    const runId = `test-${newRunId()}`;
    const image = await engine.buildImage({
      context: tarFs.pack(path.join(ROOT, 'test', 'fixtures', 'images', 'raw-identity')) as unknown as NodeJS.ReadableStream,
      tag: `sandboxctl-test/raw-identity:${runId}`,
      labels: ourLabels('test', runId),
      buildArgs: { BASE: runner.tags[0]! },
    });
    try {
      const pinned = async (name: string, id: string) => {
        const bundle = path.join(dir, name);
        await mkdir(bundle, { recursive: true });
        await writeFile(path.join(bundle, 'plugin.yaml'), `apiVersion: sandboxctl/v1\nname: test.${name}\nversion: 1.0.0\nruntime: image\nimage:\n  id: ${id}\n`);
        return bundle;
      };
      const out = path.join(dir, 'pinned.jsonl');
      const ok = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', await pinned('pinned', image.id), '--profile', 'permissive', '-o', out], { env: env() });
      // stderr holds the run's report and nothing else; stdout holds results only, and they went to -o
      expect(ok.stderr).toMatch(/^ok: 17 directives in, 17 out; 1 plugin run\(s\), 0 error\(s\); wrote \S+pinned\.jsonl\n$/);
      expect(ok.stdout).toBe('');
      expect(ok.code).toBe(0);
      expect(await readFile(out, 'utf8')).toBe(jsonl(SAMPLE_DIRECTIVES));
      const missing = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', await pinned('gone', `sha256:${'0'.repeat(64)}`), '--profile', 'permissive'], { env: env() });
      expect(missing.code).toBe(4);
      expect(missing.stderr).toMatch(/test\.gone: no local image has the pinned ID sha256:0{64}/);
      // the strict profile does not run image plugins at all
      const strict = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', await pinned('pinned', image.id)], { env: env() });
      expect(strict.code).toBe(3);
    } finally {
      await engine.removeImage(image.id);
    }
  });

  it.each([
    ['sleep-forever', 'timeout', /did not finish within its 3s timeout/],
    ['memory-hog', 'oom', /ran out of memory \(limit 64 MiB\)/],
    ['crash', 'crash', /exited with code 4[\s\S]*SystemExit: sandboxctl-test/],
    ['exits-early', 'crash', /ended its output without done/],
    ['proto-key', 'violation', /__proto__/],
  ])('ends a run of %s with exit code 4 and an audit record', async (name, status, re) => {
    const out = path.join(dir, `${name}.jsonl`);
    const r = await runCli(['run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin(name), '-o', out], { env: env() });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(re);
    await expect(stat(out)).rejects.toThrow(/ENOENT/);
    const rec = (await auditRecords()).filter((x) => x.argv.includes(out) && x.event === 'plugin-run');
    expect(rec.map((x) => x.outcome.status)).toEqual([status]);
  });
});

describe('host memory stays bounded', () => {
  const MiB = 1024 * 1024;

  it('while a plugin writes 500 MB to its log', async () => {
    const out = path.join(dir, 'stderr-flood.jsonl');
    const r = await runMeasured(['run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin('stderr-flood'), '-o', out]);
    expect(r.code).toBe(0);
    expect(r.peakRssBytes).toBeGreaterThan(0);
    expect(r.peakRssBytes).toBeLessThan(200 * MiB);
  });

  it('while a plugin floods its output until the 256 MiB output limit stops it', async () => {
    const out = path.join(dir, 'stdout-flood.jsonl');
    const r = await runMeasured(['run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin('stdout-flood'), '--profile', 'standard', '-o', out]);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/wrote more than 268435456 bytes \(256 MiB\) to its output/);
    expect(r.peakRssBytes).toBeGreaterThan(0);
    expect(r.peakRssBytes).toBeLessThan(200 * MiB);
  });
});

describe('interrupting sandboxctl mid-run', () => {
  async function startHanging(): Promise<ChildProcess> {
    const child = spawn(process.execPath, [CLI, 'run', '--input-format', 'jsonl', '--input', input, '--plugin', plugin('hangs'), '-o', path.join(dir, 'never.jsonl')], {
      cwd: ROOT,
      env: { ...process.env, ...env() },
      stdio: 'ignore',
    });
    // wait until its plugin container is running
    for (let i = 0; i < 600; i++) {
      const cs = await containersOf(child.pid!);
      if (cs.some((c) => c.state === 'running')) return child;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    throw new Error('the plugin container never started');
  }

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s: sandboxctl removes the container and exits %i', async (signal, code) => {
    const child = await startHanging();
    const done = exited(child);
    child.kill(signal);
    expect((await done).code).toBe(code);
    expect(await containersOf(child.pid!)).toEqual([]);
    const rec = (await auditRecords()).filter((x) => x.plugin?.name === 'test.hangs').at(-1)!;
    expect(rec.outcome.status).toBe('interrupted');
  });

  it('SIGKILL: the container is left, and `sandboxctl gc` removes it', async () => {
    const child = await startHanging();
    const done = exited(child);
    child.kill('SIGKILL');
    await done;
    const left = await containersOf(child.pid!);
    expect(left).toHaveLength(1);
    const gc = await runCli(['gc', '--json'], { env: env() });
    expect(gc.code).toBe(0);
    expect(JSON.parse(gc.stdout).removed.map((x: { id: string }) => x.id)).toContain(left[0]!.id);
    expect(await containersOf(child.pid!)).toEqual([]);
  });
});
