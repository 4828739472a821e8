import { describe, expect, it } from 'vitest';
import type { KernelUsageResult, ResourceSample, UsageMonitor } from '../engine/engine.js';
import { UsageSampler } from './usage-sampler.js';

function monitor(results: KernelUsageResult[]): UsageMonitor & { reads: number } {
  let i = 0;
  return {
    reads: 0,
    async read() {
      this.reads++;
      i = Math.min(i + 1, results.length - 1);
    },
    result: () => results[i]!,
  };
}

const noStats = async (): Promise<ResourceSample | undefined> => undefined;

describe('UsageSampler', () => {
  it('uses the kernel counters when the engine gives them, with a read when the plugin is done', async () => {
    const m = monitor([
      { available: true, reads: 1, memoryPeakBytes: 10, cpuNanos: 5, oomKills: 0 },
      { available: true, reads: 2, memoryPeakBytes: 30, cpuNanos: 9, oomKills: 0 },
    ]);
    const s = new UsageSampler({ stats: noStats, usageMonitor: async () => m });
    s.start();
    s.mark();
    const u = await s.stop(0);
    expect(m.reads).toBeGreaterThanOrEqual(1);
    expect(u).toMatchObject({ source: 'cgroup', unavailable: null, peakMemoryBytes: 30, cpuNanos: 9, kernelOomKills: 0 });
  });

  it('falls back to the engine stats, and says why when it has nothing', async () => {
    const stats = async (): Promise<ResourceSample> => ({ memoryPeakBytes: 7, memoryBytes: 3, cpuNanos: 11, pids: 2 });
    const withStats = new UsageSampler({ stats, usageMonitor: async () => monitor([{ available: false, reason: 'cgroup v2' }]) }, 1);
    withStats.start();
    await new Promise((r) => setTimeout(r, 20));
    expect(await withStats.stop()).toMatchObject({ source: 'engine-stats', peakMemoryBytes: 7, cpuNanos: 11, peakPids: 2, kernelOomKills: null, unavailable: null });

    const none = new UsageSampler({ stats: noStats, usageMonitor: async () => monitor([{ available: false, reason: 'cgroup v2' }]) });
    none.start();
    const u = await none.stop();
    expect(u).toMatchObject({ source: null, peakMemoryBytes: 0, cpuNanos: 0 });
    expect(u.unavailable).toMatch(/^cgroup v2, and the run ended before the engine's first stats sample$/);

    const noMonitor = new UsageSampler({ stats: noStats });
    noMonitor.start();
    expect((await noMonitor.stop()).unavailable).toMatch(/the engine gives no kernel counters/);
  });
});
