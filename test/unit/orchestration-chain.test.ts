// The plugin chain (src/pipeline/execute-plugins.ts) and the directive-file run built on
// it (runPluginChain in src/pipeline/jsonl-run.ts) against an in-memory engine: which
// plugins run one after another and which side by side, when the tail starts, what is
// audited, and that a failure stops the chain with every container removed. These tests
// prove sequencing, cleanup and error mapping only, never isolation: the fake engine
// confines nothing. Isolation is proved against the real engine in test/integration.
import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/index.js';
import { EngineUnavailableError, PolicyRefusal, SandboxViolation } from '../../src/errors.js';
import type { Directive } from '../../src/ledger/directive-schema.js';
import { createLogger } from '../../src/logger.js';
import { executeChain, type PreparedPlugin } from '../../src/pipeline/execute-plugins.js';
import type { GrantRecord } from '../../src/pipeline/audit-entry.js';
import { runPluginChain, type PreparedStep, type StepPreparation } from '../../src/pipeline/jsonl-run.js';
import { runLimits } from '../../src/run/run-limits.js';
import type { Effect } from '../../src/validate/effects.js';
import { SAMPLE_DIRECTIVES } from '../fixtures/run/sample-directives.js';
import { crash, echoKeep, inserts } from '../support/fake-behaviours.js';
import { MemoryEngine, type Behaviour, type Fault } from '../support/memory-engine.js';

const logger = createLogger('silent');
const imageOf = (name: string) => 'sha256:' + Buffer.from(name).toString('hex').padEnd(64, '0').slice(0, 64);
const NOTE: Directive = { type: 'Note', date: '2024-06-01', meta: { filename: '<plugin>', lineno: 0 }, account: 'Assets:Bank:Checking', comment: 'added' };

function plugins(list: Array<{ name: string; effects?: Effect[] }>): PreparedPlugin[] {
  return list.map((p, position) => ({
    position,
    line: { name: p.name, config: null, filename: null, lineno: null },
    name: p.name,
    version: '1',
    image: { id: imageOf(p.name), ref: `fake/${p.name}` },
    spec: { Image: imageOf(p.name), HostConfig: {} },
    effects: p.effects ?? ['add', 'modify', 'remove'],
    limits: runLimits({ timeoutMs: 5_000 }, 0),
  }));
}

function engineFor(behaviours: Record<string, Behaviour>, fault?: Fault): MemoryEngine {
  const byImage = new Map(Object.entries(behaviours).map(([name, b]) => [imageOf(name), b]));
  return new MemoryEngine({ behaviour: (body) => byImage.get(body.Image)!, fault });
}

/** The i-th event of an op for an image, as an index into the engine's event log. */
const at = (engine: MemoryEngine, op: string, name: string) => engine.events.findIndex((e) => e.op === op && e.image === imageOf(name));

describe('executeChain: order', () => {
  it('runs plugins with effects one after another, each seeing the previous output, sorted', async () => {
    const engine = engineFor({ a: inserts(NOTE), b: echoKeep() });
    const r = await executeChain({ engine, runId: 'r', plugins: plugins([{ name: 'a' }, { name: 'b' }]), input: SAMPLE_DIRECTIVES, options: {}, logger });
    expect(r.failed).toBeUndefined();
    expect(r.output).toHaveLength(SAMPLE_DIRECTIVES.length + 1);
    // b saw a's output: it kept the inserted note as well
    expect(r.steps[1]!.run.ok && r.steps[1]!.run.counts.kept).toBe(SAMPLE_DIRECTIVES.length + 1);
    expect(at(engine, 'exit', 'a')).toBeLessThan(at(engine, 'create', 'b'));
    expect(engine.live()).toEqual([]);
  });

  it('runs consecutive error-only plugins side by side on one input, and reports their errors in order', async () => {
    const engine = engineFor({ e1: echoKeep({ errors: ['first'], delayMs: 80 }), e2: echoKeep({ errors: ['second'], delayMs: 10 }), e3: echoKeep({ delayMs: 40 }) });
    const steps: string[] = [];
    const r = await executeChain({
      engine,
      runId: 'r',
      plugins: plugins([{ name: 'e1', effects: [] }, { name: 'e2', effects: [] }, { name: 'e3', effects: [] }]),
      input: SAMPLE_DIRECTIVES,
      options: {},
      logger,
      onStep: async (s) => void steps.push(s.plugin.name),
    });
    // all three started before any of them exited
    const firstExit = engine.events.findIndex((e) => e.op === 'exit');
    for (const n of ['e1', 'e2', 'e3']) expect(at(engine, 'start', n)).toBeLessThan(firstExit);
    // e2 finished first, but steps and errors keep the ledger's order
    expect(at(engine, 'exit', 'e2')).toBeLessThan(at(engine, 'exit', 'e1'));
    expect(steps).toEqual(['e1', 'e2', 'e3']);
    expect(r.errors.map((e) => `${e.plugin}:${e.message}`)).toEqual(['e1:first', 'e2:second']);
    expect(r.output).toEqual(SAMPLE_DIRECTIVES);
    expect(engine.live()).toEqual([]);
  });

  it('starts the tail beside the trailing error-only plugins, once the final list is known', async () => {
    const engine = engineFor({ a: echoKeep(), check: echoKeep({ delayMs: 100 }) });
    let tailStartedAt = -1;
    const r = await executeChain({
      engine,
      runId: 'r',
      plugins: plugins([{ name: 'a' }, { name: 'check', effects: [] }]),
      input: SAMPLE_DIRECTIVES,
      options: {},
      logger,
      tail: async (output) => {
        tailStartedAt = engine.events.length;
        return output.length;
      },
    });
    expect(r.tail).toBe(SAMPLE_DIRECTIVES.length);
    expect(tailStartedAt).toBeGreaterThan(at(engine, 'exit', 'a'));
    expect(tailStartedAt).toBeLessThan(at(engine, 'exit', 'check'));
  });

  it('stops at the first failure: what follows never runs, and every container is removed', async () => {
    const engine = engineFor({ a: echoKeep(), bad: crash(1), never: echoKeep() });
    const steps: string[] = [];
    const r = await executeChain({
      engine,
      runId: 'r',
      plugins: plugins([{ name: 'a' }, { name: 'bad' }, { name: 'never' }]),
      input: SAMPLE_DIRECTIVES,
      options: {},
      logger,
      onStep: async (s) => void steps.push(`${s.plugin.name}:${s.run.ok}`),
    });
    expect(r.output).toBeUndefined();
    expect(r.failed?.plugin.name).toBe('bad');
    expect(steps).toEqual(['a:true', 'bad:false']);
    expect(at(engine, 'create', 'never')).toBe(-1);
    expect(engine.live()).toEqual([]);
  });
});

