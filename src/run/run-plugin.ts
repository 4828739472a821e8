// Runs one plugin in its own container: streams the header, the input directives and
// the end marker to its stdin (with backpressure), reads its stdout through the
// framing with every limit enforced as bytes arrive, validates each message before
// keeping anything, and removes the container on every path.
import { constants as osConstants } from 'node:os';
import type { z } from 'zod';
import type { ContainerHandle, ContainerStreams, CreateContainerBody, Engine } from '../engine/engine.js';
import { InterruptedError, SandboxViolation, SandboxctlError, type ViolationKind } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Directive } from '../ledger/directive-schema.js';
import { directiveJson } from '../ledger/directive-json.js';
import { FramingError, JsonLinesWriter, parseJsonLine, splitLines } from '../protocol/framing.js';
import { PROTOCOL_VERSION, type Counts, type Header, type PluginMessage } from '../protocol/messages.js';
import { EffectTracker, type Effect, type PluginError } from '../validate/effects.js';
import { validatePluginMessage } from '../validate/message.js';
import { pluginContainerBody } from './container-body.js';
import { engineLost } from './engine-lost.js';
import type { RunLimits } from './run-limits.js';
import { batchLines } from './input-batches.js';
import { loadedInputBody, type LoadedInput } from './loaded-input.js';
import { HeadTailCapture, type CapturedText } from './stderr-capture.js';
import { emptyUsage, UsageSampler, type ResourceUsage } from './usage-sampler.js';
import type { WarmContainer } from './warm-start.js';

export interface PluginRef {
  name: string;
  version: string | null;
}

export interface RunPluginRequest {
  engine: Engine;
  runId: string;
  plugin: PluginRef;
  /** The image to run, by ID (sha256:...); `ref` names it in logs. */
  image: { id: string; ref: string };
  /** The hardened create body from the policy's spec; stdio settings and labels are overlaid. */
  spec: CreateContainerBody;
  config: string | null;
  /** Beancount's options_map as JSON. */
  options: Record<string, unknown>;
  /** Materialised before the run: the header carries the count and keep ranges refer back into it. */
  input: readonly Directive[] | AsyncIterable<Directive>;
  /**
   * Given, the input after the header is the loader's pickle and references into it (only for a
   * Python runner made from the loader's image: see readsLoaderPickle); otherwise JSON directives.
   */
  loaded?: LoadedInput;
  /** Effects the grant allows. */
  effects: Iterable<Effect>;
  limits: RunLimits;
  signal?: AbortSignal;
  logger: Logger;
  /** Plugin-message schema for renamed account roots (createMessageSchemas). */
  messageSchema?: z.ZodType<PluginMessage>;
  /** Clock for durations (milliseconds). */
  clock?: () => number;
  /**
   * A container already started from this plugin's body (src/run/warm-start.ts): the run
   * uses it instead of creating one; its timeout counts from when the input starts.
   */
  warm?: Promise<WarmContainer>;
  /**
   * Given, the stopped container's removal is handed over instead of awaited, so what
   * follows need not wait for it; the caller must await it before it returns.
   */
  deferRemoval?: (removal: Promise<void>) => void;
}

/** What is known about an execution, whatever its outcome (for the audit). */
export interface RunReport {
  plugin: PluginRef;
  imageId: string;
  containerId: string | null;
  /** The exact body the container was created from. */
  spec: CreateContainerBody;
  exitCode: number | null;
  /** The kernel killed it at its memory limit (see oomEvidence); never inferred from exit 137 alone. */
  oomKilled: boolean;
  /** What said so: the engine's OOMKilled flag, its `oom` event, the cgroup's oom_kill counter. */
  oomEvidence: OomEvidence[];
  durationMs: number;
  usage: ResourceUsage;
  stderr: CapturedText;
  stdoutBytes: number;
  stdinBytes: number;
  inputCount: number;
  /** Effects counted so far (complete only when ok). */
  counts: Counts;
}

export type OomEvidence = 'engine-flag' | 'oom-event' | 'cgroup-counter';

