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

/**
 * Results that go to stdout as they are (a printed ledger, a directive stream): too large
 * to hold as text, so the renderer streams them.
 */
export interface StdoutResults {
  /** Streams the results onto `out`, honouring back-pressure; stops when `signal` aborts. */
  writeTo(out: NodeJS.WritableStream, signal: AbortSignal): Promise<void>;
  /** Frees what holds the results (a staged file), whether they were written or not. */
  release?(): Promise<void>;
}

/** What a handler returns; the one renderer prints it as text or --json. Handlers never write. */
export interface CommandResult {
  /** Machine form, printed by --json. */
  data: unknown;
  /** Human form, printed otherwise. */
  text: string;
  exitCode: number;
  /**
   * `report`: the text is about results (a run's diagnostics and summary), so it goes to
   * stderr and stdout carries results only. `result` (the default): the text is the result.
   */
  textKind?: 'result' | 'report';
  /** Results for stdout, written before the text (never with --json, which owns stdout). */
  stdout?: StdoutResults;
}
