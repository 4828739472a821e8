// Measures what a plugin's container used, for the audit: peak memory and CPU time.
// First choice: the kernel's own counters for the container's cgroup (the engine's
// usageMonitor), read every few tens of milliseconds and once more when the plugin says it
// is done, so even a run of a few hundred milliseconds is measured. Without them: the
// engine's stats API, which answers about once a second, so a short run may have no figure;
// then the usage says why instead of making one up.
import type { ContainerHandle, UsageMonitor } from '../engine/engine.js';

export interface ResourceUsage {
  /** Highest memory use seen, bytes; 0 when nothing was measured (see `source`). */
  peakMemoryBytes: number;
  /** CPU time at the last reading, nanoseconds (a lower bound: the process may run on a moment after it). */
  cpuNanos: number;
  /** Most processes seen at once (engine stats only; 0 otherwise). */
  peakPids: number;
  /** Readings taken, of either source. */
  samples: number;
  /** Where the figures come from; null when nothing was measured. */
  source: 'cgroup' | 'engine-stats' | null;
  /** Why nothing was measured (null when something was). */
  unavailable: string | null;
  /** OOM kills the kernel counted in the container's cgroup; null when its counters were not read. */
  kernelOomKills: number | null;
}

export function emptyUsage(): ResourceUsage {
  return { peakMemoryBytes: 0, cpuNanos: 0, peakPids: 0, samples: 0, source: null, unavailable: 'not measured: the plugin did not start', kernelOomKills: null };
}

/** Kernel counters are a few small file reads: cheap enough to take this often. */
const KERNEL_INTERVAL_MS = 50;

export class UsageSampler {
  private readonly stats = { peakMemoryBytes: 0, cpuNanos: 0, peakPids: 0, samples: 0 };
  private stopped = false;
  private loop: Promise<void> | undefined;
  private monitor: Promise<UsageMonitor | undefined> = Promise.resolve(undefined);
  private readonly reads = new Set<Promise<void>>();

  constructor(
    private readonly handle: Pick<ContainerHandle, 'stats' | 'usageMonitor'>,
    private readonly intervalMs = 250,
  ) {}

  /** Call once the container has started. */
  start(): void {
    const h = this.handle;
    this.monitor = h.usageMonitor ? h.usageMonitor().catch(() => undefined) : Promise.resolve(undefined);
    this.loop = (async () => {
      const monitor = await this.monitor;
      if (monitor?.result().available) {
        while (!this.stopped) {
          await this.track(monitor.read());
          await this.pause(KERNEL_INTERVAL_MS);
        }
        return;
      }
      // no kernel counters: the engine's stats, about a second per sample
      while (!this.stopped) {
        await this.sampleOnce();
        await this.pause(this.intervalMs);
      }
    })();
  }

  /** Reads the kernel counters now (when the plugin has said it is done, before it exits). */
  mark(): void {
    void this.monitor.then((m) => m && this.track(m.read()));
  }

  async sampleOnce(): Promise<void> {
    try {
      const s = await this.handle.stats();
      if (!s) return;
      this.stats.samples++;
      this.stats.peakMemoryBytes = Math.max(this.stats.peakMemoryBytes, s.memoryPeakBytes, s.memoryBytes);
      this.stats.cpuNanos = Math.max(this.stats.cpuNanos, s.cpuNanos);
      this.stats.peakPids = Math.max(this.stats.peakPids, s.pids);
    } catch {
      // a sample that fails (container gone) is simply not counted
    }
  }

  /**
   * Stops sampling and says what was measured. Kernel reads in flight are waited for (they
   * take microseconds); an engine stats sample in flight only for `graceMs` (it takes ~1 s).
   */
  async stop(graceMs = 300): Promise<ResourceUsage> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await Promise.all([...this.reads]);
    const kernel = (await this.monitor)?.result();
    const s = this.stats;
    if (kernel?.available) {
      return {
        peakMemoryBytes: Math.max(kernel.memoryPeakBytes, s.peakMemoryBytes),
        cpuNanos: Math.max(kernel.cpuNanos, s.cpuNanos),
        peakPids: s.peakPids,
        samples: kernel.reads + s.samples,
        source: 'cgroup',
        unavailable: null,
        kernelOomKills: kernel.oomKills,
      };
    }
    if (s.samples > 0) return { ...s, source: 'engine-stats', unavailable: null, kernelOomKills: null };
    const why = kernel ? kernel.reason : 'the engine gives no kernel counters';
    return { ...s, source: null, unavailable: `${why}, and the run ended before the engine's first stats sample`, kernelOomKills: null };
  }

  private track(p: Promise<void>): Promise<void> {
    const q = p.catch(() => undefined).finally(() => this.reads.delete(q));
    this.reads.add(q);
    return q;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms).unref());
  }
}
