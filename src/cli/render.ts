import { SandboxctlError } from '../errors.js';
import { safeText } from '../safe-text.js';
import type { CommandResult } from './command-context.js';

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
