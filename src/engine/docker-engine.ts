import type Docker from 'dockerode';
import http from 'node:http';
import { PassThrough } from 'node:stream';
import { EngineUnavailableError, InternalError } from '../errors.js';
import { CgroupUsageMonitor, findCgroupFiles } from './cgroup-usage.js';
import type { ContainerHandle, Engine } from './engine.js';
import { loadDockerode } from './load-dockerode.js';
import type {
  BuildRequest,
  ContainerState,
  ContainerStreams,
  CreateContainerBody,
  EngineInfo,
  ImageInfo,
  ListedObject,
  ResourceSample,
  UsageMonitor,
} from './types.js';

// Docker 20.10 serves API 1.41; pinning keeps every call to what it understands.
export const API_VERSION = 'v1.41';

const UNAVAILABLE_HINT =
  'start an engine with `bash scripts/engine-up.sh` (as root on Debian), or point DOCKER_HOST at one';

function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE';
}

function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number } | undefined)?.statusCode;
}

/** Wraps engine calls so a missing daemon is always the same typed error. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isConnectionError(err)) {
      throw new EngineUnavailableError(`no Docker engine answers (${what})`, { cause: err, hint: UNAVAILABLE_HINT });
    }
    throw err;
  }
}

function filtersFor(labels: Record<string, string>): string {
  return JSON.stringify({ label: Object.entries(labels).map(([k, v]) => (v === '' ? k : `${k}=${v}`)) });
}

function toImageInfo(raw: Docker.ImageInspectInfo): ImageInfo {
  return {
    id: raw.Id,
    tags: raw.RepoTags ?? [],
    labels: (raw.Config?.Labels as Record<string, string> | null) ?? {},
    created: raw.Created,
    size: raw.Size,
  };
}

/**
 * Splits the engine's multiplexed attach stream (8-byte frame headers: stream type,
 * then payload length) into stdout and stderr, pausing the socket while a consumer
 * is not reading, so a plugin that floods its output cannot grow the host's memory.
 */
function demux(source: NodeJS.ReadableStream, stdout: PassThrough, stderr: PassThrough): void {
  let buf: Buffer = Buffer.alloc(0);
  // the streams whose buffers are full; the socket reads again once none is
  const waiting = new Set<PassThrough>();
  const wait = (target: PassThrough) => {
    if (waiting.has(target)) return;
    waiting.add(target);
    source.pause();
    target.once('drain', () => {
      waiting.delete(target);
      if (waiting.size === 0) source.resume();
    });
  };
  source.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const len = buf.readUInt32BE(4);
      if (buf.length < 8 + len) break;
      const target = buf[0] === 2 ? stderr : stdout;
      const payload = buf.subarray(8, 8 + len);
      buf = buf.subarray(8 + len);
      if (!target.write(payload)) wait(target);
    }
  });
}

class DockerContainer implements ContainerHandle {
  private removed = false;
  constructor(
    private readonly docker: Docker,
    private readonly container: Docker.Container,
    readonly id: string,
    /** The engine runs on this host (a unix socket), so its containers' cgroups are ours to read. */
    private readonly local: boolean,
  ) {}

