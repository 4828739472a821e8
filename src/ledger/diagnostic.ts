import { safeText } from '../safe-text.js';

// A diagnostic a person can act on, printed in the ledger-error form users know:
//   error: <title>
//     --> file:line:col
//     |
//   N | <source line>
//     | ^^^^^
//     |
//     = reason: ...
// Pure: the source line's text is passed in, never read here.

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  severity: Severity;
  /** Stable machine code: refused, violation:timeout, plugin-error, ledger-error, ... */
  code: string;
  title: string;
  location?: { file: string; line: number; column?: number };
  /** The text of the source line at location.line, when the file could be read. */
  sourceLine?: string;
  /** Underline this many characters from column (default: the trimmed line). */
  span?: number;
  /** Shown as `= label: text`, in order. */
  notes: Array<{ label: string; text: string }>;
  /** Extra data for --json (plugin, limit, index...). */
  data?: Record<string, unknown>;
}

export function renderDiagnostic(d: Diagnostic): string {
  const out = [`${d.severity}: ${safeText(d.title)}`];
  const lineNo = d.location ? String(d.location.line) : '';
  const pad = ' '.repeat(Math.max(lineNo.length, 1));
  if (d.location) {
    const src = d.sourceLine === undefined ? undefined : safeText(d.sourceLine.replace(/\t/g, ' '));
    const column = d.location.column ?? (src === undefined ? 1 : firstNonSpace(src) + 1);
    out.push(`${pad} --> ${safeText(d.location.file)}:${d.location.line}:${column}`);
    if (src !== undefined) {
      const col = column - 1;
      const len = Math.max(d.span ?? src.trimEnd().length - col, 1);
      out.push(`${pad} |`, `${lineNo} | ${src}`, `${pad} | ${' '.repeat(col)}${'^'.repeat(len)}`);
    }
    out.push(`${pad} |`);
  }
  for (const n of d.notes) out.push(`${pad} = ${n.label}: ${safeText(n.text).replace(/\n/g, `\n${pad}   `)}`);
  return out.join('\n');
}

function firstNonSpace(s: string): number {
  const m = /\S/.exec(s);
  return m ? m.index : 0;
}
