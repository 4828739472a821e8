import { describe, expect, it } from 'vitest';
import type { Engine } from '../engine/engine.js';
import { EngineUnavailableError, PolicyRefusal, StageFailedError } from '../errors.js';
import { backoffDelays, EngineWatch, isEngineFailure } from './engine-watch.js';

describe('waiting for the engine', () => {
  it('backs off, doubling to a cap, and never waits longer than allowed in all', () => {
    expect(backoffDelays(10_000)).toEqual([500, 1000, 2000, 4000, 2500]);
    expect(backoffDelays(60_000).reduce((a, b) => a + b, 0)).toBe(60_000);
    expect(Math.max(...backoffDelays(60_000))).toBe(8000);
    expect(backoffDelays(0)).toEqual([]);
  });

  it('tells the engine failing from the ledger or a plugin failing', () => {
    expect(isEngineFailure(new EngineUnavailableError('no engine'))).toBe(true);
    expect(isEngineFailure(new Error('stream cut', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) }))).toBe(true);
    expect(isEngineFailure(Object.assign(new Error('no such file'), { code: 'ENOENT', path: '/srv/books/main.beancount' }))).toBe(false);
    expect(isEngineFailure(new PolicyRefusal('p', 'strict', []))).toBe(false);
    expect(isEngineFailure(undefined)).toBe(false);
    expect(isEngineFailure(Object.assign(new Error('(HTTP code 500) server error - failed to update store'), { statusCode: 500 }))).toBe(true);
    expect(isEngineFailure(Object.assign(new Error('(HTTP code 404) no such image'), { statusCode: 404 }))).toBe(false);
    // a trusted stage whose container got SIGTERM (a stopping dockerd), not one that crashed on its own
    expect(isEngineFailure(new StageFailedError('the load stage failed (exit 143)', { details: { exitCode: 143 } }))).toBe(true);
    expect(isEngineFailure(new StageFailedError('the load stage failed (exit 1)', { details: { exitCode: 1 } }))).toBe(false);
  });

  it('does not take the answer of a ping already in flight for the engine being back', async () => {
    let answer: () => void = () => undefined;
    let calls = 0;
    const engine = {
      ping: () => {
        calls++;
        // the first ping hangs until released (it started before the engine went away); the rest fail
        return calls === 1 ? new Promise<void>((r) => (answer = r)) : Promise.reject(new EngineUnavailableError('down'));
      },
    } as unknown as Engine;
    const watch = new EngineWatch(engine, 1000, async () => undefined);
    const inFlight = watch.tick();
    expect(await watch.waitUp(1000)).toBe(false);
    answer();
    await inFlight;
  });

  it('counts each time the engine goes away, and waits until it is back', async () => {
    let up = true;
    const engine = { ping: async () => { if (!up) throw new EngineUnavailableError('down'); } } as unknown as Engine;
    const slept: number[] = [];
    const watch = new EngineWatch(engine, 1000, async (ms) => {
      slept.push(ms);
      if (slept.length === 3) up = true;
    });
    expect(await watch.tick()).toBe(true);
    up = false;
    expect(await watch.tick()).toBe(false);
    expect(await watch.tick()).toBe(false);
    expect(watch.epoch).toBe(1);
    expect(await watch.waitUp(60_000)).toBe(true);
    expect(slept).toEqual([500, 1000, 2000]);
    expect(watch.down).toBe(false);
    up = false;
    expect(await watch.waitUp(1_500)).toBe(false);
    expect(watch.epoch).toBe(2);
  });
});
