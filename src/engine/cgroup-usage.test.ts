import { describe, expect, it } from 'vitest';
import { cgroupDir, CgroupUsageMonitor, findCgroupFiles, parseCgroupMounts, parseOomKills, parseProcCgroup } from './cgroup-usage.js';

const ID = 'b4c133ceb89bd552ee3531bd5a01d3c2425719cf56b9150d5da3b04ad1c3c6b8';
const PROC = `9:name=systemd:/docker/${ID}\n4:memory:/docker/${ID}\n2:cpuacct:/docker/${ID}\n1:cpu:/docker/${ID}\n0::/\n`;
const MOUNTINFO = [
  '30 24 0:26 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory',
  '31 24 0:27 / /sys/fs/cgroup/cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpuacct',
  '32 24 0:28 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:14 - cgroup2 cgroup2 rw',
  '',
].join('\n');

function files(map: Record<string, string>) {
  return async (f: string) => {
    if (f in map) return map[f]!;
    throw Object.assign(new Error(`ENOENT: ${f}`), { code: 'ENOENT' });
  };
}

describe('cgroup v1 files of a container', () => {
  it('parses /proc/PID/cgroup, comma-joined controllers included', () => {
    const m = parseProcCgroup(`3:cpu,cpuacct:/docker/x\n4:memory:/docker/x\n0::/\n`);
    expect(Object.fromEntries(m)).toEqual({ cpu: '/docker/x', cpuacct: '/docker/x', memory: '/docker/x' });
  });

  it('finds the v1 mount of each controller and ignores cgroup2', () => {
    const m = parseCgroupMounts(MOUNTINFO);
    expect(m.get('memory')).toEqual({ mountPoint: '/sys/fs/cgroup/memory', root: '/' });
    expect(m.get('cpuacct')).toEqual({ mountPoint: '/sys/fs/cgroup/cpuacct', root: '/' });
  });

  it('maps a cgroup path through a mount whose root is not /, and refuses one outside it', () => {
    expect(cgroupDir({ mountPoint: '/sys/fs/cgroup/memory', root: '/outer' }, '/outer/docker/x')).toBe('/sys/fs/cgroup/memory/docker/x');
    expect(cgroupDir({ mountPoint: '/sys/fs/cgroup/memory', root: '/outer' }, '/docker/x')).toEqual({ reason: expect.stringMatching(/outside/) });
    expect(cgroupDir(undefined, '/docker/x')).toEqual({ reason: expect.stringMatching(/no cgroup v1 hierarchy/) });
  });

  it('reads the oom_kill counter, 0 where the kernel has none', () => {
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\noom_kill 3\n')).toBe(3);
    expect(parseOomKills('oom_kill_disable 0\nunder_oom 0\n')).toBe(0);
  });

  it('finds the directories from the process, and says why when it cannot', async () => {
    const read = files({ '/proc/42/cgroup': PROC, '/proc/self/mountinfo': MOUNTINFO });
    expect(await findCgroupFiles(42, read)).toEqual({ memoryDir: `/sys/fs/cgroup/memory/docker/${ID}`, cpuacctDir: `/sys/fs/cgroup/cpuacct/docker/${ID}` });
    expect(await findCgroupFiles(43, read)).toEqual({ reason: expect.stringMatching(/process 43 is gone \(ENOENT\)/) });
    const v2 = files({ '/proc/42/cgroup': '0::/system.slice/docker-x.scope\n', '/proc/self/mountinfo': MOUNTINFO });
    expect(await findCgroupFiles(42, v2)).toEqual({ reason: expect.stringMatching(/cgroup v2/) });
  });

  it('keeps the most every read showed, and says why when no read succeeded', async () => {
    const dirs = { memoryDir: '/m', cpuacctDir: '/c' };
    const counters = { '/m/memory.max_usage_in_bytes': '1000\n', '/c/cpuacct.usage': '500\n', '/m/memory.oom_control': 'oom_kill 0\n' };
    const live: Record<string, string> = { ...counters };
    const m = new CgroupUsageMonitor(dirs, files(live));
    expect(m.result()).toEqual({ available: false, reason: expect.stringMatching(/exited before its cgroup could be read/) });
    await m.read();
    live['/m/memory.max_usage_in_bytes'] = '4000\n';
    live['/c/cpuacct.usage'] = '900\n';
    live['/m/memory.oom_control'] = 'oom_kill 1\n';
    await m.read();
    for (const k of Object.keys(live)) delete live[k]; // the container exited: its cgroup is gone
    await m.read();
    expect(m.result()).toEqual({ available: true, reads: 2, memoryPeakBytes: 4000, cpuNanos: 900, oomKills: 1 });
    expect(new CgroupUsageMonitor({ reason: 'remote engine' }).result()).toEqual({ available: false, reason: 'remote engine' });
  });
});
