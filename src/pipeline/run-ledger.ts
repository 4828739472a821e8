// `sandboxctl run main.beancount`: Beancount loads the ledger in a trusted container,
// the ledger's plugins run sandboxed one by one (each in its own container, or, for a
// Beancount builtin the profile lets run there, in the trusted session), Beancount
// validates the result in the same trusted container, and only then is anything
// written. Plugin containers are started while the loader still books, each waiting for
// its turn; builtins at the head of the chain run in the session meanwhile.
import type { Engine } from '../engine/engine.js';
import { InternalError, SandboxctlError, SandboxViolation, StageFailedError } from '../errors.js';
import type { Directive } from '../ledger/directive-schema.js';
import { sortEntries } from '../ledger/sort.js';
import type { Logger } from '../logger.js';
import type { StepPreparation } from './jsonl-run.js';
import { defaultMaxResults } from '../run/run-limits.js';
import { runBody } from '../run/run-plugin.js';
import { WarmPool } from '../run/warm-start.js';
import { readsLoaderPickle, type LoadedInput } from '../run/loaded-input.js';
import type { CheckedSeccomp } from '../policy/seccomp.js';
import { ledgerError, pluginError, sandboxError, type RunError } from './diagnostics.js';
import { executeChain, type ChainStep, type PreparedPlugin } from './execute-plugins.js';
import type { SessionConfinement } from './audit-entry.js';
import type { LoadedHead, LoadedLedger } from './load-ledger.js';
import { TrustedSession, type Finalized } from './trusted-session.js';

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
  prepare: (head: LoadedHead) => Promise<Preparation[]>;
  /** Audit hook: every plugin execution, in ledger order; `session` is what an in-session plugin ran under. */
  onStep?: (step: ChainStep, input: readonly Directive[], session?: SessionConfinement) => Promise<void>;
  /** Audit hook: every refusal, before anything runs. */
  onRefusal?: (p: Extract<Preparation, { ok: false }>) => Promise<void>;
  /** Audit hook: a plugin container started ahead whose turn never came (the chain stopped). */
  onDiscard?: (plugin: PreparedPlugin, containerId: string) => Promise<void>;
  /** A new file to write the final ledger to, in Beancount syntax (printed by the trusted session). */
  printTo?: string;
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
  // where a whole command's time goes: the process before this, the session's container start
  const before = { processMs: Math.round(performance.now()), openMs: 0 };
  const opening = Date.now();
  const session = await TrustedSession.open({
    engine: req.engine,
    runId: req.runId,
    ledgerPath: req.ledgerPath,
    imageId: req.runner.id,
    logger: req.logger,
    signal: req.signal,
    timeoutMs: req.stageTimeoutMs,
    memoryBytes: req.stageMemoryBytes,
    seccomp: req.seccomp,
    apparmor: req.apparmor,
    user: req.loaderUser,
  });
  before.openMs = Date.now() - opening;
  const warm = new WarmPool<number>(req.logger);
  const byPosition = new Map<number, PreparedPlugin>();
  const removals: Array<Promise<void>> = [];
  const closing = { at: 0 };
  try {
    const result = await runInSession(req, session, warm, byPosition, (r) => removals.push(r));
    result.timings = { beforeMs: before.processMs, openMs: before.openMs, ...result.timings };
    closing.at = Date.now();
    return result;
  } finally {
    // each plugin's container is removed while the next one runs; none outlives the run
    await Promise.all(removals);
    for (const d of await warm.dispose()) {
      req.logger.info({ plugin: byPosition.get(d.key)?.name, containerId: d.containerId?.slice(0, 12) }, 'removed a plugin container started ahead: its turn never came');
      if (d.containerId) await req.onDiscard?.(byPosition.get(d.key)!, d.containerId);
    }
    await session.close();
    for (const p of session.unclaimed()) {
      req.logger.info({ plugin: p.name }, 'a builtin sent ahead to the trusted session: its turn never came, its result was not used');
      await req.onDiscard?.(p, session.containerId);
    }
    if (closing.at) req.logger.debug({ ms: Date.now() - closing.at }, 'containers removed and the session closed');
  }
}

