// A container that ends unexpectedly may have been ended by the engine itself: a dockerd
// that stops (live-restore off) stops every container first. Its exit status then says
// nothing about the plugin, so the run ends as "engine unavailable", not as a crash.
import type { Engine } from '../engine/engine.js';
import { EngineUnavailableError } from '../errors.js';

/**
 * Asks the engine whether it still answers, after `what` ended with `failure`. Returns the
 * error to report instead when it does not; undefined when the failure stands as it is.
 */
export async function engineLost(engine: Engine, what: string, failure: Error): Promise<EngineUnavailableError | undefined> {
  try {
    await engine.ping();
    return undefined;
  } catch (err) {
    if (!(err instanceof EngineUnavailableError)) return undefined;
    const seen = failure.message.split('\n')[0];
    return new EngineUnavailableError(`the Docker engine stopped answering while ${what} ran, so how it ended cannot be judged (seen: ${seen})`, {
      cause: err,
      hint: 'start the engine again (`bash scripts/engine-up.sh`), then run `sandboxctl gc` to remove what the run left, and run again',
      details: { seen },
    });
  }
}
