// The trusted side of a ledger run in one container from the Python runner image:
// Beancount parses and books the ledger (sending the plugin lines as soon as they are
// parsed), then waits while the plugins run, then finalizes (post ops and validation)
// and prints the chain's result. Directives it loaded travel back as references, so the
// ledger is decoded once per run. Confined like every stage (src/stages/stage-body.ts);
// removed on every path by close().
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { ContainerHandle, ContainerStreams, CreateContainerBody, Engine } from '../engine/engine.js';
import { InternalError, InterruptedError, SandboxViolation, SandboxctlError, StageFailedError } from '../errors.js';
import type { Directive } from '../ledger/directive-schema.js';
import type { Logger } from '../logger.js';
import { JsonLinesWriter, parseJsonLine, splitLines, type Line } from '../protocol/framing.js';
import { engineLost } from '../run/engine-lost.js';
import { runLimits } from '../run/run-limits.js';
import { HeadTailCapture } from '../run/stderr-capture.js';
import type { CheckedSeccomp } from '../policy/seccomp.js';
import { LEDGER_MOUNT, stageBody } from '../stages/stage-body.js';
import { EffectTracker, type PluginError } from '../validate/effects.js';
import { validatePluginMessage } from '../validate/message.js';
import { cpuNanos, specDigest } from '../blueprint/container-blueprint.js';
import type { PluginRun, RunReport } from '../run/run-plugin.js';
import { emptyUsage } from '../run/usage-sampler.js';
import type { SessionConfinement } from './audit-entry.js';
import type { PreparedPlugin } from './execute-plugins.js';
import { finalizeLines } from './finalize-request.js';
import { readSessionAnswer, type SessionAnswer } from './session-answer.js';
import { readLoader, type LoadedHead, type LoadedLedger } from './load-ledger.js';

export interface TrustedSessionOptions {
  engine: Engine;
  runId: string;
  ledgerPath: string;
  imageId: string;
  logger: Logger;
  signal?: AbortSignal;
  /** Each phase (load, finalize and print) gets this long. */
  timeoutMs: number;
  memoryBytes: number;
  /** The admin profile's checked seccomp body. */
  seccomp: CheckedSeccomp;
  apparmor: boolean;
  /** uid:gid the ledger is read as (its owner, never root). */
  user?: string;
}

export interface Finalized {
  output: Directive[];
  errors: PluginError[];
}

const FINALIZER = 'sandboxctl.finalize';
const KILL_WAIT_MS = 10_000;
const MAX_LINE_BYTES = 64 * 1024 * 1024;

interface TextMsg {
  type?: unknown;
  text?: unknown;
}

/** A builtin the session is asked to run, and the answer it is awaited for. */
interface SessionRequest {
  plugin: PreparedPlugin;
  /** The host list the session ran it on (known once the answers before it are read). */
  input?: readonly Directive[];
  answer: Promise<PluginRun>;
}

export class TrustedSession {
  /** Options and plugin lines: known as soon as the ledger is parsed. */
  readonly head: Promise<LoadedHead>;
  /** Everything the loader sends. */
  readonly loaded: Promise<LoadedLedger>;
  private readonly lines: AsyncIterator<Line>;
  private readonly stderr = new HeadTailCapture(256 * 1024);
  private readonly writer: JsonLinesWriter;
  private readonly exited: Promise<number | null>;
  private readonly log: Logger;
  private closed = false;
  /** Every directive the session can be sent by reference, by its index there (docs/protocol.md). */
  private readonly known = new Map<Directive, number>();
  /** The host list equal to the session's current list (what an "input":"current" run is given). */
  private current: readonly Directive[] = [];
  /** Requests are written in order; their answers are read in the same order. */
  private writes: Promise<unknown> = Promise.resolve();
  private reads: Promise<unknown>;
  private readonly ahead = new Map<number, SessionRequest>();
  /** Set when an in-session plugin failed: the session was stopped and answers nothing more. */
  private broken?: Error;
  private readonly body: CreateContainerBody;