async function runInSession(
  req: LedgerRunRequest,
  session: TrustedSession,
  warm: WarmPool<number>,
  byPosition: Map<number, PreparedPlugin>,
  deferRemoval: (removal: Promise<void>) => void,
): Promise<LedgerRunResult> {
  const t = Date.now();
  const timings: Record<string, number> = {};

  // 1. Beancount parses (the plugin lines come first), then books, without running the ledger's plugins
  const head = await session.head;
  timings.parseMs = Date.now() - t;

  // 2. every plugin is resolved and granted before any runs: one refusal, nothing runs
  const prepared = await req.prepare(head);
  const refused = prepared.filter((p): p is Extract<Preparation, { ok: false }> => !p.ok);
  if (refused.length > 0) {
    session.chooseLoad({ pickle: false });
    const loaded = await loadedSorted(session);
    for (const r of refused) await req.onRefusal?.(r);
    const errors: RunError[] = [...loaded.errors.map(ledgerError), ...refused.map((r) => sandboxError(r.error, r.line.name, r.line))];
    return { status: 'refused', errors, loaded, steps: [], timings };
  }
  const plugins = prepared.map((p) => (p as Extract<Preparation, { ok: true }>).plugin);
  for (const p of plugins) {
    byPosition.set(p.position, p);
    if (p.isolation === 'session') continue;
    warm.start(p.position, req.engine, runBody({ spec: p.spec, runId: req.runId, plugin: { name: p.name, version: p.version }, image: p.image }));
  }
  // the loader pickles what it loaded only for Python plugin containers made from its own image
  const readsPickle = (p: PreparedPlugin) => p.isolation !== 'session' && readsLoaderPickle(p.image, req.runner.id);
  session.chooseLoad({ pickle: plugins.some(readsPickle) });
  // builtins at the head of the chain run in the session while the host still reads what it loaded
  const leading = plugins.findIndex((p) => p.isolation !== 'session');
  session.sendAhead(plugins.slice(0, leading === -1 ? plugins.length : leading));
  timings.prepareMs = Date.now() - t - timings.parseMs;

  const loaded = await loadedSorted(session);
  timings.loadMs = Date.now() - t;
  // a results cap in proportion to this ledger, within each grant's
  for (const p of plugins) p.limits = { ...p.limits, maxResults: Math.min(p.limits.maxResults, defaultMaxResults(loaded.directives.length)) };
  const errors: RunError[] = loaded.errors.map(ledgerError);
  const pickle: LoadedInput | undefined = loaded.pickled ? { line: loaded.pickled.line, index: loaded.loaderIndex } : undefined;

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
    onStep: req.onStep && ((step, input) => req.onStep!(step, input, step.plugin.isolation === 'session' ? session.confinement() : undefined)),
    runInSession: (p, input) => session.runPlugin(p, input),
    loadedInput: (p) => (pickle && readsPickle(p) ? pickle : undefined),
    warm,
    deferRemoval,
    tail: (output): Promise<FinalizeOutcome> =>
      session.finalize(output, loaded.loaderIndex, req.printTo).then(
        (f) => ({ ok: true as const, ...f }),
        (error: unknown) => ({ ok: false as const, error: error as Error }),
      ),
  });
  timings.chainMs = Date.now() - t - timings.loadMs;
  errors.push(...chain.errors.map(pluginError));
  if (chain.failed || !chain.output) {
    const f = chain.failed!;
    const err = !f.run.ok ? f.run.error : undefined;
    // only what the plugin did is a violation; an interruption, or an engine that failed under it, ends the run as itself
    if (!(err instanceof SandboxViolation)) throw err instanceof SandboxctlError ? err : wrap(err);
    const tail = f.run.stderr.text.trimEnd().split('\n').slice(-12).join('\n');
    errors.push(sandboxError(err, f.plugin.name, f.plugin.line, tail || undefined));
    return { status: 'violation', errors, loaded, steps: chain.steps, timings };
  }
  const fin = chain.tail!;
  if (!fin.ok) throw stageFailure(fin.error);
  for (const e of fin.errors) errors.push(ledgerError({ type: 'error', message: e.message, source: e.source, index: e.index }));
  timings.totalMs = Date.now() - t;
  return { status: errors.length ? 'errors' : 'ok', directives: fin.output, errors, loaded, steps: chain.steps, timings };
}

type FinalizeOutcome = ({ ok: true } & Finalized) | { ok: false; error: Error };

/**
 * The loader's directives in Beancount's order, and each one's index in what the loader
 * sent: what the session loaded travels back to it by reference.
 */
async function loadedSorted(session: TrustedSession): Promise<LoadedLedger & { loaderIndex: ReadonlyMap<Directive, number> }> {
  const l = await session.loaded;
  return { ...l, directives: sortEntries(l.directives), loaderIndex: new Map(l.directives.map((d, i) => [d, i])) };
}

// the finalizer is ours: output that breaks the protocol is the stage failing, not a plugin's violation
function stageFailure(err: Error): Error {
  if (!(err instanceof SandboxViolation)) return err;
  return new StageFailedError(`the finalize stage failed: ${err.message}`, {
    cause: err,
    hint: 'this is a bug in sandboxctl or its runner image: rebuild the images (`sandboxctl images build`)',
    details: { stage: 'finalize', kind: err.kind },
  });
}

// runPlugin reports what a plugin did as typed errors; anything else is the engine failing under it
function wrap(err: unknown): SandboxctlError {
  return new InternalError(`the plugin run failed: ${(err as Error)?.message ?? String(err)}`, {
    cause: err,
    hint: 'check the engine (`sandboxctl doctor`); containers left behind are removed by `sandboxctl gc`',
  });
}
