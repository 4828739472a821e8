// An Engine kept in memory, for unit tests of the orchestration around containers:
// what is created, started, killed and removed, in which order, on every path. A fake
// container runs a scripted behaviour (test/support/fake-behaviours.ts) that speaks the
// protocol on its attached streams. It isolates nothing: it proves sequencing, cleanup
// and error mapping only; isolation is proved against the real engine (test/integration).
import { PassThrough } from 'node:stream';
import type {
  BuildRequest,
  ContainerHandle,
  ContainerState,
  ContainerStreams,
  CreateContainerBody,
  Engine,
  EngineInfo,
  ImageInfo,
  ListedObject,
  ResourceSample,
} from '../../src/engine/engine.js';

/** What a scripted container sees: its body, its stdin as lines, its stdout and stderr. */
export interface FakeProcess {
  readonly id: string;
  readonly body: CreateContainerBody;
  /** stdin, one line at a time (without the newline); ends when the host closes stdin. */
  readonly stdin: AsyncIterator<string>;
  /** Writes to stdout, waiting while the host is not reading (back-pressure). */
  out(text: string): Promise<void>;
  err(text: string): void;
  /** Aborted when the container is killed. */
  readonly killed: AbortSignal;
}

export type Exit = number | { exitCode: number; oomKilled?: boolean };
export type Behaviour = (p: FakeProcess) => Promise<Exit>;

/** Where an engine call can be made to fail, for the n-th time it is made (1-based). */
export type FaultPoint = 'create' | 'attach' | 'start' | 'wait' | 'remove' | 'kill' | 'inspect' | 'stats';
export type Fault = (call: { point: FaultPoint; nth: number; body: CreateContainerBody }) => Error | undefined;

export interface MemoryEngineOptions {
  /** The behaviour of a container, chosen from its create body (by image, command, labels). */
  behaviour: (body: CreateContainerBody) => Behaviour;
  /** Makes an engine call fail; return undefined to let it through. */
  fault?: Fault;
  /** What `stats` reports while a container runs. */
  sample?: ResourceSample;
}

export type EngineEvent = { op: FaultPoint | 'exit'; id: string; image: string; detail?: string | number };

let seq = 0;

export class FakeContainer implements ContainerHandle {
  readonly id: string;
  readonly stdin = new PassThrough();
  readonly stdout = new PassThrough({ highWaterMark: 16 * 1024 });
  readonly stderr = new PassThrough();
  running = false;
  removed = false;
  exitCode: number | null = null;
  oomKilled = false;
  private attached = false;
  private readonly kill$ = new AbortController();
  private readonly exited: Promise<number>;
  private resolveExit!: (code: number) => void;

  constructor(
    private readonly engine: MemoryEngine,
    readonly body: CreateContainerBody,
    private readonly behaviour: Behaviour,
  ) {
    this.id = (++seq).toString(16).padStart(64, '0');
    this.exited = new Promise((r) => (this.resolveExit = r));
    for (const s of [this.stdin, this.stdout, this.stderr]) s.on('error', () => undefined);
  }

  async attach(): Promise<ContainerStreams> {
    this.engine.record('attach', this);
    if (this.running) throw new Error('attach after start: the protocol would lose output');
    this.attached = true;
    return { stdin: this.stdin, stdout: this.stdout, stderr: this.stderr };
  }

