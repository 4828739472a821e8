// Samples the engine's resource counters while a container runs, for the audit:
// peak memory (the cgroup's high-water mark where the engine has one) and CPU time.
import type { ContainerHandle } from '../engine/engine.js';

export interface ResourceUsage {
  /** Highest memory use seen, bytes; 0 when no sample was taken. */
  peakMemoryBytes: number;
  /** CPU time at the last sample, nanoseconds (a lower bound: the run may go on after it). */
  cpuNanos: number;
  /** Most processes seen at once. */
  peakPids: number;
  samples: number;
}

export class UsageSampler {
  readonly usage: ResourceUsage = { peakMemoryBytes: 0, cpuNanos: 0, peakPids: 0, samples: 0 };
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly handle: Pick<ContainerHandle, 'stats'>,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.loop = (async () => {
      while (!this.stopped) {
        await this.sampleOnce();
        if (this.stopped) break;
        await new Promise((r) => setTimeout(r, this.intervalMs).unref());
      }
    })();
  }

  async sampleOnce(): Promise<void> {
    try {
      const s = await this.handle.stats();
      if (!s) return;
      this.usage.samples++;
      this.usage.peakMemoryBytes = Math.max(this.usage.peakMemoryBytes, s.memoryPeakBytes, s.memoryBytes);
      this.usage.cpuNanos = Math.max(this.usage.cpuNanos, s.cpuNanos);
      this.usage.peakPids = Math.max(this.usage.peakPids, s.pids);
    } catch {
      // a sample that fails (container gone) is simply not counted
    }
  }

  /** Stops sampling; waits briefly for a sample in flight (the engine takes ~1 s per sample). */
  async stop(graceMs = 300): Promise<ResourceUsage> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    return { ...this.usage };
  }
}
