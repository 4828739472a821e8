// A container's kernel accounting read straight from the host's cgroup files (cgroup v1):
// the memory high-water mark, the CPU time and the OOM-kill counter. The engine's stats API
// takes about a second per sample, so a plugin that ends sooner had no figures; these files
// answer in microseconds. runc removes a container's cgroup as soon as it exits, so the
// caller reads while it runs and keeps the most any read showed.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { KernelUsage, KernelUsageResult, UsageMonitor } from './types.js';

/** controller -> cgroup path, from /proc/PID/cgroup (v1 lines `ID:controller[,controller]:/path`). */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(\/.*)$/.exec(line.trim());
    if (!m?.[1]) continue;
    for (const c of m[1].split(',')) out.set(c, m[2]!);
  }
  return out;
}

export interface CgroupMount {
  /** Where the hierarchy is mounted on this host. */
  mountPoint: string;
  /** The cgroup path at that mount point (`/` unless this process sits in a cgroup namespace). */
  root: string;
}

/** controller -> mount, for the cgroup v1 hierarchies in /proc/self/mountinfo. */
export function parseCgroupMounts(mountinfo: string): Map<string, CgroupMount> {
  const out = new Map<string, CgroupMount>();
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const [fstype, , superOpts] = post.split(' ');
    if (fstype !== 'cgroup' || !superOpts) continue;
    const fields = pre.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (!root || !mountPoint) continue;
    for (const opt of superOpts.split(',')) if (!out.has(opt)) out.set(opt, { mountPoint, root });
  }
  return out;
}

/** The host directory of `cgroupPath` in a hierarchy, or why it cannot be reached from here. */
export function cgroupDir(mount: CgroupMount | undefined, cgroupPath: string | undefined): string | { reason: string } {
  if (!mount || !cgroupPath) return { reason: 'no cgroup v1 hierarchy for it is mounted here' };
  if (mount.root !== '/' && !cgroupPath.startsWith(mount.root + '/')) {
    return { reason: `the container's cgroup ${cgroupPath} is outside this process's cgroup view (${mount.root})` };
  }
  const rel = mount.root === '/' ? cgroupPath : cgroupPath.slice(mount.root.length);
  return path.join(mount.mountPoint, rel);
}

/** `oom_kill N` in memory.oom_control (Linux 4.13+); 0 where the kernel does not count. */
export function parseOomKills(oomControl: string): number {
  const m = /^oom_kill (\d+)$/m.exec(oomControl);
  return m ? Number(m[1]) : 0;
}

export interface CgroupFiles {
  memoryDir: string;
  cpuacctDir: string;
}

/** Finds the directories of a running process's memory and cpuacct cgroups on this host. */
export async function findCgroupFiles(pid: number, read = (f: string) => readFile(f, 'utf8')): Promise<CgroupFiles | { reason: string }> {
  let procCgroup: string;
  let mountinfo: string;
  try {
    [procCgroup, mountinfo] = await Promise.all([read(`/proc/${pid}/cgroup`), read('/proc/self/mountinfo')]);
  } catch (err) {
    return { reason: `the container's process ${pid} is gone (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  const paths = parseProcCgroup(procCgroup);
  if (paths.size === 0) return { reason: 'the host uses cgroup v2, whose files this reader does not read yet' };
  const mounts = parseCgroupMounts(mountinfo);
  const memoryDir = cgroupDir(mounts.get('memory'), paths.get('memory'));
  if (typeof memoryDir !== 'string') return { reason: `memory: ${memoryDir.reason}` };
  const cpuacctDir = cgroupDir(mounts.get('cpuacct'), paths.get('cpuacct'));
  if (typeof cpuacctDir !== 'string') return { reason: `cpuacct: ${cpuacctDir.reason}` };
  return { memoryDir, cpuacctDir };
}

/** Reads the three counters once; undefined when the cgroup is gone. */
export async function readKernelUsage(files: CgroupFiles, read = (f: string) => readFile(f, 'utf8')): Promise<KernelUsage | undefined> {
  try {
    const [peak, cpu, oom] = await Promise.all([
      read(path.join(files.memoryDir, 'memory.max_usage_in_bytes')),
      read(path.join(files.cpuacctDir, 'cpuacct.usage')),
      read(path.join(files.memoryDir, 'memory.oom_control')),
    ]);
    return { memoryPeakBytes: Number(peak.trim()), cpuNanos: Number(cpu.trim()), oomKills: parseOomKills(oom) };
  } catch {
    return undefined;
  }
}

/** Keeps the most every read showed: the counters only grow while the cgroup lives. */
export class CgroupUsageMonitor implements UsageMonitor {
  private best: KernelUsage | undefined;
  private reads = 0;

  constructor(
    private readonly files: CgroupFiles | { reason: string },
    private readonly read_ = (f: string) => readFile(f, 'utf8'),
  ) {}

  async read(): Promise<void> {
    if (!('memoryDir' in this.files)) return;
    const u = await readKernelUsage(this.files, this.read_);
    if (!u) return;
    this.reads++;
    this.best = this.best
      ? {
          memoryPeakBytes: Math.max(this.best.memoryPeakBytes, u.memoryPeakBytes),
          cpuNanos: Math.max(this.best.cpuNanos, u.cpuNanos),
          oomKills: Math.max(this.best.oomKills, u.oomKills),
        }
      : u;
  }

  result(): KernelUsageResult {
    if (!('memoryDir' in this.files)) return { available: false, reason: this.files.reason };
    if (!this.best) return { available: false, reason: 'the container exited before its cgroup could be read' };
    return { available: true, reads: this.reads, ...this.best };
  }
}
