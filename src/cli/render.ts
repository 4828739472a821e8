// The one place that writes what a command produced: results on stdout, text for people
// (or --json) where it belongs, errors on stderr.
import { SandboxctlError } from '../errors.js';
import { safeText } from '../safe-text.js';
import type { CommandResult } from './command-context.js';

export interface Outputs {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Writes a handler's result: streamed results first, then the text (or --json data). */
export async function emitResult(result: CommandResult, json: boolean, io: Outputs, signal: AbortSignal): Promise<void> {
  try {
    if (result.stdout) await result.stdout.writeTo(io.stdout, signal);
  } finally {
    await result.stdout?.release?.();
  }
  // stdout carries results only: a report about them goes to stderr unless --json asked for it on stdout
  const textOut = result.textKind === 'report' || result.stdout ? io.stderr : io.stdout;
  printResult(result, json, json ? io.stdout : textOut);
}

export function printResult(result: CommandResult, json: boolean, out: NodeJS.WritableStream = process.stdout): void {
  if (json) out.write(JSON.stringify(result.data, null, 2) + '\n');
  else if (result.text) out.write(result.text.endsWith('\n') ? result.text : result.text + '\n');
}

export function renderError(err: unknown, json: boolean): string {
  if (err instanceof SandboxctlError) {
    if (json) return JSON.stringify({ error: err.toJSON() }, null, 2);
    const lines = [`error: ${safeText(err.message)}`];
    if (err.hint) lines.push(`  = hint: ${safeText(err.hint)}`);
    let cause = err.cause;
    while (cause instanceof Error) {
      lines.push(`  = cause: ${safeText(cause.message)}`);
      cause = cause.cause;
    }
    return lines.join('\n');
  }
  const e = err instanceof Error ? err : new Error(String(err));
  if (json) return JSON.stringify({ error: { code: 'internal', message: e.message } }, null, 2);
  return `error: internal: ${safeText(e.stack ?? e.message)}`;
}
