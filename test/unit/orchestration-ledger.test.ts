// A ledger run (src/pipeline/run-ledger.ts, with the trusted session and the chain) against
// an in-memory engine: the order in which containers are made and used, that every one of
// them is removed on every path, and how each failure maps to a result or a typed error
// (and so to an exit code). These tests prove sequencing, cleanup and error mapping only,
// never isolation: the fake engine confines nothing. Isolation and Beancount's semantics
// are proved against the real engine in test/integration.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EngineUnavailableError, InternalError, InterruptedError, PolicyRefusal, StageFailedError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import type { PreparedPlugin } from '../../src/pipeline/execute-plugins.js';
import type { PluginLine } from '../../src/pipeline/load-ledger.js';
import { runLedger, type LedgerRunRequest, type Preparation } from '../../src/pipeline/run-ledger.js';
import { checkSeccomp } from '../../src/policy/seccomp.js';
import { runLimits } from '../../src/run/run-limits.js';
import type { Effect } from '../../src/validate/effects.js';
import { SAMPLE_DIRECTIVES } from '../fixtures/run/sample-directives.js';
import { crash, echoKeep, exits, hang, session, type SessionScript } from '../support/fake-behaviours.js';
import { MemoryEngine, type Behaviour, type Fault } from '../support/memory-engine.js';

const logger = createLogger('silent');
const ROOT = path.resolve(__dirname, '..', '..');
const seccomp = checkSeccomp(readFileSync(path.join(ROOT, 'seccomp', 'strict.json'), 'utf8'), 'strict.json');
const RUNNER = { id: 'sha256:' + '0'.repeat(64), ref: 'sandboxctl/runner-python:fake' };
const imageOf = (name: string) => 'sha256:' + Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64);

const tmp = mkdtemp(path.join(os.tmpdir(), 'sandboxctl-orchestration-'));
afterAll(async () => rm(await tmp, { recursive: true, force: true }));

interface FakePlugin {
  name: string;
  behaviour: Behaviour;
  effects?: Effect[];
  timeoutMs?: number;
  refused?: boolean;
  /** Its image was built on the session's runner image (a Python bundle): it may read the loader's pickle. */
  onRunner?: boolean;
}

interface Recorded {
  steps: string[];
  refusals: string[];
  discarded: string[];
}

function ledgerRun(plugins: FakePlugin[], o: { session?: Partial<SessionScript>; fault?: Fault; signal?: AbortSignal; stageTimeoutMs?: number; printTo?: string } = {}) {
  const lines: PluginLine[] = plugins.map((p, i) => ({ name: p.name, config: null, filename: '/ledgers/main.beancount', lineno: i + 1 }));
  const byImage = new Map<string, Behaviour>(plugins.map((p) => [imageOf(p.name), p.behaviour]));
  const sessionBehaviour = session({ directives: SAMPLE_DIRECTIVES, plugins: lines, ...o.session });
  const engine = new MemoryEngine({
    behaviour: (body) => (body.Image === RUNNER.id ? sessionBehaviour : byImage.get(body.Image)!),
    fault: o.fault,
  });
  const rec: Recorded = { steps: [], refusals: [], discarded: [] };
  const prepare = async (): Promise<Preparation[]> =>
    plugins.map((p, position): Preparation => {
      const line = lines[position]!;
      if (p.refused) {
        const error = new PolicyRefusal(p.name, 'strict', [{ capability: 'network', requested: 'egress', allowed: 'none', reason: 'strict allows no network' }]);
        return { ok: false, line, error, identity: { name: p.name, version: '1', bundleHash: null }, profile: 'strict' };
      }
      const plugin: PreparedPlugin = {
        position,
        line,
        name: p.name,
        version: '1',
        image: { id: imageOf(p.name), ref: `fake/${p.name}`, ...(p.onRunner ? { runnerId: RUNNER.id } : {}) },
        spec: { Image: imageOf(p.name), HostConfig: { NetworkMode: 'none' } },
        effects: p.effects ?? ['add', 'modify', 'remove'],
        limits: runLimits({ timeoutMs: p.timeoutMs ?? 5_000 }, 0),
      };
      // runLedger reads only the plugin of a prepared step; the rest is the audit's
      return { ok: true, plugin } as Preparation;
    });
  const req: LedgerRunRequest = {
    engine,
    runId: 'run-ledger-1',
    ledgerPath: '/ledgers/main.beancount',
    runner: RUNNER,
    logger,
    signal: o.signal,
    stageTimeoutMs: o.stageTimeoutMs ?? 5_000,
    stageMemoryBytes: 2 ** 30,
    seccomp,
    apparmor: false,
    prepare,
    onStep: async (step) => void rec.steps.push(`${step.plugin.name}:${step.run.ok ? 'ok' : 'failed'}`),
    onRefusal: async (r) => void rec.refusals.push(r.line.name),
    onDiscard: async (p) => void rec.discarded.push(p.name),
    printTo: o.printTo,
  };
  return { engine, rec, run: () => runLedger(req) };
}