  private constructor(
    private readonly o: TrustedSessionOptions,
    private readonly handle: ContainerHandle,
    private readonly streams: ContainerStreams,
    body: CreateContainerBody,
  ) {
    this.body = body;
    this.log = o.logger.child({ stage: 'session', containerId: handle.id.slice(0, 12) });
    streams.stderr.on('data', (b: Buffer) => this.stderr.push(b));
    for (const s of [streams.stdin, streams.stdout, streams.stderr]) (s as NodeJS.EventEmitter).on('error', () => undefined);
    this.lines = splitLines(streams.stdout as AsyncIterable<Buffer>, { maxLineBytes: MAX_LINE_BYTES })[Symbol.asyncIterator]();
    this.writer = new JsonLinesWriter(streams.stdin as never, o.signal);
    this.exited = handle.wait().then((r) => r.exitCode, () => null);
    let resolveHead!: (h: LoadedHead) => void;
    let rejectHead!: (e: unknown) => void;
    this.head = new Promise((res, rej) => ((resolveHead = res), (rejectHead = rej)));
    this.loaded = this.phase('load', () => readLoader(this.lines, resolveHead));
    // a load that fails before the plugin lines are known fails the head too
    this.loaded.catch(rejectHead);
    this.head.catch(() => undefined);
    this.loaded.then((l) => {
      for (const [i, d] of l.directives.entries()) this.known.set(d, i);
      this.current = l.directives;
    }, () => undefined);
    // answers come after everything the loader sends
    this.reads = this.loaded.then(() => undefined, () => undefined);
  }

  /** What an in-session plugin runs under: the session container's own confinement. */
  confinement(): SessionConfinement {
    const hc = this.body.HostConfig;
    return {
      imageId: this.o.imageId,
      specDigest: specDigest(this.body),
      seccompDigest: this.o.seccomp.digest,
      runtime: hc.Runtime ?? 'runc',
      apparmorApplied: (hc.SecurityOpt ?? []).some((o) => o.startsWith('apparmor=')),
      memoryBytes: hc.Memory ?? this.o.memoryBytes,
      nanoCpus: cpuNanos(hc),
      pids: hc.PidsLimit ?? 0,
    };
  }

  /**
   * Tells the session, once every plugin line is decided, whether to send its directives once
   * more as a pickle for Python plugin containers (docs/protocol.md, "Input encodings"). It
   * sends "done" only after this: call it exactly once, before any plugin request.
   */
  chooseLoad(choice: { pickle: boolean }): void {
    const w = this.enqueueWrite(() => this.writer.write({ type: 'load', pickle: choice.pickle }));
    w.catch(() => undefined);
  }

  /**
   * Asks the session, before the loader's directives are all in, to run these builtins one
   * after another on what it loaded, each error-only one leaving the list as it was: they
   * run while the host still reads and checks the loader's output. `runPlugin` then
   * collects each answer, in order.
   */
  sendAhead(plugins: readonly PreparedPlugin[]): void {
    for (const p of plugins) {
      const input = (): readonly Directive[] => this.current;
      this.ahead.set(p.position, this.request(p, input, { type: 'run', ...this.runHeader(p), input: 'current' }));
    }
  }

  /** Builtins sent ahead whose turn never came (the chain stopped first); the session may have run them. */
  unclaimed(): PreparedPlugin[] {
    return [...this.ahead.values()].map((r) => r.plugin);
  }

  get containerId(): string {
    return this.handle.id;
  }

  /** Runs one builtin in the session on `input` (the chain's list at its turn); answers as a container's run does. */
  async runPlugin(p: PreparedPlugin, input: readonly Directive[]): Promise<PluginRun> {
    const sent = this.ahead.get(p.position);
    if (sent) {
      this.ahead.delete(p.position);
      const run = await sent.answer;
      if (sent.input && !sameItems(sent.input, input)) {
        throw new InternalError(`plugin ${p.name} ran in the trusted session on a list other than the chain's at its turn`);
      }
      return run;
    }
    // the session's current list is known once every answer before is read
    await this.reads;
    const header = { type: 'run', ...this.runHeader(p) };
    if (sameItems(input, this.current)) return this.request(p, () => input, { ...header, input: 'current' }).answer;
    return this.request(p, () => input, { ...header, count: input.length }, input).answer;
  }


