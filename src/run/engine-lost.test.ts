import { describe, expect, it } from 'vitest';
import type { Engine } from '../engine/engine.js';
import { EngineUnavailableError, SandboxViolation } from '../errors.js';
import { engineLost } from './engine-lost.js';

const crash = new SandboxViolation('crash', 'plugin p crashed: it exited with code 143 (killed by SIGTERM)\n--- plugin stderr ---');
const engine = (ping: () => Promise<void>) => ({ ping }) as unknown as Engine;

describe('engineLost: a failure seen while the engine went away', () => {
  it('is the engine being unavailable when the engine no longer answers', async () => {
    const gone = new EngineUnavailableError('no Docker engine answers (ping)');
    const err = await engineLost(engine(() => Promise.reject(gone)), 'plugin p', crash);
    expect(err).toBeInstanceOf(EngineUnavailableError);
    expect(err!.exitCode).toBe(5);
    expect(err!.message).toBe('the Docker engine stopped answering while plugin p ran, so how it ended cannot be judged (seen: plugin p crashed: it exited with code 143 (killed by SIGTERM))');
    expect(err!.cause).toBe(gone);
    expect(err!.hint).toMatch(/engine-up\.sh.*sandboxctl gc/);
  });

  it('leaves the failure as it is while the engine answers, or fails for another reason', async () => {
    expect(await engineLost(engine(() => Promise.resolve()), 'plugin p', crash)).toBeUndefined();
    expect(await engineLost(engine(() => Promise.reject(new Error('HTTP 500'))), 'plugin p', crash)).toBeUndefined();
  });
});
