// Plain data shapes of the Docker Engine API (v1.41) that sandboxctl uses. The pure
// spec builder produces CreateContainerBody; only src/engine/ talks to the daemon.

export interface Ulimit { Name: string; Soft: number; Hard: number }

export interface HostConfig {
  NetworkMode?: string;
  ReadonlyRootfs?: boolean;
  Binds?: string[];
  Mounts?: Array<{ Type: 'bind' | 'tmpfs' | 'volume'; Source?: string; Target: string; ReadOnly?: boolean; BindOptions?: { Propagation?: string }; TmpfsOptions?: { SizeBytes?: number; Mode?: number } }>;
  Tmpfs?: Record<string, string>;
  CapDrop?: string[];
  CapAdd?: string[];
  SecurityOpt?: string[];
  Privileged?: boolean;
  Memory?: number;
  MemorySwap?: number;
  MemorySwappiness?: number;
  MemoryReservation?: number;
  KernelMemory?: number;
  OomKillDisable?: boolean;
  NanoCpus?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  PidsLimit?: number;
  Ulimits?: Ulimit[];
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  CgroupnsMode?: string;
  Devices?: unknown[];
  DeviceRequests?: unknown[];
  Init?: boolean;
  LogConfig?: { Type: string; Config?: Record<string, string> };
  Runtime?: string;
  AutoRemove?: boolean;
  ShmSize?: number;
  MaskedPaths?: string[];
  ReadonlyPaths?: string[];
  Dns?: string[];
  ExtraHosts?: string[];
  GroupAdd?: string[];
  Sysctls?: Record<string, string>;
}

export interface CreateContainerBody {
  name?: string;
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  User?: string;
  Env?: string[];
  Labels?: Record<string, string>;
  WorkingDir?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Tty?: boolean;
  NetworkDisabled?: boolean;
  StopSignal?: string;
  StopTimeout?: number;
  HostConfig: HostConfig;
}

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  minApiVersion: string;
  os: string;
  kernelVersion: string;
  cgroupVersion: string;
  cgroupDriver: string;
  storageDriver: string;
  securityOptions: string[];
  seccomp: boolean;
  apparmor: boolean;
  runtimes: string[];
  defaultRuntime: string;
  rootDir: string;
}

export interface ImageInfo {
  id: string;
  tags: string[];
  labels: Record<string, string>;
  created: string;
  size: number;
}

export interface ContainerState {
  id: string;
  running: boolean;
  status: string;
  exitCode: number;
  oomKilled: boolean;
  startedAt: string;
  finishedAt: string;
  /** The whole inspect document, for tests and audit digests. */
  raw: Record<string, unknown>;
}

export interface ResourceSample {
  /** Peak memory the engine has seen for the container's cgroup, bytes (0 when unknown). */
  memoryPeakBytes: number;
  memoryBytes: number;
  /** Total CPU time consumed, nanoseconds. */
  cpuNanos: number;
  pids: number;
}

export interface ContainerStreams {
  stdin: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
}

export interface ListedObject {
  id: string;
  name?: string;
  labels: Record<string, string>;
  state?: string;
}

export interface BuildProgress {
  /** One line of the build's output, or a status message. */
  line: string;
}

export interface BuildRequest {
  /** A tar stream of the build context (pack it with tar-fs). */
  context: NodeJS.ReadableStream;
  tag: string;
  labels: Record<string, string>;
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  onProgress?: (p: BuildProgress) => void;
}

/** What the kernel counted for a container's cgroup, as read from the host. */
export interface KernelUsage {
  /** The cgroup's memory high-water mark, bytes (cgroup v1 memory.max_usage_in_bytes). */
  memoryPeakBytes: number;
  /** CPU time of every process in the cgroup, nanoseconds (cgroup v1 cpuacct.usage). */
  cpuNanos: number;
  /** OOM kills the kernel counted in the cgroup (memory.oom_control's oom_kill). */
  oomKills: number;
}

/** The most a container's counters showed over every read, or why there is no reading. */
export type KernelUsageResult = ({ available: true; reads: number } & KernelUsage) | { available: false; reason: string };

/**
 * Reads a running container's kernel counters. Reads are cheap (a few small files): call
 * often while it runs, and when it has said it is done; a read after the container's cgroup
 * is gone (it exited) changes nothing.
 */
export interface UsageMonitor {
  read(): Promise<void>;
  result(): KernelUsageResult;
}
