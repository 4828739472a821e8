// The trusted side of a ledger run in one container from the Python runner image:
// Beancount parses and books the ledger (sending the plugin lines as soon as they are
// parsed), then waits while the plugins run, then finalizes (post ops and validation)
// and prints the chain's result. Directives it loaded travel back as references, so the
// ledger is decoded once per run. Confined like every stage (src/stages/stage-body.ts);
// removed on every path by close().
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { ContainerHandle, ContainerStreams, Engine } from '../engine/engine.js';
import { InterruptedError, SandboxctlError, StageFailedError } from '../errors.js';
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
import { finalizeLines } from './finalize-request.js';
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

  private constructor(
    private readonly o: TrustedSessionOptions,
    private readonly handle: ContainerHandle,
    private readonly streams: ContainerStreams,
  ) {
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
  }

  /** Creates and starts the container; the load begins at once. */
  static async open(o: TrustedSessionOptions): Promise<TrustedSession> {
    const body = stageBody({
      imageId: o.imageId,
      cmd: ['load', '--ledger', `${LEDGER_MOUNT}/${path.basename(o.ledgerPath)}`, '--host-dir', path.dirname(o.ledgerPath), '--session'],
      kind: 'loader',
      runId: o.runId,
      ledgerDir: path.dirname(o.ledgerPath),
      user: o.user,
      memoryBytes: o.memoryBytes,
      timeoutMs: o.timeoutMs,
      seccomp: o.seccomp,
      apparmor: o.apparmor,
    });
    o.signal?.throwIfAborted();
    const handle = await o.engine.createContainer(body);
    try {
      const streams = await handle.attach();
      await handle.start();
      return new TrustedSession(o, handle, streams);
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
    return this.phase('finalize', async () => {
      const sending = this.send(input, loadedIndex, printTo !== undefined);
      sending.catch(() => undefined);
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
    let batch = '';
    for (const line of finalizeLines(input, loadedIndex)) {
      batch += line;
      if (batch.length >= 64 * 1024) {
        await this.writer.writeRaw(batch);
        batch = '';
      }
    }
    await this.writer.writeRaw(batch + '{"type":"end"}\n');
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

function malformed(line: number, what: string): StageFailedError {
  return new StageFailedError(`the trusted session's output is malformed at line ${line}: ${what}`, {
    hint: 'this is a bug in sandboxctl or its runner image: rebuild the images (`sandboxctl images build`)',
  });
}
