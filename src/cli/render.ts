import { SandboxctlError } from '../errors.js';
import type { CommandResult } from './context.js';

/** Strips terminal control sequences from text that came from outside (plugins, ledgers). */
export function safeText(s: string): string {
  // C0 controls except \n and \t, DEL, and C1 controls (which include CSI/OSC introducers).
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
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