  /** Creates and starts the container; the load begins at once. */
  static async open(o: TrustedSessionOptions): Promise<TrustedSession> {
    const body = sessionBody(o);
    o.signal?.throwIfAborted();
    const handle = await o.engine.createContainer(body);
    try {
      const streams = await handle.attach();
      await handle.start();
      return new TrustedSession(o, handle, streams, body);
    } catch (err) {
      await handle.remove().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Post ops and validation on the chain's result, answered like a plugin that may modify;
   * with `printTo`, the result is also written there in Beancount syntax (a new file).
   * `loadedIndex` names the directives that are the loader's own, unchanged.
   */
  async finalize(input: readonly Directive[], loadedIndex: ReadonlyMap<Directive, number>, printTo?: string): Promise<Finalized> {
    // what in-session plugins made is known too; before any ran, that is the loader's directives
    await this.loaded.catch(() => undefined);
    const index = this.known.size > 0 ? this.known : loadedIndex;
    const sending = this.enqueueWrite(() => this.send(input, index, printTo !== undefined));
    sending.catch(() => undefined);
    const turn = this.reads;
    const done = turn.then(() => this.finalizeRead(input, sending, printTo));
    this.reads = done.catch(() => undefined);
    return done;
  }

  private finalizeRead(input: readonly Directive[], sending: Promise<void>, printTo?: string): Promise<Finalized> {
    if (this.broken) return Promise.reject(this.stopped('the finalizer'));
    return this.phase('finalize', async () => {
      const limits = runLimits({ timeoutMs: this.o.timeoutMs, maxErrors: 1_000_000, maxLineBytes: MAX_LINE_BYTES }, input.length);
      const tracker = new EffectTracker<Directive>(
        { plugin: FINALIZER, inputCount: input.length, allowed: ['add', 'modify', 'remove'], maxResults: limits.maxResults, maxErrors: limits.maxErrors },
        (i) => input[i],
      );
      while (!tracker.done) {
        const line = await this.nextLine('the finalizer');
        tracker.accept(validatePluginMessage(parseJsonLine(line), { plugin: FINALIZER, line: line.line, limits: limits.values }), line.line);
      }
      tracker.requireDone();
      if (printTo !== undefined) await this.receiveText(printTo);
      await sending;
      return { output: tracker.output, errors: tracker.errors };
    });
  }

  /** Ends the session: stdin closed, the container stopped if it still runs, and removed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer.end().catch(() => undefined);
    const quick = await Promise.race([this.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 2_000).unref())]);
    if (quick === 'running') await this.handle.kill('SIGKILL').catch(() => undefined);
    for (const s of [this.streams.stdout, this.streams.stderr]) (s as unknown as { destroy(): void }).destroy();
    await this.handle.remove().catch((err: unknown) => this.log.warn({ err }, 'could not remove the session container; `sandboxctl gc` will'));
  }

  private async send(input: readonly Directive[], loadedIndex: ReadonlyMap<Directive, number>, print: boolean): Promise<void> {
    await this.writer.write({ type: 'finalize', count: input.length, print, display_context: false });
    await this.sendList(input, loadedIndex);
  }

  /** A list as references to what the session knows, the rest in full, then "end". */
  private async sendList(input: readonly Directive[], index: ReadonlyMap<Directive, number>): Promise<void> {
    let batch = '';
    for (const line of finalizeLines(input, index)) {
      batch += line;
      if (batch.length >= 64 * 1024) {
        await this.writer.writeRaw(batch);
        batch = '';
      }
    }
    await this.writer.writeRaw(batch + '{"type":"end"}\n');
  }

  private runHeader(p: PreparedPlugin) {
    if (!p.module) throw new InternalError(`plugin ${p.name} is to run in the trusted session, but names no installed module`);
    return { name: p.name, module: p.module, config: p.line.config, error_only: p.effects.length === 0 };
  }

  private enqueueWrite(write: () => Promise<void>): Promise<void> {
    const w = this.writes.then(() => {
      if (this.broken) throw this.broken;
      return write();
    });
    this.writes = w.catch(() => undefined);
    return w;
  }

  /** Writes one run request and queues the reading of its answer after the answers before it. */
  private request(p: PreparedPlugin, input: () => readonly Directive[], header: Record<string, unknown>, list?: readonly Directive[]): SessionRequest {
    const written = this.enqueueWrite(async () => {
      await this.writer.write(header);
      if (list) await this.sendList(list, this.known);
    });
    written.catch(() => undefined);
    const req: SessionRequest = { plugin: p, answer: undefined as unknown as Promise<PluginRun> };
    req.answer = this.reads.then(() => {
      req.input = input();
      return this.readRun(p, req.input, written);
    });
    this.reads = req.answer.catch(() => undefined);
    return req;
  }

  /** Reads one in-session plugin's answer, as runPlugin reports a container's run; a failure stops the session. */
  private async readRun(p: PreparedPlugin, input: readonly Directive[], written: Promise<void>): Promise<PluginRun> {
    const t0 = Date.now();
    const report: RunReport = {
      plugin: { name: p.name, version: p.version },
      imageId: this.o.imageId,
      containerId: this.handle.id,
      spec: this.body,
      exitCode: null,
      oomKilled: false,
      oomEvidence: [],
      durationMs: 0,
      usage: { ...emptyUsage(), unavailable: 'not measured: it ran in the trusted session, which had stopped' },
      stderr: { text: '', totalBytes: 0, truncated: false },
      stdoutBytes: 0,
      stdinBytes: 0,
      inputCount: input.length,
      counts: { kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0 },
    };
    if (this.broken) return { ...report, ok: false, error: this.stopped(`plugin ${p.name}`) };
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const onAbort = () => void this.handle.kill('SIGKILL').catch(() => undefined);
    this.o.signal?.addEventListener('abort', onAbort, { once: true });
    let answer: SessionAnswer;
    try {
      this.o.signal?.throwIfAborted();
      answer = await readSessionAnswer({
        plugin: p.name,
        input,
        effects: p.effects,
        limits: p.limits,
        next: () => this.nextLine(`plugin ${p.name} in the trusted session`),
        onStarted: () => {
          timer = setTimeout(() => {
            timedOut = true;
            void this.handle.kill('SIGKILL').catch(() => undefined);
          }, p.limits.timeoutMs);
        },
      });
      await written;
      // the host may read the answer well after the session ran the plugin: its own clock decides too
      if (answer.ms > p.limits.timeoutMs) {
        timedOut = true;
        throw new Error(`the session reports ${Math.round(answer.ms)} ms`);
      }
    } catch (err) {
      const error = await this.pluginFailure(p, err, timedOut);
      this.broken = error;
      return { ...report, durationMs: Date.now() - t0, ok: false, error };
    } finally {
      clearTimeout(timer);
      this.o.signal?.removeEventListener('abort', onAbort);
    }
    for (const d of answer.made) this.known.set(d, this.known.size);
    // an error-only plugin leaves the list as it was, here as in the session
    this.current = p.effects.length === 0 ? input : answer.output;
    this.log.debug({ plugin: p.name, ms: answer.ms, cpuMs: answer.cpuMs, counts: answer.counts }, 'plugin ran in the trusted session');
    return {
      ...report,
      durationMs: Math.round(answer.ms),
      // its CPU is the session process's time for it; its memory is the session's, not its own
      usage: { ...emptyUsage(), cpuNanos: Math.round(answer.cpuMs * 1e6), samples: 1, unavailable: "memory: it ran in the trusted session, whose memory it shared" },
      stdoutBytes: answer.bytes,
      counts: answer.counts,
      ok: true,
      output: answer.output,
      errors: answer.errors,
    };
  }

  /** What stopped an in-session plugin, as a container's run would say it; the session is stopped. */
  private async pluginFailure(p: PreparedPlugin, err: unknown, timedOut: boolean): Promise<Error> {
    await this.handle.kill('SIGKILL').catch(() => undefined);
    if (this.o.signal?.aborted) return this.o.signal.reason instanceof Error ? this.o.signal.reason : new InterruptedError('SIGINT');
    const tail = this.stderr.result().text.trimEnd().split('\n').slice(-12).join('\n');
    const details = { plugin: p.name, isolation: 'session' };
    if (timedOut) {
      return new SandboxViolation('timeout', `plugin ${p.name} did not finish within its ${Math.round(p.limits.timeoutMs / 100) / 10}s timeout in the trusted session; the session was stopped`, {
        hint: 'find why the plugin hangs, or raise resources.timeout in its plugin.yaml (within the profile ceiling)',
        details: { ...details, timeoutMs: p.limits.timeoutMs },
      });
    }
    if (err instanceof SandboxViolation) return err;
    const exitCode = await Promise.race([this.exited, new Promise<null>((r) => setTimeout(() => r(null), KILL_WAIT_MS).unref())]);
    const state = await this.handle.inspect().catch(() => undefined);
    if (state?.oomKilled) {
      return new SandboxViolation('memory', `plugin ${p.name} ran the trusted session out of memory (limit ${Math.round(this.o.memoryBytes / 1024 ** 2)} MiB)`, { cause: err, details });
    }
    return new SandboxViolation('crash', `plugin ${p.name} stopped the trusted session (exit ${exitCode ?? 'unknown'})` + (tail ? `:\n${tail}` : ''), { cause: err, details: { ...details, exitCode } });
  }

  private stopped(who: string): StageFailedError {
    return new StageFailedError(`the trusted session was stopped before ${who}'s turn: ${this.broken?.message.split('\n')[0] ?? 'it failed'}`, { cause: this.broken });
  }

  private async receiveText(file: string): Promise<void> {
    const out: WriteStream = createWriteStream(file, { flags: 'wx', mode: 0o644 });
    out.on('error', () => undefined);
    try {
      for (;;) {
        const line = await this.nextLine('the printer');
        const msg = parseJsonLine(line) as TextMsg;
        if (msg?.type === 'end') break;
        if (msg?.type !== 'text' || typeof msg.text !== 'string') throw malformed(line.line, 'expected a "text" or "end" message');
        if (!out.write(msg.text)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    } finally {
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    }
  }

  private async nextLine(who: string): Promise<Line> {
    const next = await this.lines.next();
    if (next.done) throw malformed(0, `${who}'s output ended early`);
    return next.value;
  }

  /** Runs one phase under the stage timeout and the run's signal; a failure says why, with stderr. */
  private async phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new StageFailedError(`the ${name} stage did not finish within ${Math.round(this.o.timeoutMs / 1000)} s`, { hint: 'a very large ledger may need a longer --stage-timeout' })),
        this.o.timeoutMs,
      );
      onAbort = () => reject(this.o.signal?.reason instanceof Error ? this.o.signal.reason : new InterruptedError('SIGINT'));
      if (this.o.signal?.aborted) onAbort();
      else this.o.signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const t0 = Date.now();
      const value = await Promise.race([work(), stopped]);
      this.log.debug({ phase: name, ms: Date.now() - t0 }, 'session phase done');
      return value;
    } catch (err) {
      throw await this.failure(name, err);
    } finally {
      clearTimeout(timer);
      if (onAbort) this.o.signal?.removeEventListener('abort', onAbort);
    }
  }

