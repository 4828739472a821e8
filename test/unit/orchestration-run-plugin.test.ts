// One plugin execution (src/run/run-plugin.ts) against an in-memory engine: the order of
// engine calls, the outcome of every way a run can end, and that the container is removed
// on each of them. These tests prove sequencing, cleanup and error mapping only, never
// isolation: the fake engine confines nothing. Isolation is proved against the real engine
// in test/integration (run-plugin.test.ts, hardening-*.test.ts).
import { describe, expect, it } from 'vitest';
import { EngineUnavailableError, InterruptedError, SandboxViolation, type ViolationKind } from '../../src/errors.js';
import type { Directive } from '../../src/ledger/directive-schema.js';
import { createLogger } from '../../src/logger.js';
import { runLimits, type RunLimits } from '../../src/run/run-limits.js';
import { runBody, runPlugin, type PluginRun, type RunPluginRequest } from '../../src/run/run-plugin.js';
import { startContainer } from '../../src/run/warm-start.js';
import { SAMPLE_DIRECTIVES } from '../fixtures/run/sample-directives.js';
import { crash, doneThenHang, echoKeep, exits, garbage, hang, inserts } from '../support/fake-behaviours.js';
import { MemoryEngine, type Behaviour, type Fault } from '../support/memory-engine.js';

const logger = createLogger('silent');
const IMAGE = { id: 'sha256:' + 'b'.repeat(64), ref: 'fake/plugin:1' };

function setup(behaviour: Behaviour, fault?: Fault) {
  const engine = new MemoryEngine({ behaviour: () => behaviour, fault });
  const request = (o: Omit<Partial<RunPluginRequest>, 'limits'> & { limits?: Partial<RunLimits> } = {}): RunPluginRequest => ({
    engine,
    runId: 'run-1',
    plugin: { name: 'test.fake', version: '1' },
    image: IMAGE,
    spec: { Image: 'ignored', HostConfig: { NetworkMode: 'none' } },
    config: null,
    options: {},
    input: SAMPLE_DIRECTIVES,
    effects: ['add', 'modify', 'remove'],
    logger,
    ...o,
    limits: runLimits({ timeoutMs: 2_000, ...o.limits }, SAMPLE_DIRECTIVES.length),
  });
  return { engine, run: (o?: Parameters<typeof request>[0]) => runPlugin(request(o)), request };
}

function violation(r: PluginRun, kind: ViolationKind): SandboxViolation {
  if (r.ok) throw new Error('expected the run to fail');
  expect(r.error).toBeInstanceOf(SandboxViolation);
  expect((r.error as SandboxViolation).kind).toBe(kind);
  expect(r.error).toMatchObject({ exitCode: 4 });
  return r.error as SandboxViolation;
}

describe('runPlugin: sequencing', () => {
  it('creates, attaches before starting, streams, waits, and removes the container', async () => {
    const { engine, run } = setup(echoKeep());
    const r = await run();
    if (!r.ok) throw r.error;
    expect(r.output).toEqual(SAMPLE_DIRECTIVES);
    expect(r.counts.kept).toBe(SAMPLE_DIRECTIVES.length);
    expect(r.exitCode).toBe(0);
    expect(r.containerId).toBe(engine.containers[0]!.id);
    const order = engine.events.filter((e) => ['create', 'attach', 'start', 'exit', 'remove'].includes(e.op)).map((e) => e.op);
    expect(order).toEqual(['create', 'attach', 'start', 'exit', 'remove']);
    expect(engine.live()).toEqual([]);
  });

  it('creates the container from the policy spec with our stdio settings and labels', async () => {
    const { engine, run } = setup(echoKeep());
    await run();
    const body = engine.containers[0]!.body;
    expect(body).toMatchObject({ Image: IMAGE.id, OpenStdin: true, StdinOnce: true, Tty: false, HostConfig: { NetworkMode: 'none', AutoRemove: false } });
    expect(body.Labels).toMatchObject({ 'io.sandboxctl.run': 'run-1', 'io.sandboxctl.plugin': 'test.fake' });
  });

  it('keeps what the plugin adds, validated against its effects', async () => {
    const extra: Directive = { type: 'Note', date: '2024-06-01', meta: { filename: '<plugin>', lineno: 0 }, account: 'Assets:Bank:Checking', comment: 'added' };
    const r = await setup(inserts(extra)).run();
    if (!r.ok) throw r.error;
    expect(r.output).toContainEqual(extra);
    expect(r.counts).toMatchObject({ inserted: 1 });
  });

  it('refuses an effect the grant does not allow, and still removes the container', async () => {
    const extra: Directive = { type: 'Note', date: '2024-06-01', meta: { filename: '<plugin>', lineno: 0 }, account: 'Assets:Bank:Checking', comment: 'added' };
    const { engine, run } = setup(inserts(extra));
    const r = await run({ effects: [] });
    violation(r, 'effect');
    expect(engine.live()).toEqual([]);
  });

  it('uses a container started ahead instead of creating one', async () => {
    const { engine, request } = setup(echoKeep());
    const req = request();
    const warm = startContainer(engine, runBody(req));
    const r = await runPlugin({ ...req, warm });
    expect(r.ok).toBe(true);
    expect(engine.ops('create')).toHaveLength(1);
    expect(engine.ops('start')).toHaveLength(1);
    expect(engine.live()).toEqual([]);
  });

  it('hands the removal over when asked, and the container is gone once it is awaited', async () => {
    const { engine, run } = setup(echoKeep());
    const removals: Array<Promise<void>> = [];
    const r = await run({ deferRemoval: (p) => removals.push(p) });
    expect(r.ok).toBe(true);
    expect(removals).toHaveLength(1);
    await Promise.all(removals);
    expect(engine.live()).toEqual([]);
  });
});