  async start(): Promise<void> {
    this.engine.record('start', this);
    if (this.removed) throw new Error(`no such container: ${this.id}`);
    this.running = true;
    const proc: FakeProcess = {
      id: this.id,
      body: this.body,
      stdin: stdinLines(this.stdin),
      out: (text) => (this.exitCode !== null ? Promise.resolve() : write(this.stdout, text)),
      err: (text) => void (this.exitCode === null && this.stderr.write(text)),
      killed: this.kill$.signal,
    };
    if (!this.attached) this.stdin.end();
    void this.behaviour(proc).then(
      (exit) => this.exit(typeof exit === 'number' ? exit : exit.exitCode, typeof exit === 'number' ? false : !!exit.oomKilled),
      // a behaviour that throws is a process that died of it
      (err: unknown) => {
        this.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`);
        this.exit(1, false);
      },
    );
  }

  async wait(): Promise<{ exitCode: number }> {
    this.engine.record('wait', this);
    return { exitCode: await this.exited };
  }

  async inspect(): Promise<ContainerState> {
    this.engine.record('inspect', this);
    if (this.removed) throw new Error(`no such container: ${this.id}`);
    return {
      id: this.id,
      running: this.running,
      status: this.running ? 'running' : this.exitCode === null ? 'created' : 'exited',
      exitCode: this.exitCode ?? 0,
      oomKilled: this.oomKilled,
      startedAt: '',
      finishedAt: '',
      raw: {},
    };
  }

  async stats(): Promise<ResourceSample | undefined> {
    this.engine.record('stats', this);
    return this.running ? this.engine.sample : undefined;
  }

  async kill(signal = 'SIGKILL'): Promise<void> {
    this.engine.record('kill', this, signal);
    if (!this.running) return;
    this.kill$.abort();
    this.exit(137, false);
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.engine.record('remove', this);
    // like `docker rm -f`: a running container is killed first
    if (this.running) {
      this.kill$.abort();
      this.exit(137, false);
    }
    this.removed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.remove();
  }

  private exit(code: number, oom: boolean): void {
    if (this.exitCode !== null) return;
    this.exitCode = code;
    this.oomKilled = oom;
    this.running = false;
    this.engine.record('exit', this, code);
    this.stdout.end();
    this.stderr.end();
    this.resolveExit(code);
  }
}

export class MemoryEngine implements Engine {
  readonly containers: FakeContainer[] = [];
  readonly events: EngineEvent[] = [];
  readonly sample: ResourceSample;
  private readonly calls = new Map<FaultPoint, number>();

  constructor(private readonly o: MemoryEngineOptions) {
    this.sample = o.sample ?? { memoryPeakBytes: 8 * 1024 * 1024, memoryBytes: 4 * 1024 * 1024, cpuNanos: 1_000_000, pids: 1 };
  }

  /** Containers created and not removed: empty after every path of a well-behaved run. */
  live(): FakeContainer[] {
    return this.containers.filter((c) => !c.removed);
  }

  /** The events of one kind, by image, in order. */
  ops(op: EngineEvent['op']): string[] {
    return this.events.filter((e) => e.op === op).map((e) => e.image);
  }

  /** @internal counts the call, applies a fault, and logs it. */
  record(op: FaultPoint | 'exit', c: FakeContainer, detail?: string | number): void {
    this.events.push({ op, id: c.id, image: c.body.Image, ...(detail !== undefined ? { detail } : {}) });
    if (op === 'exit') return;
    const nth = (this.calls.get(op) ?? 0) + 1;
    this.calls.set(op, nth);
    const err = this.o.fault?.({ point: op, nth, body: c.body });
    if (err) throw err;
  }

  async ping(): Promise<void> {}

  async info(): Promise<EngineInfo> {
    return {
      serverVersion: 'memory',
      apiVersion: '1.41',
      minApiVersion: '1.12',
      os: 'memory',
      kernelVersion: '',
      cgroupVersion: '1',
      cgroupDriver: 'none',
      storageDriver: 'none',
      securityOptions: [],
      seccomp: false,
      apparmor: false,
      runtimes: ['runc'],
      defaultRuntime: 'runc',
      rootDir: '/nonexistent',
    };
  }

  async createContainer(body: CreateContainerBody): Promise<ContainerHandle> {
    const nth = (this.calls.get('create') ?? 0) + 1;
    this.calls.set('create', nth);
    const err = this.o.fault?.({ point: 'create', nth, body });
    if (err) {
      this.events.push({ op: 'create', id: '', image: body.Image, detail: 'failed' });
      throw err;
    }
    const c = new FakeContainer(this, body, this.o.behaviour(body));
    this.events.push({ op: 'create', id: c.id, image: body.Image });
    this.containers.push(c);
    return c;
  }

  async removeContainer(id: string): Promise<void> {
    await this.containers.find((c) => c.id === id)?.remove();
  }

  async listContainers(labels: Record<string, string>): Promise<ListedObject[]> {
    return this.live()
      .filter((c) => Object.entries(labels).every(([k, v]) => c.body.Labels?.[k] === v || (v === '' && k in (c.body.Labels ?? {}))))
      .map((c) => ({ id: c.id, labels: c.body.Labels ?? {}, state: c.running ? 'running' : 'exited' }));
  }

  // images, networks and volumes are not what these tests are about
  async inspectImage(): Promise<ImageInfo | undefined> {
    return undefined;
  }
  buildImage(_req: BuildRequest): Promise<ImageInfo> {
    return unsupported('buildImage');
  }
  importImage(): Promise<ImageInfo> {
    return unsupported('importImage');
  }
  tagImage(): Promise<void> {
    return unsupported('tagImage');
  }
  removeImage(): Promise<void> {
    return unsupported('removeImage');
  }
  async listImages(): Promise<ListedObject[]> {
    return [];
  }
  async listNetworks(): Promise<ListedObject[]> {
    return [];
  }
  removeNetwork(): Promise<void> {
    return unsupported('removeNetwork');
  }
  async listVolumes(): Promise<ListedObject[]> {
    return [];
  }
  removeVolume(): Promise<void> {
    return unsupported('removeVolume');
  }
}

function unsupported(what: string): Promise<never> {
  return Promise.reject(new Error(`MemoryEngine.${what} is not implemented: the orchestration tests do not use it`));
}

function write(stream: PassThrough, text: string): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  if (stream.write(text)) return Promise.resolve();
  return new Promise((r) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      r();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

async function* lines(stream: PassThrough): AsyncGenerator<string> {
  let buf = '';
  try {
    for await (const chunk of stream) {
      buf += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        yield buf.slice(0, nl);
        buf = buf.slice(nl + 1);
      }
    }
  } catch {
    // the host destroyed stdin: the input simply ends
  }
  if (buf) yield buf;
}

function stdinLines(stream: PassThrough): AsyncIterator<string> {
  return lines(stream)[Symbol.asyncIterator]();
}
