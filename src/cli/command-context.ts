import type { Logger } from '../logger.js';
import type { Engine } from '../engine/engine.js';

/** What every command handler gets: effects are passed in, never reached for. */
export interface CliContext {
  logger: Logger;
  /** Created lazily: commands that never touch the engine never connect. */
  engine(): Engine;
  /** Aborted on SIGINT / SIGTERM; long-running handlers stop and clean up. */
  signal: AbortSignal;
  /** Which signal aborted the run, once one has. */
  interruptedBy(): NodeJS.Signals | undefined;
  /** The repository / install root (images/, profiles/, seccomp/, plugins/ live here). */
  root: string;
  env: NodeJS.ProcessEnv;
  argv: string[];
  now(): Date;
}

/** What a handler returns; the one renderer prints it as text or --json. */
export interface CommandResult {
  /** Machine form, printed by --json. */
  data: unknown;
  /** Human form, printed otherwise. */
  text: string;
  exitCode: number;
}
