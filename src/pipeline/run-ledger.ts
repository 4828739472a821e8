// `sandboxctl run main.beancount`: Beancount loads the ledger in a trusted container,
// the ledger's plugins run sandboxed one by one, Beancount validates the result in a
// trusted container, and only then is anything written.
import type { Engine } from '../engine/engine.js';
import { InternalError, InterruptedError, SandboxctlError } from '../errors.js';
import type { Directive } from '../ledger/directive-schema.js';
import { sortEntries } from '../ledger/sort.js';
import type { Logger } from '../logger.js';
import { runStage } from '../stages/run-stage.js';
import { LEDGER_MOUNT, stageBody } from '../stages/stage-body.js';
import path from 'node:path';
import type { CheckedSeccomp } from '../spec/seccomp.js';
import { ledgerError, pluginError, sandboxError, type RunError } from './diagnostics.js';
import { executeChain, type ChainStep } from './execute-chain.js';
import type { StepPreparation } from '../run/chain.js';
import { readLoaderOutput, type LoadedLedger } from './load-ledger.js';
import { mapDirectivePaths, mapOptionPaths, mountMapper } from './paths.js';
import { finalize, type TrustedStageContext } from './trusted-stages.js';

export type Preparation = StepPreparation;

export interface LedgerRunRequest {
  engine: Engine;
  runId: string;
  ledgerPath: string;
  /** The Python runner image (loader, finalizer, printer). */
  runner: { id: string; ref: string };
  logger: Logger;
  signal?: AbortSignal;
  stageTimeoutMs: number;
  stageMemoryBytes: number;
  /** The admin profile's seccomp body: the trusted stages run under it too. */
  seccomp: CheckedSeccomp;
  apparmor: boolean;
  /** uid:gid the loader reads the ledger as (the ledger's owner, never root). */
  loaderUser?: string;
  /** Resolves each plugin line to a bundle, a grant and a container spec, or a refusal. */
  prepare: (loaded: LoadedLedger) => Promise<Preparation[]>;
  /** Audit hook: every plugin execution, in ledger order. */
  onStep?: (step: ChainStep, input: readonly Directive[]) => Promise<void>;
  /** Audit hook: every refusal, before anything runs. */
  onRefusal?: (p: Extract<Preparation, { ok: false }>) => Promise<void>;
}

export type LedgerRunStatus = 'ok' | 'errors' | 'refused' | 'violation';

export interface LedgerRunResult {
  status: LedgerRunStatus;
  /** The final directives; present only when every plugin ran within its grant. */
  directives?: Directive[];
  errors: RunError[];
  loaded: LoadedLedger;
  steps: ChainStep[];
  timings: Record<string, number>;
}

export async function runLedger(req: LedgerRunRequest): Promise<LedgerRunResult> {
  const t = Date.now();
  const timings: Record<string, number> = {};
  const ledgerDir = path.dirname(req.ledgerPath);
  const map = mountMapper(LEDGER_MOUNT, ledgerDir);
  const stage: TrustedStageContext = {
    engine: req.engine,
    runId: req.runId,
    imageId: req.runner.id,
    imageRef: req.runner.ref,
    options: {},
    signal: req.signal,
    logger: req.logger,
    timeoutMs: req.stageTimeoutMs,
    memoryBytes: req.stageMemoryBytes,
    seccomp: req.seccomp,
    apparmor: req.apparmor,
  };

  // 1. Beancount parses and books, without running the ledger's plugins
  const loadedRaw = await runStage({
    engine: req.engine,
    name: 'load',
    timeoutMs: req.stageTimeoutMs,
    signal: req.signal,
    logger: req.logger,
    body: stageBody({
      imageId: req.runner.id,
      cmd: ['load', '--ledger', `${LEDGER_MOUNT}/${path.basename(req.ledgerPath)}`],
      kind: 'loader',
      runId: req.runId,
      ledgerDir,
      user: req.loaderUser,
      memoryBytes: req.stageMemoryBytes,
      timeoutMs: req.stageTimeoutMs,
      seccomp: req.seccomp,
      apparmor: req.apparmor,
    }),
    consume: (out) => readLoaderOutput(out),
  });
  timings.loadMs = Date.now() - t;
  const l = loadedRaw.value;
  const mapSource = (s: { filename: string; lineno: number } | null) => (s ? { ...s, filename: map(s.filename) } : s);
  const loaded: LoadedLedger = {
    ...l,
    options: mapOptionPaths(l.options, map),
    directives: sortEntries(l.directives.map((d) => mapDirectivePaths(d, map))),
    // Beancount's messages name files too ("File ... does not exist"): speak of the host's paths
    errors: l.errors.map((e) => ({ ...e, source: mapSource(e.source), message: e.message.split(`${LEDGER_MOUNT}/`).join(`${ledgerDir}/`) })),
    plugins: l.plugins.map((p) => ({ ...p, filename: p.filename === null ? null : map(p.filename) })),
  };
  stage.options = loaded.options;
  const errors: RunError[] = loaded.errors.map(ledgerError);

  // 2. every plugin is resolved and granted before any runs: one refusal, nothing runs
  const prepared = await req.prepare(loaded);
  const refused = prepared.filter((p): p is Extract<Preparation, { ok: false }> => !p.ok);
  if (refused.length > 0) {
    for (const r of refused) await req.onRefusal?.(r);
    errors.push(...refused.map((r) => sandboxError(r.error, r.line.name, r.line)));
    return { status: 'refused', errors, loaded, steps: [], timings };
  }
  const plugins = prepared.map((p) => (p as Extract<Preparation, { ok: true }>).plugin);
  timings.prepareMs = Date.now() - t - timings.loadMs;

  // 3. the chain: each plugin in its own container, seeing the previous one's output;
  // 4. Beancount's post-plugin ops and validation on the result, started as soon as it is known
  const chain = await executeChain({
    engine: req.engine,
    runId: req.runId,
    plugins,
    input: loaded.directives,
    options: loaded.options,
    signal: req.signal,
    logger: req.logger,
    onStep: req.onStep,
    tail: (output) => finalize(stage, output),
  });
  timings.chainMs = Date.now() - t - timings.loadMs - timings.prepareMs;
  errors.push(...chain.errors.map(pluginError));
  if (chain.failed || !chain.output) {
    const f = chain.failed!;
    const err = !f.run.ok ? f.run.error : undefined;
    if (err instanceof InterruptedError) throw err;
    const tail = f.run.stderr.text.trimEnd().split('\n').slice(-12).join('\n');
    errors.push(sandboxError(err instanceof SandboxctlError ? err : wrap(err), f.plugin.name, f.plugin.line, tail || undefined));
    return { status: 'violation', errors, loaded, steps: chain.steps, timings };
  }
  const fin = chain.tail!;
  if (!fin.ok) throw fin.error;
  for (const e of fin.errors) errors.push(ledgerError({ type: 'error', message: e.message, source: e.source, index: e.index }));
  timings.totalMs = Date.now() - t;
  return { status: errors.length ? 'errors' : 'ok', directives: fin.output, errors, loaded, steps: chain.steps, timings };
}

// runPlugin reports what a plugin did as typed errors; anything else is the engine failing under it
function wrap(err: unknown): SandboxctlError {
  return new InternalError(`the plugin run failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