const sessionImage = (engine: MemoryEngine) => engine.containers.filter((c) => c.body.Image === RUNNER.id);

describe('runLedger: sequencing', () => {
  it('opens the session, starts every plugin ahead, runs them in order, finalizes, prints, and removes everything', async () => {
    const printTo = path.join(await tmp, 'ok.beancount');
    const { engine, rec, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }, { name: 'b', behaviour: echoKeep() }, { name: 'c', behaviour: echoKeep(), effects: [] }], { printTo });
    const r = await run();
    expect(r.status).toBe('ok');
    expect(r.directives).toHaveLength(SAMPLE_DIRECTIVES.length);
    expect(r.errors).toEqual([]);
    expect(rec.steps).toEqual(['a:ok', 'b:ok', 'c:ok']);
    expect(rec.discarded).toEqual([]);
    expect(await readFile(printTo, 'utf8')).toBe(';; printed\n');
    // the session first; then every plugin container is created and started before any exits
    const creates = engine.ops('create');
    expect(creates[0]).toBe(RUNNER.id);
    expect(creates.slice(1)).toEqual(['a', 'b', 'c'].map(imageOf));
    const firstPluginExit = engine.events.findIndex((e) => e.op === 'exit' && e.image !== RUNNER.id);
    const lastPluginStart = engine.events.map((e) => e.op === 'start' && e.image !== RUNNER.id).lastIndexOf(true);
    expect(lastPluginStart).toBeLessThan(firstPluginExit);
    // plugins with effects run one after the other: b's input comes only after a has exited
    expect(engine.ops('exit').indexOf(imageOf('a'))).toBeLessThan(engine.ops('exit').indexOf(imageOf('b')));
    expect(sessionImage(engine)).toHaveLength(1);
    expect(engine.live()).toEqual([]);
  });

  it('errors the plugins and Beancount report make an "errors" result, still with directives', async () => {
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep({ errors: ['suspicious transaction'] }) }], { session: { finalizeErrors: ['Balance failed'] } });
    const r = await run();
    expect(r.status).toBe('errors');
    expect(r.directives).toHaveLength(SAMPLE_DIRECTIVES.length);
    expect(r.errors.map((e) => e.message)).toEqual(['suspicious transaction', 'Balance failed']);
    expect(engine.live()).toEqual([]);
  });

  it('asks the loader for its pickle only when a plugin container was built on the loader\'s runner image', async () => {
    const choices: boolean[] = [];
    const onLoadChoice = (pickle: boolean) => void choices.push(pickle);
    await ledgerRun([{ name: 'a', behaviour: echoKeep() }], { session: { onLoadChoice } }).run();
    await ledgerRun([{ name: 'a', behaviour: echoKeep() }, { name: 'py', behaviour: echoKeep(), onRunner: true }], { session: { onLoadChoice } }).run();
    await ledgerRun([{ name: 'py', behaviour: echoKeep(), onRunner: true }, { name: 'no', behaviour: echoKeep(), refused: true }], { session: { onLoadChoice } }).run();
    expect(choices).toEqual([false, true, false]);
  });

  it('one refusal and nothing runs: no plugin container is ever created', async () => {
    const { engine, rec, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }, { name: 'net', behaviour: echoKeep(), refused: true }]);
    const r = await run();
    expect(r.status).toBe('refused');
    expect(r.directives).toBeUndefined();
    expect(rec.refusals).toEqual(['net']);
    expect(rec.steps).toEqual([]);
    expect(engine.ops('create')).toEqual([RUNNER.id]);
    expect(engine.live()).toEqual([]);
  });
});

