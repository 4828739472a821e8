// Plugin containers started ahead of their turn: created, attached and started while
// the loader and the plugins before them run, so a plugin's turn costs only its own
// work. The runner waits on stdin until its input comes. A container whose turn never
// comes (the chain stopped) is killed and removed by dispose(), on every path.
import type { ContainerHandle, ContainerStreams, CreateContainerBody, Engine } from '../engine/engine.js';
import type { Logger } from '../logger.js';

export interface WarmContainer {
  handle: ContainerHandle;
  /** Attached before start, as the protocol needs; nothing has been read from them. */
  streams: ContainerStreams;
  /** The exact body it was created from. */
  body: CreateContainerBody;
}

/** Creates, attaches and starts; on any failure the container is removed before rejecting. */
export async function startContainer(engine: Engine, body: CreateContainerBody): Promise<WarmContainer> {
  const handle = await engine.createContainer(body);
  try {
    const streams = await handle.attach();
    await handle.start();
    return { handle, streams, body };
  } catch (err) {
    await handle.remove().catch(() => undefined);
    throw err;
  }
}

export interface Discarded<K> {
  key: K;
  containerId: string | null;
  error?: Error;
}

export class WarmPool<K> {
  private readonly pending = new Map<K, Promise<WarmContainer>>();

  constructor(private readonly logger: Logger) {}

  start(key: K, engine: Engine, body: CreateContainerBody): void {
    const p = startContainer(engine, body);
    p.catch(() => undefined); // reported to whoever takes it, or by dispose()
    this.pending.set(key, p);
  }

  /** The container started for `key`, handed over once (its remover is then the taker). */
  take(key: K): Promise<WarmContainer> | undefined {
    const p = this.pending.get(key);
    this.pending.delete(key);
    return p;
  }

  /** Kills and removes every container nobody took; returns what was discarded. */
  async dispose(): Promise<Array<Discarded<K>>> {
    const left = [...this.pending];
    this.pending.clear();
    return Promise.all(
      left.map(async ([key, p]): Promise<Discarded<K>> => {
        let w: WarmContainer;
        try {
          w = await p;
        } catch (err) {
          return { key, containerId: null, error: err as Error };
        }
        for (const s of [w.streams.stdin, w.streams.stdout, w.streams.stderr]) (s as unknown as { destroy(): void }).destroy();
        await w.handle.kill('SIGKILL').catch(() => undefined);
        try {
          await w.handle.remove();
        } catch (err) {
          this.logger.error({ err, containerId: w.handle.id.slice(0, 12) }, 'could not remove a container started ahead; `sandboxctl gc` will');
        }
        return { key, containerId: w.handle.id };
      }),
    );
  }
}
