// Watches the engine while a batch runs: a ping every second tells whether the engine
// went away during a ledger's run (a restarted dockerd kills that run's containers and
// cuts its streams, which otherwise looks like a crashing plugin). Such a run is retried
// once the engine answers again, with a bounded backoff; if it does not come back in
// time, the batch stops cleanly.
import type { Engine } from '../engine/engine.js';
import { SandboxctlError } from '../errors.js';

/** Waits between pings while the engine is down: doubling from `first`, at most `cap` each, `total` in all (pure). */
export function backoffDelays(total: number, first = 500, cap = 8000): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let d = first; sum < total; d = Math.min(d * 2, cap)) {
    const step = Math.min(d, total - sum);
    out.push(step);
    sum += step;
  }
  return out;
}

/** Exit status of a process stopped by SIGTERM: sandboxctl only ever SIGKILLs, a stopping dockerd TERMs its containers. */
export const TERMINATED_BY_ENGINE = 143;

/** Whether an error is the engine failing under us rather than the ledger or a plugin (pure). */
export function isEngineFailure(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (e instanceof SandboxctlError && e.code === 'engine-unavailable') return true;
    // a trusted stage stopped by SIGTERM: the engine stopped its container
    if (e instanceof SandboxctlError && e.details.exitCode === TERMINATED_BY_ENGINE) return true;
    // the engine's API answering 5xx (a container create failing while dockerd shuts down or starts)
    const status = (e as { statusCode?: unknown }).statusCode;
    if (!(e instanceof SandboxctlError) && typeof status === 'number' && status >= 500) return true;
    if (typeof e.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE'].includes(e.code) && !(e instanceof SandboxctlError)) {
      // ENOENT of the socket, not of a ledger file: only errors that carry no path
      if (e.code !== 'ENOENT' || !(e as { path?: unknown }).path || String((e as { path?: unknown }).path).endsWith('.sock')) return true;
    }
  }
  return false;
}

export class EngineWatch {
  /** Increments every time the engine is seen going down. */
  epoch = 0;
  down = false;
  private timer: NodeJS.Timeout | undefined;
  private pinging = false;

  constructor(
    private readonly engine: Engine,
    private readonly intervalMs = 1000,
    private readonly sleep = (ms: number, signal?: AbortSignal) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, ms);
        signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
      }),
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One ping (the interval's: skipped while one is in flight); records a transition to down. */
  async tick(): Promise<boolean> {
    if (this.pinging) return !this.down;
    this.pinging = true;
    try {
      return await this.probe();
    } finally {
      this.pinging = false;
    }
  }

  /** Pings with backoff until the engine answers (true) or `totalMs` passed (false). */
  async waitUp(totalMs: number, signal?: AbortSignal): Promise<boolean> {
    if (await this.probe()) return true;
    for (const d of backoffDelays(totalMs)) {
      await this.sleep(d, signal);
      if (signal?.aborted) return false;
      if (await this.probe()) return true;
    }
    return false;
  }

  /** A ping of its own (never the answer of one already in flight, which may predate the failure). */
  private async probe(): Promise<boolean> {
    try {
      await this.engine.ping();
      this.down = false;
      return true;
    } catch {
      if (!this.down) this.epoch++;
      this.down = true;
      return false;
    }
  }
}