describe('runLedger: every container is removed on every path', () => {
  it('a plugin crash stops the chain; the plugins started ahead are discarded', async () => {
    const { engine, rec, run } = ledgerRun([{ name: 'a', behaviour: crash(2) }, { name: 'b', behaviour: echoKeep() }, { name: 'c', behaviour: echoKeep() }]);
    const r = await run();
    expect(r.status).toBe('violation');
    expect(r.directives).toBeUndefined();
    expect(r.errors.at(-1)).toMatchObject({ code: 'violation:crash', plugin: 'a' });
    expect(rec.steps).toEqual(['a:failed']);
    expect(rec.discarded.sort()).toEqual(['b', 'c']);
    expect(engine.live()).toEqual([]);
  });

  it('a plugin timeout is a timeout violation', async () => {
    const { engine, rec, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }, { name: 'slow', behaviour: hang(), timeoutMs: 150 }]);
    const r = await run();
    expect(r.status).toBe('violation');
    expect(r.errors.at(-1)).toMatchObject({ code: 'violation:timeout', plugin: 'slow' });
    expect(rec.steps).toEqual(['a:ok', 'slow:failed']);
    expect(engine.live()).toEqual([]);
  });

  it('an OOM kill is a memory violation', async () => {
    const { engine, run } = ledgerRun([{ name: 'hog', behaviour: exits(137, { oomKilled: true }) }]);
    const r = await run();
    expect(r.errors.at(-1)).toMatchObject({ code: 'violation:memory' });
    expect(engine.live()).toEqual([]);
  });

  it('a loader that crashes is a StageFailedError (exit 9), not the ledger reporting errors', async () => {
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }], { session: { load: 'crash' } });
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StageFailedError);
    expect(err).toMatchObject({ exitCode: 9, message: expect.stringMatching(/the load stage failed \(exit 1\)[\s\S]*the loader broke/) });
    expect(engine.live()).toEqual([]);
  });

  it('a loader that hangs is stopped at the stage timeout (exit 9)', async () => {
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }], { session: { load: 'hang' }, stageTimeoutMs: 200 });
    await expect(run()).rejects.toMatchObject({ exitCode: 9, message: expect.stringMatching(/load stage did not finish within/) });
    expect(engine.live()).toEqual([]);
  });

  it('a finalizer that crashes is a StageFailedError (exit 9); nothing is printed', async () => {
    const printTo = path.join(await tmp, 'crash.beancount');
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }], { session: { finalize: 'crash' }, printTo });
    await expect(run()).rejects.toMatchObject({ exitCode: 9, message: expect.stringMatching(/finalize stage failed \(exit 1\)/) });
    await expect(readFile(printTo, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(engine.live()).toEqual([]);
  });

  it('a finalizer that hangs is stopped at the stage timeout (exit 9)', async () => {
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }], { session: { finalize: 'hang' }, stageTimeoutMs: 300 });
    await expect(run()).rejects.toMatchObject({ exitCode: 9, message: expect.stringMatching(/finalize stage did not finish within/) });
    expect(engine.live()).toEqual([]);
  });

  it('a finalizer that breaks the protocol is the stage failing (exit 9), not a plugin violation (exit 4)', async () => {
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }], { session: { finalize: 'garbage' } });
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(StageFailedError);
    expect(err).toMatchObject({ exitCode: 9 });
    expect(engine.live()).toEqual([]);
  });

  it('an abort during the chain is an interruption; the session, the running plugin and those started ahead are removed', async () => {
    const ac = new AbortController();
    const { engine, rec, run } = ledgerRun([{ name: 'a', behaviour: hang() }, { name: 'b', behaviour: echoKeep() }], { signal: ac.signal });
    setTimeout(() => ac.abort(new InterruptedError('SIGINT')), 100);
    await expect(run()).rejects.toBeInstanceOf(InterruptedError);
    expect(rec.discarded).toEqual(['b']);
    expect(engine.containers.length).toBe(3);
    expect(engine.live()).toEqual([]);
  });

  it('an abort while the ledger loads is an interruption, and removes the session', async () => {
    const ac = new AbortController();
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }], { session: { load: 'hang' }, signal: ac.signal });
    setTimeout(() => ac.abort(new InterruptedError('SIGTERM')), 50);
    await expect(run()).rejects.toMatchObject({ exitCode: 143 });
    expect(engine.live()).toEqual([]);
  });
});

describe('runLedger: engine errors', () => {
  it('an engine that is gone when the session opens: EngineUnavailableError (exit 5), nothing created', async () => {
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }], { fault: ({ point }) => (point === 'create' ? new EngineUnavailableError('no Docker engine answers (create)') : undefined) });
    await expect(run()).rejects.toMatchObject({ exitCode: 5 });
    expect(engine.containers).toEqual([]);
  });

  it('an engine that goes away mid-run: EngineUnavailableError (exit 5), not a violation, and what was made is removed', async () => {
    // the 3rd create is plugin b's container, started ahead while a runs
    const fault: Fault = ({ point, nth }) => (point === 'create' && nth === 3 ? new EngineUnavailableError('no Docker engine answers (create)') : undefined);
    const { engine, rec, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }, { name: 'b', behaviour: echoKeep() }, { name: 'c', behaviour: echoKeep() }], { fault });
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect(err).toMatchObject({ exitCode: 5 });
    expect(rec.steps).toEqual(['a:ok', 'b:failed']);
    expect(rec.discarded).toEqual(['c']);
    expect(engine.live()).toEqual([]);
  });

  it('any other engine failure under a plugin is an internal error (exit 70), not a violation', async () => {
    const fault: Fault = ({ point, body }) => (point === 'start' && body.Image === imageOf('b') ? new Error('HTTP 500: OCI runtime create failed') : undefined);
    const { engine, run } = ledgerRun([{ name: 'a', behaviour: echoKeep() }, { name: 'b', behaviour: echoKeep() }], { fault });
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InternalError);
    expect(err).toMatchObject({ exitCode: 70, message: expect.stringMatching(/OCI runtime create failed/) });
    expect(engine.live()).toEqual([]);
  });
});

