import { afterAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { Labels } from '../../src/labels.js';
import { newRunId } from '../../src/ids.js';
import { SandboxViolation, type ViolationKind } from '../../src/errors.js';
import type { Directive } from '../../src/ledger/directive-schema.js';
import { runPlugin, type PluginRun } from '../../src/run/run-plugin.js';
import type { RunLimits } from '../../src/run/run-limits.js';
import { SAMPLE_DIRECTIVES } from '../fixtures/run/sample-directives.js';
import { cleanupFixtureImages, fixture, limitsFor, quietLogger, specFor } from './helpers/plugin-fixtures.js';

const engine = createDockerEngine();
const runId = `test-${newRunId()}`;

afterAll(async () => {
  const left = await engine.listContainers({ [Labels.run]: runId });
  for (const c of left) await engine.removeContainer(c.id);
  await cleanupFixtureImages(engine);
  expect(left).toEqual([]);
});

async function run(name: string, opts: { input?: Directive[]; limits?: Partial<RunLimits>; signal?: AbortSignal; profile?: string } = {}): Promise<PluginRun> {
  const { bundle, image } = await fixture(engine, name);
  const input = opts.input ?? SAMPLE_DIRECTIVES;
  return runPlugin({
    engine,
    runId,
    plugin: { name: bundle.manifest.name, version: bundle.manifest.version },
    image,
    spec: await specFor(engine, bundle, opts.profile),
    config: null,
    options: {},
    input,
    effects: bundle.manifest.capabilities.effects,
    limits: limitsFor(bundle, input.length, opts.limits),
    signal: opts.signal,
    logger: quietLogger,
  });
}

function expectViolation(r: PluginRun, kind: ViolationKind, message: RegExp): SandboxViolation {
  expect(r.ok).toBe(false);
  if (r.ok) throw new Error('unreachable');
  expect(r.error).toBeInstanceOf(SandboxViolation);
  const v = r.error as SandboxViolation;
  expect({ kind: v.kind, message: v.message }).toMatchObject({ kind, message: expect.stringMatching(message) });
  expect(v.exitCode).toBe(4);
  expect('output' in r).toBe(false);
  return v;
}

describe('runPlugin against the engine', () => {
  it('round-trips every directive and metadata type through an identity plugin', async () => {
    const r = await run('passthrough');
    if (!r.ok) throw r.error;
    expect(r.output).toEqual(SAMPLE_DIRECTIVES);
    expect(r.counts).toEqual({ kept: SAMPLE_DIRECTIVES.length, modified: 0, inserted: 0, deleted: 0, errors: 0 });
    expect(r.exitCode).toBe(0);
    expect(r.containerId).toMatch(/^[0-9a-f]{64}$/);
    expect(r.usage.samples).toBeGreaterThanOrEqual(0);
    expect(await engine.listContainers({ [Labels.run]: runId })).toEqual([]);
  });

  it('stops a plugin that never returns (timeout)', async () => {
    const t0 = Date.now();
    const r = await run('sleep-forever');
    expectViolation(r, 'timeout', /test\.sleep-forever did not finish within its 3s timeout; it was killed/);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('stops a plugin that sends done but never exits (timeout)', async () => {
    expectViolation(await run('done-then-hang'), 'timeout', /sent done but did not exit within its 4s timeout/);
  });

  it('names an OOM kill as memory', async () => {
    const r = await run('memory-hog');
    expectViolation(r, 'memory', /test\.memory-hog ran out of memory \(limit 64 MiB\): killed .*\(OOM\)/);
    // the engine's OOMKilled flag is racy in Docker 20.10; the exit status is not
    expect(r.exitCode).toBe(137);
  });

  it('reports a crash with the traceback', async () => {
    const r = await run('crash');
    const v = expectViolation(r, 'crash', /test\.crash crashed: it exited with code 4/);
    expect(v.message).toMatch(/SystemExit: sandboxctl-test: plugin gave up after 17 entries/);
    expect(r.stderr.text).toMatch(/Traceback/);
  });

  it('stops an output flood at the output limit', async () => {
    const r = await run('stdout-flood');
    expectViolation(r, 'output-size', /wrote more than 67108864 bytes \(64 MiB\)/);
    expect(r.stdoutBytes).toBeLessThan(80 * 1024 * 1024);
  });

  it('stops one huge line at the line limit', async () => {
    const r = await run('huge-line');
    expectViolation(r, 'line-size', /output line 1 is longer than the limit of 1048576 bytes/);
    expect(r.stdoutBytes).toBeLessThan(8 * 1024 * 1024);
  });

  it('stops too many results', async () => {
    expectViolation(await run('too-many-results'), 'result-count', /sent more than 10034 results/);
  });

  it('stops too many errors', async () => {
    expectViolation(await run('too-many-errors'), 'error-count', /more than 10000 errors/);
  });

  it('reports output cut short when a plugin exits without done', async () => {
    expectViolation(await run('exits-early'), 'early-exit', /ended its output without done \(after 1 of 17 inputs/);
  });

  it('reports a line that is not JSON with its line number', async () => {
    expectViolation(await run('garbage'), 'protocol', /line 2: not valid JSON/);
  });

  it.each([
    ['modifies-without-modify', /modified input directive \d+, but its grant does not include the 'modify' effect/],
    ['deletes-without-remove', /deleted input directive 0, but its grant does not include the 'remove' effect/],
    ['inserts-without-add', /inserted a directive, but its grant does not include the 'add' effect/],
  ])('refuses %s as an effect violation', async (name, re) => {
    expectViolation(await run(name), 'effect', re);
  });

  it.each([
    ['proto-key', /directive\.meta\.__proto__.*refused/],
    ['control-chars', /narration.*U\+000A/],
    ['bad-account', /postings\[0\]\.account.*Beancount account/],
    ['bad-date', /directive\.date.*calendar date/],
    ['float-number', /directive\.amount\.number.*(string|decimal)/],
  ])('refuses invalid output from %s', async (name, re) => {
    expectViolation(await run(name), 'invalid-output', re);
  });

  it('removes the container when the run is aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stop now')), 1500);
    const r = await run('sleep-forever', { signal: ac.signal, limits: { timeoutMs: 60_000 } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.message).toBe('stop now');
    expect(await engine.listContainers({ [Labels.run]: runId })).toEqual([]);
  });
});