const RECORD: GrantRecord = {
  profile: 'strict',
  granted: [],
  specDigest: 'sha256:spec',
  seccompDigest: null,
  runtime: 'runc',
  apparmorApplied: false,
  limits: { memoryBytes: 2 ** 28, nanoCpus: 1e9, pids: 64, timeoutMs: 5_000, outputBytes: 2 ** 26 },
};

function prepared(list: Array<{ name: string; effects?: Effect[] }>): StepPreparation[] {
  // runPluginChain reads the plugin, its identity and its grant record; the rest is the planner's
  return plugins(list).map((plugin) => ({ ok: true, plugin, identity: { name: plugin.name, version: '1', bundleHash: null }, record: RECORD }) as unknown as PreparedStep);
}

function auditSink() {
  const entries: AuditEntry[] = [];
  return { entries, append: async (e: AuditEntry) => void entries.push(e) };
}

describe('runPluginChain (directive-file input): results, audit, errors', () => {
  it('returns the chain output and audits every execution', async () => {
    const engine = engineFor({ a: inserts(NOTE), b: echoKeep({ errors: ['look at this'] }) });
    const audit = auditSink();
    const r = await runPluginChain({ engine, runId: 'r', steps: prepared([{ name: 'a' }, { name: 'b' }]), input: SAMPLE_DIRECTIVES, options: {}, logger, audit });
    expect(r.output).toContainEqual(NOTE);
    expect(r.errors).toMatchObject([{ plugin: 'b', message: 'look at this' }]);
    expect(audit.entries.map((e) => [e.event, e.plugin?.name, e.outcome?.status])).toEqual([
      ['plugin-run', 'a', 'ok'],
      ['plugin-run', 'b', 'ok'],
    ]);
    expect(engine.live()).toEqual([]);
  });

  it('throws the refusal, audits every refusal, and creates nothing', async () => {
    const engine = engineFor({ a: echoKeep() });
    const audit = auditSink();
    const refusal = new PolicyRefusal('net', 'strict', [{ capability: 'network', requested: 'egress', allowed: 'none', reason: 'no network' }]);
    const steps: StepPreparation[] = [...prepared([{ name: 'a' }]), { ok: false, line: { name: 'net', config: null, filename: null, lineno: null }, error: refusal, identity: { name: 'net', version: '1', bundleHash: null }, profile: 'strict' }];
    await expect(runPluginChain({ engine, runId: 'r', steps, input: SAMPLE_DIRECTIVES, options: {}, logger, audit })).rejects.toBe(refusal);
    expect(audit.entries.map((e) => e.event)).toEqual(['refused']);
    expect(engine.containers).toEqual([]);
  });

  it('throws the violation that stopped the chain (exit 4), after auditing it', async () => {
    const engine = engineFor({ a: crash(2) });
    const audit = auditSink();
    const err = await runPluginChain({ engine, runId: 'r', steps: prepared([{ name: 'a' }]), input: SAMPLE_DIRECTIVES, options: {}, logger, audit }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxViolation);
    expect(err).toMatchObject({ kind: 'crash', exitCode: 4 });
    expect(audit.entries[0]).toMatchObject({ event: 'plugin-run', outcome: { status: 'crash', exitCode: 2 } });
    expect(engine.live()).toEqual([]);
  });

  it('throws an engine that is gone as EngineUnavailableError (exit 5)', async () => {
    const engine = engineFor({ a: echoKeep(), b: echoKeep() }, ({ point, nth }) => (point === 'create' && nth === 2 ? new EngineUnavailableError('no Docker engine answers (create)') : undefined));
    const audit = auditSink();
    await expect(runPluginChain({ engine, runId: 'r', steps: prepared([{ name: 'a' }, { name: 'b' }]), input: SAMPLE_DIRECTIVES, options: {}, logger, audit })).rejects.toMatchObject({ exitCode: 5 });
    expect(audit.entries.map((e) => e.outcome?.status)).toEqual(['ok', 'engine-unavailable']);
    expect(engine.live()).toEqual([]);
  });
});
