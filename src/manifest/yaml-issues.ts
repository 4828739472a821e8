// Turns YAML and zod problems into FieldIssues that name the field, the line, what was
// expected and what was found. Shared by manifests and admin profiles. Pure.
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { describeFound, InvalidInputError, type FieldIssue } from '../errors.js';

export interface ParsedYaml {
  doc: Document;
  lines: LineCounter;
  value: unknown;
}

/** Parses YAML text; syntax errors (duplicate keys included) come back as issues with line:col. */
export function parseYaml(text: string): { ok: true; parsed: ParsedYaml } | { ok: false; issues: FieldIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { path: '', expected: 'valid YAML', found: e.code, message: `line ${pos.line}:${pos.col}: ${e.message.split('\n')[0]}` };
      }),
    };
  }
  return { ok: true, parsed: { doc, lines, value: doc.toJS({ maxAliasCount: 100 }) } };
}

function lineOf(parsed: ParsedYaml, path: readonly PropertyKey[], key?: string): number | undefined {
  const keys = path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let node: unknown = keys.length === 0 ? parsed.doc.contents : parsed.doc.getIn(keys, true);
  // walk up to the nearest node that exists (a missing field: report its parent mapping)
  for (let n = keys.length; node === undefined && n > 0; n--) node = parsed.doc.getIn(keys.slice(0, n - 1), true);
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && p.key.value === key);
    if (pair && isScalar(pair.key) && pair.key.range) return parsed.lines.linePos(pair.key.range[0]).line;
  }
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  return range ? parsed.lines.linePos(range[0]).line : undefined;
}

function expectedOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}`;
    case 'too_small':
      return `${issue.origin === 'array' ? 'at least' : '>='} ${String(issue.minimum)}${issue.origin === 'array' ? ' items' : ''}`;
    case 'too_big':
      return `${issue.origin === 'array' ? 'at most' : '<='} ${String(issue.maximum)}${issue.origin === 'array' ? ' items' : ''}`;
    case 'unrecognized_keys':
      return 'only the documented keys';
    default:
      return issue.message;
  }
}

/** One FieldIssue per zod issue (unknown keys: one per key), with the YAML line when known, in file order. */
export function zodToFieldIssues(issues: readonly z.core.$ZodIssue[], parsed?: ParsedYaml): FieldIssue[] {
  const out: Array<FieldIssue & { line: number }> = [];
  for (const issue of issues) {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const line = parsed ? lineOf(parsed, issue.path, key) : undefined;
        out.push({
          path: [...base, key].join('.'),
          expected: 'only the documented keys',
          found: `unknown key ${JSON.stringify(key)}`,
          message: `${line ? `line ${line}: ` : ''}unknown key ${JSON.stringify(key)} (check its spelling and nesting)`,
          line: line ?? 0,
        });
      }
      continue;
    }
    const line = parsed ? lineOf(parsed, issue.path) : undefined;
    // a schema's own "expected ..." message is more precise than the generic one
    const own = issue.message.startsWith('expected ') ? issue.message.slice('expected '.length) : undefined;
    const expected = own ?? expectedOf(issue);
    const found = describeFound((issue as { input?: unknown }).input);
    // custom and format errors already say what they expected; the others get a uniform sentence
    const what =
      own === undefined && (issue.code === 'custom' || issue.code === 'invalid_format' || issue.code === 'invalid_union')
        ? `${issue.message}, found ${found}`
        : `expected ${expected}, found ${found}`;
    out.push({ path: base.join('.'), expected, found, message: `${line ? `line ${line}: ` : ''}${what}`, line: line ?? 0 });
  }
  // in file order, as a reader fixes them (sort is stable: same line keeps zod's order)
  return out.sort((a, b) => a.line - b.line).map(({ line: _line, ...issue }) => issue);
}

/** YAML text checked against a schema: the value, or an InvalidInputError naming each bad field and its line. */
export function parseYamlWith<S extends z.ZodType>(schema: S, text: string, file: string, hint: string): z.output<S> {
  const y = parseYaml(text);
  if (!y.ok) throw new InvalidInputError(file, y.issues, { hint: 'fix the YAML syntax at the line shown' });
  const r = schema.safeParse(y.parsed.value ?? {}, { reportInput: true });
  if (!r.success) throw new InvalidInputError(file, zodToFieldIssues(r.error.issues, y.parsed), { hint, cause: r.error });
  return r.data;
}