  async attach(): Promise<ContainerStreams> {
    const stream = (await call('attach', () =>
      this.container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true }),
    )) as NodeJS.ReadWriteStream & { end(): void };
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    demux(stream, stdout, stderr);
    const finish = () => {
      stdout.end();
      stderr.end();
    };
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', (err: Error) => {
      stdout.destroy(err);
      stderr.destroy(err);
    });
    return { stdin: stream, stdout, stderr };
  }

  async start(): Promise<void> {
    await call('start', () => this.container.start());
  }

  async wait(): Promise<{ exitCode: number }> {
    const res = (await call('wait', () => this.container.wait())) as { StatusCode: number };
    return { exitCode: res.StatusCode };
  }

  async inspect(): Promise<ContainerState> {
    const raw = await call('inspect', () => this.container.inspect());
    return {
      id: raw.Id,
      running: raw.State.Running,
      status: raw.State.Status,
      exitCode: raw.State.ExitCode,
      oomKilled: raw.State.OOMKilled,
      startedAt: raw.State.StartedAt,
      finishedAt: raw.State.FinishedAt,
      raw: raw as unknown as Record<string, unknown>,
    };
  }

  async stats(): Promise<ResourceSample | undefined> {
    try {
      // one-shot (API 1.41) answers at once instead of waiting a second for a CPU delta
      const s = (await this.container.stats({ stream: false, 'one-shot': true } as never)) as unknown as {
        memory_stats?: { usage?: number; max_usage?: number };
        cpu_stats?: { cpu_usage?: { total_usage?: number } };
        pids_stats?: { current?: number };
      };
      if (!s.memory_stats || s.memory_stats.usage === undefined) return undefined;
      return {
        memoryBytes: s.memory_stats.usage ?? 0,
        // cgroup v1 keeps a high-water mark; v2 does not expose one through this API
        memoryPeakBytes: s.memory_stats.max_usage ?? s.memory_stats.usage ?? 0,
        cpuNanos: s.cpu_stats?.cpu_usage?.total_usage ?? 0,
        pids: s.pids_stats?.current ?? 0,
      };
    } catch (err) {
      if (statusCode(err) === 404 || statusCode(err) === 409) return undefined;
      throw err;
    }
  }

  async usageMonitor(): Promise<UsageMonitor> {
    if (!this.local) return new CgroupUsageMonitor({ reason: 'the engine is not on this host (DOCKER_HOST names a remote one): its cgroups cannot be read' });
    const state = await this.inspect().catch(() => undefined);
    const pid = (state?.raw.State as { Pid?: number } | undefined)?.Pid ?? 0;
    if (!pid) return new CgroupUsageMonitor({ reason: 'the container was no longer running when its cgroup was looked up' });
    const files = await findCgroupFiles(pid);
    // a pid can be reused: the cgroup must be this container's
    if ('memoryDir' in files && !files.memoryDir.includes(this.id)) {
      return new CgroupUsageMonitor({ reason: `process ${pid}'s cgroup (${files.memoryDir}) is not the container's` });
    }
    const monitor = new CgroupUsageMonitor(files);
    await monitor.read();
    return monitor;
  }

  async oomEvents(sinceMs: number): Promise<number> {
    const since = Math.floor(sinceMs / 1000);
    // until = now: the engine answers from its recent-events buffer and closes the stream
    const stream = await call('events', () =>
      this.docker.getEvents({ since, until: Math.ceil(Date.now() / 1000) + 1, filters: JSON.stringify({ container: [this.id], event: ['oom'] }) as never }),
    );
    let text = '';
    for await (const chunk of stream as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    return text.split('\n').filter((l) => l.includes('"oom"')).length;
  }

  async kill(signal = 'SIGKILL'): Promise<void> {
    try {
      await this.container.kill({ signal });
    } catch (err) {
      // already stopped or gone: nothing to kill
      if (statusCode(err) === 404 || statusCode(err) === 409) return;
      throw err;
    }
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    try {
      await this.container.remove({ force: true, v: true });
    } catch (err) {
      if (statusCode(err) !== 404 && !/already in progress/.test(String((err as Error).message))) throw err;
    }
    this.removed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }
}

export interface DockerEngineOptions {
  /** Overrides DOCKER_HOST / the default socket. */
  socketPath?: string;
}

export class DockerEngine implements Engine {
  private readonly docker: Docker;
  private readonly local: boolean;
  /** Pings on a new connection each time (see ping). */
  private readonly pinger: Docker;
  constructor(opts: DockerEngineOptions = {}) {
    const Dockerode = loadDockerode();
    const where = opts.socketPath ? { socketPath: opts.socketPath } : {};
    this.docker = new Dockerode({ version: API_VERSION, ...where });
    this.local = Boolean((this.docker.modem as { socketPath?: unknown }).socketPath);
    this.pinger = new Dockerode({ version: API_VERSION, ...where, agent: new http.Agent({ keepAlive: false }) } as unknown as Docker.DockerOptions);
  }

  // A dockerd that is shutting down closes its listener first, then stops the containers,
  // while still serving the connections it has open: only a new connection shows it is going.
  async ping(): Promise<void> {
    await call('ping', () => this.pinger.ping());
  }