  private async failure(name: string, err: unknown): Promise<Error> {
    await this.handle.kill('SIGKILL').catch(() => undefined);
    if (err instanceof InterruptedError || (err instanceof SandboxctlError && err.code === 'engine-unavailable')) return err;
    // a stopping engine ends the stage too: then its exit status says nothing about the stage
    const lost = await engineLost(this.o.engine, `the ${name} stage`, err instanceof Error ? err : new Error(String(err)));
    if (lost) return lost;
    const exitCode = await Promise.race([this.exited, new Promise<null>((r) => setTimeout(() => r(null), KILL_WAIT_MS).unref())]);
    const state = await this.handle.inspect().catch(() => undefined);
    const tail = this.stderr.result().text.trimEnd().split('\n').slice(-15).join('\n');
    // a stage that died says so by its exit status; what it left on stdout is only a symptom
    if (exitCode !== null && exitCode !== 0 && exitCode !== 137 && !(err instanceof StageFailedError && /did not finish/.test(err.message))) {
      return new StageFailedError(`the ${name} stage failed (exit ${exitCode}${state?.oomKilled ? ', killed for its memory' : ''})` + (tail ? `:\n${tail}` : ''), {
        cause: err,
        details: { stage: name, exitCode, oomKilled: state?.oomKilled ?? false },
      });
    }
    if (state?.oomKilled) {
      return new StageFailedError(`the ${name} stage was killed for its memory (limit ${Math.round(this.o.memoryBytes / 1024 ** 2)} MiB)`, { cause: err, details: { stage: name, oomKilled: true } });
    }
    if (err instanceof SandboxctlError) return err;
    return new StageFailedError(`the ${name} stage failed: ${(err as Error)?.message ?? String(err)}` + (tail ? `\n${tail}` : ''), { cause: err });
  }
}

