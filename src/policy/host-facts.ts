// Host facts for policy, from the engine when one answers. Without one, planning still
// works on stated assumptions (the tighter ones: no AppArmor, no gVisor).
import type { Engine } from '../engine/engine.js';
import { EngineUnavailableError } from '../errors.js';
import type { HostFacts } from './grant.js';

export const ASSUMED_HOST: HostFacts = Object.freeze({ apparmor: false, runtimes: ['runc'] }) as HostFacts;

export interface KnownHostFacts {
  facts: HostFacts;
  source: 'engine' | 'assumed';
  /** Why the facts are assumed. */
  reason?: string;
}

export async function hostFacts(engine: Engine): Promise<KnownHostFacts> {
  try {
    const info = await engine.info();
    return { facts: { apparmor: info.apparmor, runtimes: [...info.runtimes].sort() }, source: 'engine' };
  } catch (err) {
    if (!(err instanceof EngineUnavailableError)) throw err;
    return { facts: { ...ASSUMED_HOST, runtimes: [...ASSUMED_HOST.runtimes] }, source: 'assumed', reason: `${err.message}; assumed no AppArmor and runc only` };
  }
}