export type PluginRun =
  | (RunReport & { ok: true; output: Directive[]; errors: PluginError[] })
  | (RunReport & { ok: false; error: Error });

/** Outcomes a stopping engine produces too (it kills the container, its streams end). */
const ENGINE_CAUSABLE = new Set<ViolationKind>(['crash', 'memory', 'early-exit', 'protocol']);
/** After SIGKILL a container stops within milliseconds; past this something is wrong with the engine. */
const KILL_WAIT_MS = 15_000;
/** After the container exits, its output stream closes as soon as the engine has flushed it. */
const DRAIN_WAIT_MS = 5_000;
/** Looks (100 ms apart) for the kernel's word on an OOM kill after a SIGKILL we did not send. */
const OOM_RECHECKS = 20;

async function materialise(input: RunPluginRequest['input'], signal?: AbortSignal): Promise<readonly Directive[]> {
  if (Array.isArray(input)) return input as readonly Directive[];
  const out: Directive[] = [];
  for await (const d of input as AsyncIterable<Directive>) {
    signal?.throwIfAborted();
    out.push(d);
  }
  return out;
}

function delay(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

function framingViolation(err: FramingError, plugin: string, limits: RunLimits): SandboxViolation {
  const details = { plugin, line: err.line, bytesRead: err.bytesRead };
  switch (err.problem) {
    case 'line-too-long':
      return new SandboxViolation('line-size', `plugin ${plugin}: output line ${err.line} is longer than the limit of ${limits.maxLineBytes} bytes; the plugin was stopped`, {
        cause: err,
        hint: 'a single result must fit in one line of at most maxLineBytes; split large output or raise the limit',
        details: { ...details, limit: limits.maxLineBytes },
      });
    case 'output-too-large':
      return new SandboxViolation('output-size', `plugin ${plugin} wrote more than ${limits.maxOutputBytes} bytes (${mib(limits.maxOutputBytes)}) to its output; the plugin was stopped`, {
        cause: err,
        hint: 'the plugin writes far more than its results need (is it printing to stdout?); raise the output limit only if the output is legitimate',
        details: { ...details, limit: limits.maxOutputBytes },
      });
    default:
      return new SandboxViolation('protocol', `plugin ${plugin}: output ${err.message}`, {
        cause: err,
        hint: 'each output line must be one protocol v1 JSON message ending with a newline (docs/protocol.md)',
        details: { ...details, problem: err.problem },
      });
  }
}

function withStderr(message: string, stderr: HeadTailCapture): string {
  const tail = stderr.lastLines();
  return tail ? `${message}\n--- plugin stderr (last lines) ---\n${tail}` : message;
}

/** The body a plugin's container is created from: the policy's spec with our stdio and labels. */
export function runBody(req: Pick<RunPluginRequest, 'spec' | 'runId' | 'plugin' | 'image'>): CreateContainerBody {
  return pluginContainerBody(req.spec, { runId: req.runId, plugin: req.plugin.name, imageId: req.image.id });
}

/** Runs one plugin; never throws for what the plugin does (see `ok`), and always removes its container. */
export async function runPlugin(req: RunPluginRequest): Promise<PluginRun> {
  const clock = req.clock ?? Date.now;
  const t0 = clock();
  const name = req.plugin.name;
  let log = req.logger.child({ plugin: name });
  const stderr = new HeadTailCapture(req.limits.maxStderrBytes);
  const body = runBody(req);
  const report: RunReport = {
    plugin: req.plugin,
    imageId: req.image.id,
    containerId: null,
    spec: body,
    exitCode: null,
    oomKilled: false,
    oomEvidence: [],
    durationMs: 0,
    usage: emptyUsage(),
    stderr: stderr.result(),
    stdoutBytes: 0,
    stdinBytes: 0,
    inputCount: 0,
    counts: { kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0 },
  };
  let handle: ContainerHandle | undefined;
  let tracker: EffectTracker<Directive> | undefined;
  let error: Error | undefined;
  try {
    const input = await materialise(req.input, req.signal);
    report.inputCount = input.length;
    tracker = new EffectTracker<Directive>(
      { plugin: name, inputCount: input.length, allowed: req.effects, maxResults: req.limits.maxResults, maxErrors: req.limits.maxErrors },
      (i) => input[i],
    );
    let warm: WarmContainer | undefined;
    if (req.warm) {
      warm = await req.warm;
      handle = warm.handle;
    } else {
      req.signal?.throwIfAborted();
      handle = await req.engine.createContainer(body);
    }
    report.containerId = handle.id;
    log = log.child({ containerId: handle.id.slice(0, 12) });
    log.debug({ image: req.image.ref, inputCount: input.length, startedAhead: !!warm }, 'container ready');
    req.signal?.throwIfAborted();
    error = await drive({ req, handle, input, tracker, stderr, report, log, started: warm?.streams });
  } catch (err) {
    error = err instanceof Error ? err : new Error(String(err));
  } finally {
    if (handle) {
      const h = handle;
      const removal = h.remove().then(
        () => log.debug('container removed'),
        // the run's outcome stands; `sandboxctl gc` finds what could not be removed by its labels
        (err: unknown) => log.error({ err }, 'could not remove the plugin container; `sandboxctl gc` will'),
      );
      if (req.deferRemoval) req.deferRemoval(removal);
      else await removal;
    }
  }
  // an exit the engine may have caused by stopping (or an engine call that failed): judged only while the engine still answers
  const engineMayHaveCaused = error instanceof SandboxViolation ? ENGINE_CAUSABLE.has(error.kind) : error !== undefined && !(error instanceof SandboxctlError);
  if (engineMayHaveCaused) error = (await engineLost(req.engine, `plugin ${name}`, error!)) ?? error;
  report.durationMs = clock() - t0;
  report.stderr = stderr.result();
  if (tracker) report.counts = { ...tracker.counts };
  if (error) {
    log.warn({ err: error, exitCode: report.exitCode, durationMs: report.durationMs }, 'plugin run failed');
    return { ...report, ok: false, error };
  }
  log.info({ counts: report.counts, durationMs: report.durationMs, peakMemoryBytes: report.usage.peakMemoryBytes, inputEncoding: req.loaded ? 'pickle' : 'json' }, 'plugin run ok');
  return { ...report, ok: true, output: tracker!.output, errors: tracker!.errors };
}

/** What one drive of a created container works with. */
interface DriveOptions {
  req: RunPluginRequest;
  handle: ContainerHandle;
  input: readonly Directive[];
  tracker: EffectTracker<Directive>;
  stderr: HeadTailCapture;
  /** Filled in as the run goes: bytes, exit code, usage, OOM flag. */
  report: RunReport;
  log: Logger;
  /** The streams of a container started ahead; a new container is attached and started here. */
  started?: ContainerStreams;
}

const ignore = () => {};

/**
 * The first thing that ends a run early (a limit, a bad message, an abort): it is kept,
 * the input stops, and the container is killed, once.
 */
class RunStop {
  first: Error | undefined;
  readonly input = new AbortController();
  readonly failed: Promise<void>;
  private signalFailed!: () => void;

  constructor(
    private readonly handle: ContainerHandle,
    private readonly log: Logger,
  ) {
    this.failed = new Promise<void>((r) => (this.signalFailed = r));
  }

  readonly fail = (err: Error): void => {
    if (this.first) return;
    this.first = err;
    this.input.abort(err);
    this.signalFailed();
    this.handle.kill('SIGKILL').catch((e: unknown) => this.log.warn({ err: e }, 'kill failed'));
  };
}

/** Streams through a created container; returns the error that ended the run, if any. */
async function drive(o: DriveOptions): Promise<Error | undefined> {
  const { req, handle, report } = o;
  const streams = await attachStreams(handle, o.started);
  const stop = new RunStop(handle, o.log);
  const onAbort = () => {
    const reason: unknown = req.signal?.reason;
    stop.fail(reason instanceof Error ? reason : new InterruptedError('SIGINT'));
  };
  const sampler = new UsageSampler(handle);
  let timer: NodeJS.Timeout | undefined;
  try {
    if (req.signal?.aborted) onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (stop.first) return stop.first;

    const stderrDone = captureStderr(streams, o.stderr);
    // when the plugin says done it is about to exit, and its cgroup goes with it: read the kernel's counters then
    const output = readOutput(o, streams, stop, () => sampler.mark());
    if (!o.started) await handle.start();
    const startedAt = Date.now();
    sampler.start();
    timer = setTimeout(() => stop.fail(timeoutViolation(req.plugin.name, req.limits.timeoutMs, o.tracker.done, o.stderr)), req.limits.timeoutMs);
    const writerDone = sendInput(o, streams, stop);

    const exitCode = await awaitExit(handle, streams, output.done, stop);
    clearTimeout(timer);
    const d = delay(DRAIN_WAIT_MS);
    await Promise.race([Promise.all([output.done, stderrDone, writerDone]), d.promise]);
    d.cancel();
    // an in-flight stats sample is not waited for: it would add up to its latency to every run
    report.usage = await sampler.stop(0);
    report.exitCode = exitCode;
    await readExitState(handle, report, stop, startedAt);
    if (stop.first) return stop.first;
    return judgeExit(req.plugin.name, report, o.tracker, output.endedMidLine(), o.stderr, req.spec.HostConfig.Memory);
  } finally {
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
    await sampler.stop(0);
  }
}

/** The container's stdio: a started-ahead container's, or attached now (before start, as the protocol needs). */
async function attachStreams(handle: ContainerHandle, started: ContainerStreams | undefined): Promise<ContainerStreams> {
  const streams = started ?? (await handle.attach());
  // errors on these streams are expected when we cut them off; outcomes are decided by the run
  for (const s of [streams.stdout, streams.stderr, streams.stdin]) (s as NodeJS.EventEmitter).on('error', ignore);
  return streams;
}

function captureStderr(streams: ContainerStreams, stderr: HeadTailCapture): Promise<void> {
  return (async () => {
    for await (const chunk of streams.stderr as AsyncIterable<Buffer>) stderr.push(chunk);
  })().catch(ignore);
}

/** Reads stdout through the framing, every limit enforced as bytes arrive, each message validated before it is kept. */
function readOutput(o: DriveOptions, streams: ContainerStreams, stop: RunStop, onDone: () => void): { done: Promise<void>; endedMidLine: () => FramingError | undefined } {
  const { limits, plugin } = o.req;
  let endedMidLine: FramingError | undefined;
  const done = (async () => {
    const lines = splitLines(streams.stdout as AsyncIterable<Buffer>, {
      maxLineBytes: limits.maxLineBytes,
      maxTotalBytes: limits.maxOutputBytes,
      onBytes: (_n, total) => (o.report.stdoutBytes = total),
    });
    for await (const line of lines) {
      if (stop.first) return;
      const raw = parseJsonLine(line);
      const msg = validatePluginMessage(raw, { plugin: plugin.name, line: line.line, limits: limits.values, schema: o.req.messageSchema });
      o.tracker.accept(msg, line.line);
      if (msg.type === 'done') onDone();
    }
  })().catch((err: unknown) => {
    // a stream cut in the middle of a line is judged with the exit status (crash, OOM)
    if (err instanceof FramingError && err.problem === 'unterminated') endedMidLine = err;
    else if (err instanceof FramingError) stop.fail(framingViolation(err, plugin.name, limits));
    else stop.fail(err instanceof Error ? err : new Error(String(err)));
  });
  return { done, endedMidLine: () => endedMidLine };
}

/** Sends the header, the input and the end marker; a plugin may stop reading early, and its output decides. */
function sendInput(o: DriveOptions, streams: ContainerStreams, stop: RunStop): Promise<void> {
  const writer = new JsonLinesWriter(streams.stdin as unknown as ConstructorParameters<typeof JsonLinesWriter>[0], stop.input.signal);
  return writeInput(writer, o.req, o.input)
    .then(() => o.log.debug({ bytes: writer.bytesWritten }, 'input sent'))
    .catch((err: unknown) => {
      if (!stop.first) o.log.debug({ err }, 'stdin closed before all input was sent');
    })
    .finally(() => (o.report.stdinBytes = writer.bytesWritten));
}

/** Waits for the exit (and the end of the output), or for the first failure, then for the killed container. */
async function awaitExit(handle: ContainerHandle, streams: ContainerStreams, outputDone: Promise<void>, stop: RunStop): Promise<number | null> {
  const exited = handle.wait();
  exited.catch(ignore);
  await Promise.race([Promise.all([exited, outputDone]), stop.failed]);
  if (!stop.first) return (await exited).exitCode;
  // cut every stream first: nothing more the plugin wrote is read or kept, and the
  // engine does not report the killed container gone while its output is unread
  for (const s of [streams.stdin, streams.stdout, streams.stderr]) (s as unknown as { destroy(): void }).destroy();
  const w = delay(KILL_WAIT_MS);
  const exitCode = await Promise.race([exited.then((e) => e.exitCode, () => null), w.promise.then(() => null)]);
  w.cancel();
  return exitCode;
}

/** The stopped container's exit code when the wait gave none, and whether the kernel OOM-killed it. */
async function readExitState(handle: ContainerHandle, report: RunReport, stop: RunStop, startedAt: number): Promise<void> {
  const state = await handle.inspect().catch(() => undefined);
  if (state) report.exitCode ??= state.exitCode;
  // (a container started ahead began before `startedAt`: its events are looked up from a minute before)
  report.oomEvidence = await oomEvidence(handle, state?.oomKilled ?? false, report.usage, {
    sinceMs: startedAt - 60_000,
    askEvents: report.exitCode !== 0,
    recheck: !stop.first && report.exitCode === 137,
  });
  report.oomKilled = report.oomEvidence.length > 0;
}

/**
 * What the kernel said about an OOM kill: the engine's OOMKilled flag, its `oom` event (both
 * from the kernel's notification), or the OOM-kill counter of the container's cgroup. The
 * engine can record the kill a moment after the exit (Docker 20.10 sometimes drops the flag
 * when the two race), so a SIGKILL we did not send (`recheck`) is worth a few more looks.
 */
async function oomEvidence(
  handle: ContainerHandle,
  flag: boolean,
  usage: ResourceUsage,
  o: { sinceMs: number; askEvents: boolean; recheck: boolean },
): Promise<OomEvidence[]> {
  const found = new Set<OomEvidence>();
  if (usage.kernelOomKills) found.add('cgroup-counter');
  for (let i = 0; ; i++) {
    if (flag) found.add('engine-flag');
    const events = o.askEvents ? await handle.oomEvents?.(o.sinceMs).catch(() => 0) : 0;
    if (events) found.add('oom-event');
    if (found.size > 0 || !o.recheck || i >= OOM_RECHECKS) break;
    await new Promise((r) => setTimeout(r, 100));
    flag = (await handle.inspect().catch(() => undefined))?.oomKilled ?? false;
  }
  return [...found];
}

async function writeInput(writer: JsonLinesWriter, req: RunPluginRequest, input: readonly Directive[]): Promise<void> {
  const header: Header = {
    type: 'header',
    protocol: PROTOCOL_VERSION,
    plugin: { name: req.plugin.name, version: req.plugin.version },
    config: req.config,
    options: req.options,
    count: input.length,
  };
  await writer.write(header);
  for (const chunk of req.loaded ? loadedInputBody(input, req.loaded) : inputBody(input)) await writer.writeRaw(chunk);
  await writer.writeRaw('{"type":"end"}\n');
  await writer.end();
}

// The directive lines of an input, encoded once: error-only plugins that share an input
// (and so one list) are all sent the same bytes.
const bodies = new WeakMap<readonly Directive[], Buffer[]>();

function* directiveLines(input: readonly Directive[]): Generator<string> {
  // the same bytes JSON.stringify({type, index, directive}) gives, with the directive's text made once
  for (let i = 0; i < input.length; i++) yield `{"type":"directive","index":${i},"directive":${directiveJson(input[i]!)}}\n`;
}

function inputBody(input: readonly Directive[]): Buffer[] {
  let chunks = bodies.get(input);
  if (!chunks) {
    chunks = batchLines(directiveLines(input));
    bodies.set(input, chunks);
  }
  return chunks;
}

function timeoutViolation(plugin: string, timeoutMs: number, sentDone: boolean, stderr: HeadTailCapture): SandboxViolation {
  const secs = Math.round(timeoutMs / 100) / 10;
  const what = sentDone
    ? `plugin ${plugin} sent done but did not exit within its ${secs}s timeout; it was killed`
    : `plugin ${plugin} did not finish within its ${secs}s timeout; it was killed`;
  return new SandboxViolation('timeout', withStderr(what, stderr), {
    hint: 'find why the plugin hangs, or raise resources.timeout in its plugin.yaml (within the profile ceiling)',
    details: { plugin, timeoutMs },
  });
}

/** Decides the outcome of a run that no limit stopped, from the exit status and the stream. */
function judgeExit(
  plugin: string,
  report: RunReport,
  tracker: EffectTracker<Directive>,
  endedMidLine: FramingError | undefined,
  stderr: HeadTailCapture,
  memoryLimit: number | undefined,
): Error | undefined {
  const exitCode = report.exitCode;
  const details = { plugin, exitCode, peakMemoryBytes: report.usage.peakMemoryBytes };
  // an OOM only when the kernel says so; exit 137 alone is a SIGKILL from anyone (the plugin itself, too)
  if (report.oomKilled) {
    const cap = memoryLimit ? ` (limit ${mib(memoryLimit)})` : '';
    return new SandboxViolation('memory', withStderr(`plugin ${plugin} ran out of memory${cap}: killed by the kernel for exceeding its memory limit (OOM)`, stderr), {
      hint: 'reduce the plugin\'s memory use, or raise resources.memory in its plugin.yaml (within the profile ceiling)',
      details: { ...details, memoryLimit, oomEvidence: report.oomEvidence },
    });
  }
  if (exitCode === 137) {
    return new SandboxViolation('crash', withStderr(`plugin ${plugin} was killed (signal 9, exit 137); the kernel reported no OOM kill`, stderr), {
      hint: 'something sent the plugin SIGKILL: the plugin itself or a process on the host (sandboxctl names its own kills: timeout, output limits)',
      details,
    });
  }
  if (exitCode !== 0) {
    return new SandboxViolation('crash', withStderr(`plugin ${plugin} crashed: it exited with code ${exitCode ?? 'unknown'}${signalName(exitCode)}`, stderr), {
      hint: 'the plugin\'s stderr above says why; fix the plugin or the input it failed on',
      details,
    });
  }
  if (endedMidLine) {
    return new SandboxViolation('protocol', `plugin ${plugin}: its output ended in the middle of line ${endedMidLine.line} (no final newline)`, {
      cause: endedMidLine,
      hint: 'every protocol message, done included, must end with a newline',
      details,
    });
  }
  try {
    tracker.requireDone();
  } catch (err) {
    if (err instanceof SandboxctlError) return new SandboxViolation('early-exit', withStderr(err.message, stderr), { hint: err.hint, details: { ...err.details, ...details } });
    throw err;
  }
  return undefined;
}

function signalName(exitCode: number | null): string {
  if (exitCode === null || exitCode <= 128 || exitCode > 128 + 64) return '';
  const name = Object.entries(osConstants.signals).find(([, n]) => n === exitCode - 128)?.[0];
  return name ? ` (killed by ${name})` : '';
}

/** Throws the run's error when it failed; returns the successful run otherwise. */
export function unwrapRun(run: PluginRun): Extract<PluginRun, { ok: true }> {
  if (!run.ok) throw run.error;
  return run;
}
