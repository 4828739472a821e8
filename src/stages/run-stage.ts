// Runs one trusted stage (Beancount's loader, the finalizer, the printer, bean-example)
// in its own hardened container: the ledger is untrusted input to Beancount's parser,
// so these stages get the same confinement as plugins. The container is removed on
// every path.
import type { CreateContainerBody, Engine } from '../engine/engine.js';
import { InterruptedError, NotReadyError, SandboxctlError } from '../errors.js';
import type { Logger } from '../logger.js';
import { JsonLinesWriter } from '../protocol/framing.js';
import { HeadTailCapture, type CapturedText } from '../run/stderr-capture.js';

export class StageFailedError extends SandboxctlError {
  readonly code = 'stage-failed';
  readonly exitCode = 1 as const;
}

export interface StageRequest<T> {
  engine: Engine;
  body: CreateContainerBody;
  name: string;
  timeoutMs: number;
  signal?: AbortSignal;
  logger: Logger;
  /** Writes the stage's input; stdin is closed when it resolves. */
  feed?: (w: JsonLinesWriter) => Promise<void>;
  /** Consumes the stage's stdout; its result is the stage's result. */
  consume: (stdout: AsyncIterable<Buffer>) => Promise<T>;
  maxStderrBytes?: number;
}

export interface StageResult<T> {
  value: T;
  exitCode: number;
  stderr: CapturedText;
  durationMs: number;
}

export async function runStage<T>(req: StageRequest<T>): Promise<StageResult<T>> {
  const t0 = Date.now();
  const handle = await req.engine.createContainer(req.body);
  const log = req.logger.child({ stage: req.name, containerId: handle.id.slice(0, 12) });
  const stderr = new HeadTailCapture(req.maxStderrBytes ?? 256 * 1024);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const streams = await handle.attach();
    streams.stderr.on('data', (b: Buffer) => stderr.push(b));
    await handle.start();
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new StageFailedError(`the ${req.name} stage did not finish within ${Math.round(req.timeoutMs / 1000)} s`, {
          hint: 'a very large ledger may need a longer --stage-timeout',
        }));
      }, req.timeoutMs);
      onAbort = () => reject(req.signal?.reason instanceof Error ? req.signal.reason : new InterruptedError('SIGINT'));
      if (req.signal?.aborted) onAbort();
      else req.signal?.addEventListener('abort', onAbort, { once: true });
    });
    const writer = new JsonLinesWriter(streams.stdin as never, req.signal);
    const feeding = (async () => {
      if (req.feed) await req.feed(writer);
      await writer.end();
    })();
    const [value] = await Promise.race([
      Promise.all([req.consume(streams.stdout as AsyncIterable<Buffer>), feeding]),
      stopped,
    ]);
    const { exitCode } = await Promise.race([handle.wait(), stopped]);
    const captured = stderr.result();
    if (exitCode !== 0) {
      const state = await handle.inspect();
      throw new StageFailedError(
        `the ${req.name} stage failed (exit ${exitCode}${state.oomKilled ? ', killed for its memory' : ''})` +
          (captured.text ? `:\n${captured.text.trimEnd().split('\n').slice(-15).join('\n')}` : ''),
        { details: { stage: req.name, exitCode, oomKilled: state.oomKilled } },
      );
    }
    log.debug({ ms: Date.now() - t0 }, 'stage done');
    return { value, exitCode, stderr: captured, durationMs: Date.now() - t0 };
  } catch (err) {
    await handle.kill().catch(() => undefined);
    if (err instanceof SandboxctlError) throw err;
    throw new StageFailedError(`the ${req.name} stage failed: ${(err as Error).message}`, { cause: err });
  } finally {
    if (timer) clearTimeout(timer);
    if (onAbort) req.signal?.removeEventListener('abort', onAbort);
    await handle.remove().catch((err: unknown) => log.warn({ err }, 'could not remove the stage container; `sandboxctl gc` will'));
  }
}

export function requireImage(id: string | undefined, what: string): string {
  if (!id) throw new NotReadyError(`the ${what} image is not built`, { hint: 'run `sandboxctl images build`' });
  return id;
}