  async info(): Promise<EngineInfo> {
    const [info, version] = await call('info', () => Promise.all([this.docker.info(), this.docker.version()]));
    const securityOptions: string[] = info.SecurityOptions ?? [];
    return {
      serverVersion: version.Version,
      apiVersion: version.ApiVersion,
      minApiVersion: version.MinAPIVersion ?? '',
      os: info.OperatingSystem,
      kernelVersion: info.KernelVersion,
      cgroupVersion: String(info.CgroupVersion ?? '1'),
      cgroupDriver: info.CgroupDriver,
      storageDriver: info.Driver,
      securityOptions,
      seccomp: securityOptions.some((o) => o.startsWith('name=seccomp')),
      apparmor: securityOptions.some((o) => o.startsWith('name=apparmor')),
      runtimes: Object.keys(info.Runtimes ?? {}).sort(),
      defaultRuntime: info.DefaultRuntime,
      rootDir: info.DockerRootDir,
    };
  }

  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    try {
      return toImageInfo(await call('inspect image', () => this.docker.getImage(ref).inspect()));
    } catch (err) {
      if (statusCode(err) === 404) return undefined;
      throw err;
    }
  }

  async buildImage(req: BuildRequest): Promise<ImageInfo> {
    const stream = await call('build', () =>
      this.docker.buildImage(req.context, {
        t: req.tag,
        labels: req.labels,
        dockerfile: req.dockerfile ?? 'Dockerfile',
        buildargs: req.buildArgs ?? {},
        rm: true,
        forcerm: true,
        pull: false,
      } as Docker.ImageBuildOptions),
    );
    await this.follow(stream, req.onProgress);
    const image = await this.inspectImage(req.tag);
    if (!image) throw new InternalError(`build of ${req.tag} finished but the image is not there`);
    return image;
  }

  async importImage(rootfsTar: NodeJS.ReadableStream, tag: string, changes: string[]): Promise<ImageInfo> {
    const [repo, version] = splitTag(tag);
    const stream = await call('import', () => this.docker.importImage(rootfsTar, { repo, tag: version, changes }));
    await this.follow(stream);
    const image = await this.inspectImage(tag);
    if (!image) throw new InternalError(`import of ${tag} finished but the image is not there`);
    return image;
  }

  async tagImage(ref: string, tag: string): Promise<void> {
    const [repo, version] = splitTag(tag);
    await call('tag', () => this.docker.getImage(ref).tag({ repo, tag: version }));
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await call('remove image', () => this.docker.getImage(ref).remove({ force: true }));
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }

  async listImages(labels: Record<string, string>): Promise<ListedObject[]> {
    const list = await call('list images', () => this.docker.listImages({ filters: filtersFor(labels) }));
    return list.map((i) => ({ id: i.Id, name: i.RepoTags?.[0], labels: i.Labels ?? {} }));
  }

  async createContainer(body: CreateContainerBody): Promise<ContainerHandle> {
    const container = await call('create', () => this.docker.createContainer(body as Docker.ContainerCreateOptions));
    return new DockerContainer(this.docker, container, container.id, this.local);
  }

  async listContainers(labels: Record<string, string>): Promise<ListedObject[]> {
    const list = await call('list containers', () =>
      this.docker.listContainers({ all: true, filters: filtersFor(labels) }),
    );
    return list.map((c) => ({ id: c.Id, name: c.Names?.[0], labels: c.Labels ?? {}, state: c.State }));
  }

  async removeContainer(id: string): Promise<void> {
    await new DockerContainer(this.docker, this.docker.getContainer(id), id, this.local).remove();
  }

  async listNetworks(labels: Record<string, string>): Promise<ListedObject[]> {
    const list = await call('list networks', () => this.docker.listNetworks({ filters: filtersFor(labels) }));
    return list.map((n) => ({ id: n.Id, name: n.Name, labels: n.Labels ?? {} }));
  }

  async removeNetwork(id: string): Promise<void> {
    try {
      await call('remove network', () => this.docker.getNetwork(id).remove());
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }

  async listVolumes(labels: Record<string, string>): Promise<ListedObject[]> {
    const res = await call('list volumes', () => this.docker.listVolumes({ filters: filtersFor(labels) }));
    return (res.Volumes ?? []).map((v) => ({ id: v.Name, name: v.Name, labels: v.Labels ?? {} }));
  }

  async removeVolume(name: string): Promise<void> {
    try {
      await call('remove volume', () => this.docker.getVolume(name).remove());
    } catch (err) {
      if (statusCode(err) !== 404) throw err;
    }
  }

  /** Follows a build/import progress stream; a build error inside the stream rejects. */
  private follow(stream: NodeJS.ReadableStream, onProgress?: BuildRequest['onProgress']): Promise<void> {
    return new Promise((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string; errorDetail?: { message?: string } }>) => {
          if (err) return reject(err);
          const failed = output.find((o) => o.error);
          if (failed) return reject(new InternalError(`engine reported: ${failed.errorDetail?.message ?? failed.error}`));
          resolve();
        },
        (event: { stream?: string; status?: string; error?: string }) => {
          const line = (event.stream ?? event.status ?? event.error ?? '').replace(/\n$/, '');
          if (line && onProgress) onProgress({ line });
        },
      );
    });
  }
}

function splitTag(tag: string): [string, string] {
  const slash = tag.lastIndexOf('/');
  const colon = tag.lastIndexOf(':');
  return colon > slash ? [tag.slice(0, colon), tag.slice(colon + 1)] : [tag, 'latest'];
}

export function createDockerEngine(opts: DockerEngineOptions = {}): Engine {
  return new DockerEngine(opts);
}