/**
 * The session's container: a trusted stage (src/stages/stage-body.ts) that reads the ledger's
 * directory read-only, at /ledger and at its host path (a builtin run here may open a file its
 * config names by host path, as merge_meta does). `cmd` replaces the runner's (tests probe it).
 */
export function sessionBody(o: Omit<TrustedSessionOptions, 'engine' | 'logger' | 'signal'>, cmd?: string[]): CreateContainerBody {
  return stageBody({
    imageId: o.imageId,
    cmd: cmd ?? ['load', '--ledger', `${LEDGER_MOUNT}/${path.basename(o.ledgerPath)}`, '--host-dir', path.dirname(o.ledgerPath), '--session', '--pickle-on-request'],
    kind: 'loader',
    runId: o.runId,
    ledgerDir: path.dirname(o.ledgerPath),
    user: o.user,
    memoryBytes: o.memoryBytes,
    timeoutMs: o.timeoutMs,
    seccomp: o.seccomp,
    apparmor: o.apparmor,
    ledgerAtHostPath: true,
  });
}

function sameItems(a: readonly Directive[], b: readonly Directive[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function malformed(line: number, what: string): StageFailedError {
  return new StageFailedError(`the trusted session's output is malformed at line ${line}: ${what}`, {
    hint: 'this is a bug in sandboxctl or its runner image: rebuild the images (`sandboxctl images build`)',
  });
}
