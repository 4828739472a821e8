// Runs the ledger's plugins in order, each in its own container with its own grant (or,
// for a Beancount builtin the profile lets run there, in the trusted session), each seeing
// the previous one's output, sorted as Beancount sorts after every plugin.
// A plugin granted no effects can only report errors: its output is its input, so it
// runs concurrently with what follows it. Errors keep Beancount's order regardless.
import type { CreateContainerBody, Engine } from '../engine/engine.js';
import { InternalError } from '../errors.js';
import type { Directive } from '../ledger/directive-schema.js';
import { isSorted, sortEntries } from '../ledger/sort.js';
import type { Logger } from '../logger.js';
import { runPlugin, type PluginRun } from '../run/run-plugin.js';
import type { RunLimits } from '../run/run-limits.js';
import type { WarmPool } from '../run/warm-start.js';
import type { LoadedInput } from '../run/loaded-input.js';
import type { Effect, PluginError } from '../validate/effects.js';
import type { Isolation } from '../policy/isolation.js';
import type { PluginLine } from './load-ledger.js';

export interface PreparedPlugin {
  /** Position among the ledger's plugin lines. */
  position: number;
  line: PluginLine;
  name: string;
  version: string | null;
  /** `runnerId`: the runner image its image was built on (python and node bundles). */
  image: { id: string; ref: string; runnerId?: string };
  spec: CreateContainerBody;
  effects: Effect[];
  limits: RunLimits;
  /** Where it runs: its own container (the default), or the trusted session (a Beancount builtin the profile lets run there). */
  isolation?: Isolation;
  /** The installed module it runs (python `module:` bundles). */
  module?: string;
}

export interface ChainStep {
  plugin: PreparedPlugin;
  run: PluginRun;
}

export interface ChainResult<T = undefined> {
  /** Set only when every plugin ran to its end within its grant. */
  output?: Directive[];
  /** What `tail` produced, when the chain completed. */
  tail?: T;
  steps: ChainStep[];
  errors: Array<PluginError & { plugin: string; input: readonly Directive[] }>;
  /** The first run that failed (violation, crash, timeout...), which stopped the chain. */
  failed?: ChainStep;
}

export interface ChainRequest {
  engine: Engine;
  runId: string;
  plugins: readonly PreparedPlugin[];
  input: readonly Directive[];
  options: Record<string, unknown>;
  signal?: AbortSignal;
  logger: Logger;
  /** Called once per plugin execution, in ledger order, whatever its outcome. */
  onStep?: (step: ChainStep, input: readonly Directive[]) => Promise<void>;
  /** How many error-only plugins may run at once. @default 4 */
  concurrency?: number;
  /** Containers started ahead, by plugin position; a plugin without one gets a new container. */
  warm?: WarmPool<number>;
  /** Where stopped containers' removals go, to be awaited by the caller (see RunPluginRequest). */
  deferRemoval?: (removal: Promise<void>) => void;
  /** Runs a plugin whose isolation is 'session' in the trusted session (a ledger run's). */
  runInSession?: (plugin: PreparedPlugin, input: readonly Directive[]) => Promise<PluginRun>;
  /** The loader's pickle, for a plugin whose container reads it (src/run/loaded-input.ts); none: JSON. */
  loadedInput?: (plugin: PreparedPlugin) => LoadedInput | undefined;
}

export interface ChainRequestWithTail<T> extends ChainRequest {
  /**
   * What comes after the chain (Beancount's finalizer). It starts as soon as the final
   * list is known: once only error-only plugins remain, alongside them.
   */
  tail: (output: readonly Directive[]) => Promise<T>;
}

export async function executeChain<T = undefined>(req: ChainRequest | ChainRequestWithTail<T>): Promise<ChainResult<T>> {
  const steps: ChainStep[] = [];
  const errors: ChainResult['errors'] = [];
  const tailFn = 'tail' in req ? req.tail : undefined;
  let tail: Promise<T> | undefined;
  // a tail started beside plugins that then fail is still awaited: its container is removed
  const settleTail = async () => (tail ? await tail.then(() => undefined, () => undefined) : undefined);
  let current: readonly Directive[] = req.input;
  const run = (p: PreparedPlugin, input: readonly Directive[]): Promise<PluginRun> => {
    if (p.isolation !== 'session') return inContainer(p, input);
    if (!req.runInSession) return Promise.reject(new InternalError(`plugin ${p.name} is to run in the trusted session, but this run has none`));
    return req.runInSession(p, input);
  };
  const inContainer = (p: PreparedPlugin, input: readonly Directive[]) =>
    runPlugin({
      engine: req.engine,
      runId: req.runId,
      plugin: { name: p.name, version: p.version },
      image: p.image,
      spec: p.spec,
      config: p.line.config,
      options: req.options,
      input,
      loaded: req.loadedInput?.(p),
      effects: p.effects,
      limits: p.limits,
      signal: req.signal,
      logger: req.logger,
      warm: req.warm?.take(p.position),
      deferRemoval: req.deferRemoval,
    });

  let i = 0;
  while (i < req.plugins.length) {
    // a run of consecutive error-only plugins shares one input and runs at once
    let j = i;
    while (j < req.plugins.length && req.plugins[j]!.effects.length === 0) j++;
    const group = j > i ? req.plugins.slice(i, j) : [req.plugins[i]!];
    const input = current;
    if (tailFn && j === req.plugins.length && j > i) tail = tailFn(input);
    const runs = await mapLimited(group, req.concurrency ?? 4, (p) => run(p, input));
    // every execution is reported (and audited), even those beside a failed one
    const groupSteps = group.map((plugin, k) => ({ plugin, run: runs[k]! }));
    for (const step of groupSteps) {
      steps.push(step);
      await req.onStep?.(step, input);
    }
    for (const step of groupSteps) {
      if (!step.run.ok) {
        await settleTail();
        return { steps, errors, failed: step };
      }
      for (const e of step.run.errors) errors.push({ ...e, plugin: step.plugin.name, input });
      // an output already in Beancount's order is kept as is: its digest and encoding are made once
      if (step.plugin.effects.length > 0) current = isSorted(step.run.output) ? step.run.output : sortEntries(step.run.output);
    }
    i += group.length;
  }
  if (tailFn) return { output: [...current], steps, errors, tail: await (tail ?? tailFn(current)) };
  return { output: [...current], steps, errors };
}

/** Promise.all with at most `limit` running at once; results keep their order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const k = next++;
      out[k] = await fn(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