describe('runPlugin: every way a run ends removes its container', () => {
  it('a crash is a crash violation carrying the stderr tail', async () => {
    const { engine, run } = setup(crash(3, 'Traceback (most recent call last):\nKeyError: oops\n'));
    const r = await run();
    const v = violation(r, 'crash');
    expect(v.message).toMatch(/exited with code 3/);
    expect(v.message).toMatch(/KeyError: oops/);
    expect(r.exitCode).toBe(3);
    expect(engine.live()).toEqual([]);
  });

  it('a hang is killed at the timeout and is a timeout violation', async () => {
    const { engine, run } = setup(hang());
    const t0 = Date.now();
    const r = await run({ limits: { timeoutMs: 150 } });
    violation(r, 'timeout');
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(engine.ops('kill')).toHaveLength(1);
    expect(engine.live()).toEqual([]);
  });

  it('done without an exit is still a timeout, saying done came', async () => {
    const { engine, run } = setup(doneThenHang());
    const r = await run({ limits: { timeoutMs: 150 } });
    expect(violation(r, 'timeout').message).toMatch(/sent done but did not exit/);
    expect(engine.live()).toEqual([]);
  });

  it('garbage on stdout is a protocol violation; the plugin is killed at once, not at the timeout', async () => {
    const { engine, run } = setup(garbage());
    const t0 = Date.now();
    const r = await run({ limits: { timeoutMs: 5_000 } });
    violation(r, 'protocol');
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(engine.ops('kill')).toHaveLength(1);
    expect(engine.live()).toEqual([]);
  });

  it('a line past the line limit is a line-size violation', async () => {
    const { engine, run } = setup(garbage('x'.repeat(4096)));
    violation(await run({ limits: { maxLineBytes: 1024 } }), 'line-size');
    expect(engine.live()).toEqual([]);
  });

  it('exit 0 without done is an early exit', async () => {
    const { engine, run } = setup(exits(0));
    violation(await run(), 'early-exit');
    expect(engine.live()).toEqual([]);
  });

  it('an OOM kill the engine reports is a memory violation', async () => {
    const { engine, run } = setup(exits(137, { oomKilled: true }));
    const r = await run();
    expect(violation(r, 'memory').message).toMatch(/killed by the kernel for exceeding its memory limit/);
    expect(r.oomKilled).toBe(true);
    expect(engine.live()).toEqual([]);
  });

  it('an abort mid-run is an interruption; the container is killed and removed', async () => {
    const { engine, run } = setup(hang());
    const ac = new AbortController();
    setTimeout(() => ac.abort(new InterruptedError('SIGINT')), 50);
    const r = await run({ signal: ac.signal, limits: { timeoutMs: 10_000 } });
    if (r.ok) throw new Error('expected an interruption');
    expect(r.error).toBeInstanceOf(InterruptedError);
    expect(r.error).toMatchObject({ exitCode: 130 });
    expect(engine.ops('kill')).toHaveLength(1);
    expect(engine.live()).toEqual([]);
  });

  it('a run aborted before it starts creates nothing', async () => {
    const { engine, run } = setup(echoKeep());
    const ac = new AbortController();
    ac.abort(new InterruptedError('SIGTERM'));
    const r = await run({ signal: ac.signal });
    expect(r.ok).toBe(false);
    expect(r.ok ? undefined : r.error).toMatchObject({ exitCode: 143 });
    expect(engine.containers).toEqual([]);
  });
});

describe('runPlugin: engine errors', () => {
  const gone = new EngineUnavailableError('no Docker engine answers (create)');

  it('an engine that fails at create leaves nothing behind and keeps its typed error', async () => {
    const { engine, run } = setup(echoKeep(), ({ point }) => (point === 'create' ? gone : undefined));
    const r = await run();
    expect(r.ok ? undefined : r.error).toBe(gone);
    expect(r.containerId).toBeNull();
    expect(engine.containers).toEqual([]);
  });

  it('an engine that fails at start: the created container is still removed', async () => {
    const { engine, run } = setup(echoKeep(), ({ point }) => (point === 'start' ? new EngineUnavailableError('no Docker engine answers (start)') : undefined));
    const r = await run();
    expect(r.ok ? undefined : r.error).toBeInstanceOf(EngineUnavailableError);
    expect(r.ok ? undefined : r.error).toMatchObject({ exitCode: 5 });
    expect(engine.containers).toHaveLength(1);
    expect(engine.live()).toEqual([]);
  });

  it('an engine that fails at attach: the created container is still removed', async () => {
    const { engine, run } = setup(echoKeep(), ({ point }) => (point === 'attach' ? new Error('HTTP 500') : undefined));
    const r = await run();
    expect(r.ok).toBe(false);
    expect(engine.live()).toEqual([]);
  });

  it('a removal that fails does not change the outcome (gc finds the container by its labels)', async () => {
    const { engine, run } = setup(echoKeep(), ({ point }) => (point === 'remove' ? new Error('HTTP 500') : undefined));
    const r = await run();
    expect(r.ok).toBe(true);
    expect(engine.live()[0]!.body.Labels).toMatchObject({ 'io.sandboxctl.run': 'run-1' });
  });
});
