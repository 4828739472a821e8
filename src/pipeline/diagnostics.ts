// Every problem a ledger run reports, as data (--json) and as the ledger-error form
// people read. Pure: source lines are looked up by the caller.
import { PolicyRefusal, SandboxViolation, type SandboxctlError } from '../errors.js';
import type { Diagnostic } from '../ledger/diagnostic.js';
import type { Directive } from '../ledger/directive-schema.js';
import type { PluginLine, StageError } from './load-ledger.js';

export interface RunError extends Diagnostic {
  /** Beancount's own message (ledger, plugin and validation errors), verbatim. */
  message: string;
  /** Beancount's source for the error, as a host path. */
  source: { filename: string; lineno: number } | null;
  plugin: string | null;
}

function at(source: { filename: string; lineno: number } | null): Diagnostic['location'] {
  if (!source || source.lineno <= 0 || source.filename.startsWith('<')) return undefined;
  return { file: source.filename, line: source.lineno };
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : `${s.slice(0, i)} …`;
}

/** An error Beancount itself reported while loading, booking or validating. */
export function ledgerError(e: StageError): RunError {
  const rest = e.message.includes('\n') ? [{ label: 'detail', text: e.message }] : [];
  return {
    severity: 'error',
    code: 'ledger-error',
    title: firstLine(e.message),
    location: at(e.source),
    notes: [...(e.kind ? [{ label: 'kind', text: e.kind }] : []), ...rest],
    message: e.message,
    source: e.source,
    plugin: null,
  };
}

/** An error a plugin reported; it points at the directive's own line when it names one. */
export function pluginError(
  e: { message: string; source: { filename: string; lineno: number } | null; index: number | null; plugin: string; input: readonly Directive[] },
): RunError {
  let loc = at(e.source);
  if (!loc && e.index !== null) {
    const meta = e.input[e.index]?.meta as { filename?: unknown; lineno?: unknown } | undefined;
    if (typeof meta?.filename === 'string' && typeof meta.lineno === 'number') loc = at({ filename: meta.filename, lineno: meta.lineno });
  }
  return {
    severity: 'error',
    code: 'plugin-error',
    title: firstLine(e.message),
    location: loc,
    notes: [{ label: 'plugin', text: e.plugin }, ...(e.message.includes('\n') ? [{ label: 'detail', text: e.message }] : [])],
    message: e.message,
    source: e.source,
    plugin: e.plugin,
  };
}

function lineOf(line: PluginLine | undefined): { filename: string; lineno: number } | null {
  return line?.filename && line.lineno ? { filename: line.filename, lineno: line.lineno } : null;
}

/** A plugin refused by policy, or stopped by the sandbox, at its `plugin` line. */
export function sandboxError(err: SandboxctlError, plugin: string, line: PluginLine | undefined, stderrTail?: string): RunError {
  const source = lineOf(line);
  const base = { severity: 'error' as const, location: at(source), source, plugin, message: err.message };
  if (err instanceof PolicyRefusal) {
    return {
      ...base,
      code: 'refused',
      title: 'Plugin execution blocked by sandbox',
      notes: [
        ...err.denials.map((d) => ({ label: 'reason', text: `${d.capability}: asks for ${d.requested}, ${d.reason} (allowed: ${d.allowed})` })),
        { label: 'profile', text: String(err.details.profile ?? '') },
        { label: 'hint', text: err.hint ?? 'ask an admin for a profile that grants this, or use a plugin that asks for less' },
      ],
      data: { denials: err.denials },
    };
  }
  if (err instanceof SandboxViolation) {
    return {
      ...base,
      code: `violation:${err.kind}`,
      title: `Plugin stopped by sandbox: ${VIOLATION_TITLE[err.kind] ?? err.kind}`,
      notes: [
        { label: 'reason', text: err.message },
        ...(stderrTail && !err.message.includes(stderrTail) ? [{ label: 'plugin stderr (last lines)', text: stderrTail }] : []),
        ...(err.hint ? [{ label: 'hint', text: err.hint }] : []),
      ],
      data: { kind: err.kind, ...err.details },
    };
  }
  return {
    ...base,
    code: err.code,
    title: `Plugin could not run: ${firstLine(err.message)}`,
    notes: [{ label: 'reason', text: err.message }, ...(err.hint ? [{ label: 'hint', text: err.hint }] : [])],
  };
}

const VIOLATION_TITLE: Record<string, string> = {
  timeout: 'time limit exceeded',
  memory: 'memory limit exceeded (killed)',
  'output-size': 'too much output',
  'line-size': 'an output line too long',
  'result-count': 'too many results',
  'error-count': 'too many errors',
  protocol: 'protocol broken',
  'invalid-output': 'invalid output',
  effect: 'effect not granted',
  crash: 'plugin crashed',
  'early-exit': 'plugin exited before finishing',
  'bundle-changed': 'bundle changed since it was checked',
  'image-mismatch': 'image differs from the pinned one',
};
