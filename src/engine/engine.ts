import type {
  BuildRequest,
  ContainerState,
  ContainerStreams,
  CreateContainerBody,
  EngineInfo,
  ImageInfo,
  KernelUsage,
  KernelUsageResult,
  ListedObject,
  ResourceSample,
  UsageMonitor,
} from './types.js';

export type { BuildRequest, ContainerState, ContainerStreams, CreateContainerBody, EngineInfo, ImageInfo, KernelUsage, KernelUsageResult, ListedObject, ResourceSample, UsageMonitor };

/** A created container. Remove it on every path; `remove` is idempotent. */
export interface ContainerHandle {
  readonly id: string;
  /** Attach stdin/stdout/stderr (demultiplexed). Call before start. */
  attach(): Promise<ContainerStreams>;
  start(): Promise<void>;
  /** Resolves when the container stops, with its exit code. */
  wait(): Promise<{ exitCode: number }>;
  inspect(): Promise<ContainerState>;
  /** One stats sample while the container runs; undefined when it has stopped. */
  stats(): Promise<ResourceSample | undefined>;
  /**
   * Optional: the kernel's own counters for the container (its cgroup, read from the host).
   * Call once it has started. An engine that cannot reach them leaves this out, or returns a
   * monitor whose result says why.
   */
  usageMonitor?(): Promise<UsageMonitor>;
  /** Optional: how many `oom` events (the kernel's OOM kills) the engine recorded for it since `sinceMs`. */
  oomEvents?(sinceMs: number): Promise<number>;
  kill(signal?: string): Promise<void>;
  remove(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Everything sandboxctl asks of a container engine. dockerode lives behind this. */
export interface Engine {
  /** Throws EngineUnavailableError with a hint when nothing answers. */
  ping(): Promise<void>;
  info(): Promise<EngineInfo>;
  inspectImage(ref: string): Promise<ImageInfo | undefined>;
  buildImage(req: BuildRequest): Promise<ImageInfo>;
  /** Import a root filesystem tarball as an image (docker import). */
  importImage(rootfsTar: NodeJS.ReadableStream, tag: string, changes: string[]): Promise<ImageInfo>;
  tagImage(ref: string, tag: string): Promise<void>;
  removeImage(ref: string): Promise<void>;
  listImages(labels: Record<string, string>): Promise<ListedObject[]>;
  createContainer(body: CreateContainerBody): Promise<ContainerHandle>;
  listContainers(labels: Record<string, string>): Promise<ListedObject[]>;
  removeContainer(id: string): Promise<void>;
  listNetworks(labels: Record<string, string>): Promise<ListedObject[]>;
  removeNetwork(id: string): Promise<void>;
  listVolumes(labels: Record<string, string>): Promise<ListedObject[]>;
  removeVolume(name: string): Promise<void>;
}
