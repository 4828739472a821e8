// Compares what `sandboxctl run` produced with what Beancount produced in-process, and
// says where they first differ in a form a person can act on.
import { isDeepStrictEqual } from 'node:util';
import type { LedgerError, Outcome } from './parity-reference.js';

// Where the two runs may legitimately differ, each normalised on both sides alike:
//
// 1. A plugin that raises is reported by Beancount with a traceback whose first frame is the
//    loop that called it: in-process beancount/loader.py run_transformations, sandboxed the
//    runner's copy of that loop (sbx_runner/transform.py run_plugin). Every frame from the
//    plugin down is the same.
// 2. Beancount 2.3.5 is not deterministic from one run to the next (even in-process, run
//    twice), because some plugins iterate Python sets of strings, whose order changes with
//    the per-process hash seed:
//    - book_conversions names its trades `trade-<random uuid part>`;
//    - onecommodity and commodity_attr list a set's members in their messages, and
//      messages that show a directive (noduplicates) show its tags as a frozenset;
//    - split_expenses inserts Open directives (no source line) in set order, and
//      validation reports the errors of one directive in set order.
//    Trade names are renamed by order of first appearance, those lists and sets are sorted, and runs of
//    directives tied on Beancount's sort key with no source line, and runs of errors at the
//    same source, are compared as sets.
const LOOP_FRAME = [
  /File "[^"\n]*\/beancount\/loader\.py", line \d+, in run_transformations/g,
  /File "[^"\n]*\/sbx_runner\/transform\.py", line \d+, in run_plugin/g,
];
const SET_LISTS: Array<[RegExp, string]> = [
  [/^(More than one currency in account '[^']*': )(.*)$/, ','],
  [/^(Invalid value '[^']*' for attribute [^,]*, Commodity directive [^;]*; valid options: )(.*)$/, ', '],
];
const TRADE = /\btrade-[0-9a-f]{12}\b/g;
// tags and links hold no quote, comma or brace, so the members split on ", "
const FROZENSET = /frozenset\(\{([^{}()]*)\}\)/g;

export function normaliseMessage(message: string): string {
  let m = message;
  for (const re of LOOP_FRAME) m = m.replace(re, "File \"<Beancount's plugin loop>\"");
  for (const [re, sep] of SET_LISTS) m = m.replace(re, (_, head: string, list: string) => head + list.split(sep).sort().join(sep));
  return m.replace(FROZENSET, (_, members: string) => `frozenset({${members.split(', ').sort().join(', ')}})`);
}

/** Sorts each maximal run of consecutive items with the same `key` (null: never grouped). */
function sortRuns<T>(items: readonly T[], key: (t: T) => string | null): T[] {
  const out: T[] = [];
  let i = 0;
  while (i < items.length) {
    const k = key(items[i]!);
    let j = i + 1;
    if (k !== null) while (j < items.length && key(items[j]!) === k) j++;
    out.push(...items.slice(i, j).map((t) => [JSON.stringify(t), t] as const).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, t]) => t));
    i = j;
  }
  return out;
}

function normaliseErrors(errors: readonly LedgerError[]): LedgerError[] {
  const list = errors.map((e) => ({ message: normaliseMessage(e.message), source: e.source ?? null }));
  return sortRuns(list, (e) => (e.source ? JSON.stringify(e.source) : null));
}

function normaliseDirectives(directives: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  const names = new Map<string, string>();
  const renamed = JSON.parse(JSON.stringify(directives).replace(TRADE, (t) => names.get(t) ?? (names.set(t, `trade-#${names.size + 1}`), names.get(t)!))) as Array<Record<string, unknown>>;
  return sortRuns(renamed, (d) => {
    const meta = d.meta as { filename?: unknown; lineno?: unknown } | undefined;
    const synthetic = typeof meta?.filename === 'string' && meta.filename.startsWith('<');
    return synthetic ? JSON.stringify([d.date, d.type, meta.lineno]) : null;
  });
}

const MAX_SHOWN = 1600;

function show(v: unknown): string {
  const s = JSON.stringify(v, null, 1)?.replace(/\n\s*/g, ' ') ?? String(v);
  return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)} …(${s.length} chars)` : s;
}

/** The JSON path of the first difference between two values, e.g. `.postings[1].units.number`. */
export function firstDifference(a: unknown, b: unknown, at = ''): { path: string; left: unknown; right: unknown } | null {
  if (isDeepStrictEqual(a, b)) return null;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (i >= a.length || i >= b.length) return { path: `${at}[${i}]`, left: a[i], right: b[i] };
      const d = firstDifference(a[i], b[i], `${at}[${i}]`);
      if (d) return d;
    }
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort()) {
      if (!(k in ao) || !(k in bo)) return { path: `${at}.${k}`, left: ao[k], right: bo[k] };
      const d = firstDifference(ao[k], bo[k], `${at}.${k}`);
      if (d) return d;
    }
  }
  return { path: at || '(top)', left: a, right: b };
}

function describeList(what: string, sandboxed: readonly unknown[], reference: readonly unknown[]): string | null {
  const n = Math.min(sandboxed.length, reference.length);
  for (let i = 0; i < n; i++) {
    if (isDeepStrictEqual(sandboxed[i], reference[i])) continue;
    const d = firstDifference(sandboxed[i], reference[i])!;
    return [
      `${what}: first difference at index ${i} (of ${sandboxed.length} sandboxed, ${reference.length} in-process), at ${d.path}`,
      `  sandboxed:  ${show(d.left)}`,
      `  in-process: ${show(d.right)}`,
      `  whole sandboxed ${what.replace(/s$/, '')}:  ${show(sandboxed[i])}`,
      `  whole in-process ${what.replace(/s$/, '')}: ${show(reference[i])}`,
    ].join('\n');
  }
  if (sandboxed.length !== reference.length) {
    const longer = sandboxed.length > reference.length ? 'sandboxed' : 'in-process';
    const extra = (sandboxed.length > reference.length ? sandboxed : reference).slice(n, n + 3);
    return [
      `${what}: ${sandboxed.length} sandboxed, ${reference.length} in-process; the first ${n} agree`,
      `  next ${longer} ${what}: ${extra.map(show).join('\n    ')}`,
    ].join('\n');
  }
  return null;
}

/** null when both runs agree; otherwise what differs first, directives and errors each. */
export function compareOutcomes(sandboxed: Outcome, reference: Outcome): string | null {
  const problems = [
    describeList('directives', normaliseDirectives(sandboxed.directives), normaliseDirectives(reference.directives)),
    describeList('errors', normaliseErrors(sandboxed.errors), normaliseErrors(reference.errors)),
  ].filter((p): p is string => p !== null);
  return problems.length ? problems.join('\n') : null;
}
