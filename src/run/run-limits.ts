// Limits on one plugin execution, enforced while its output arrives.
import { DEFAULT_VALUE_LIMITS, type ValueLimits } from '../validate/value-limits.js';

export interface RunLimits {
  /** Wall-clock time from container start to exit. */
  timeoutMs: number;
  /** Longest output line, bytes. @default 1 MiB */
  maxLineBytes: number;
  /** Total bytes the plugin may write to stdout. @default 64 MiB */
  maxOutputBytes: number;
  /** Most result messages (keep, modify, insert, delete). */
  maxResults: number;
  /** Most error messages. @default 10000 */
  maxErrors: number;
  /** stderr kept for people and the audit (head and tail); the rest is counted, not kept. @default 64 KiB */
  maxStderrBytes: number;
  /** Per-message size caps (strings, postings, metadata keys). */
  values: ValueLimits;
}

export const DEFAULT_RUN_LIMITS: Readonly<Omit<RunLimits, 'timeoutMs' | 'maxResults'>> = Object.freeze({
  maxLineBytes: 1024 * 1024,
  maxOutputBytes: 64 * 1024 * 1024,
  maxErrors: 10_000,
  maxStderrBytes: 64 * 1024,
  values: DEFAULT_VALUE_LIMITS,
});

/** A result cap that scales with the input: room for one message per input plus inserts. */
export function defaultMaxResults(inputCount: number): number {
  return 2 * inputCount + 10_000;
}

export function runLimits(partial: Partial<RunLimits> & { timeoutMs: number }, inputCount: number): RunLimits {
  return { ...DEFAULT_RUN_LIMITS, maxResults: defaultMaxResults(inputCount), ...partial };
}
