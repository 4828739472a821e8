// The compiled checker against zod itself, on valid directives and on many malformed
// variants made by mutation: the same accept/refuse decision, the same output (key order
// included) and, for whole plugin messages, the same error (kind, message, details).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EXAMPLES } from '../../test/fixtures/directive-examples.js';
import { SAMPLE_DIRECTIVES } from '../../test/fixtures/run/sample-directives.js';
import { DirectiveSchema, createDirectiveSchemas } from '../ledger/directive-schema.js';
import { MessageSchemas, createMessageSchemas, type PluginMessage } from '../protocol/messages.js';
import { REJECT, compileSchema, parseFast } from './compiled-schema.js';
import { validatePluginMessage, validatePluginMessageByZod, type MessageContext } from './message.js';
import { findStructureProblem, isStructureSound } from './structure.js';
import { DEFAULT_VALUE_LIMITS, type ValueLimits } from './value-limits.js';

type Json = unknown;
type Path = Array<string | number>;

const deep = (n: number): Json => (n === 0 ? 'x' : [deep(n - 1)]);

/** Values put in place of any value: wrong types, near-misses of every token syntax, hostile strings, sizes. */
const REPLACEMENTS: Json[] = [
  null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e300, '', 'x', 'USD', 'usd', 'U', 'USD ', 'Assets:X', 'Assets', 'assets:x',
  'Assets:Bank:Checking', 'Expenses:Food', 'Revenue:Job', 'Assets:Café', 'Assets:x', 'Assets::X', '2021-02-30', '2020-02-29', '2021-02-29',
  '0000-01-01', '9999-12-31', '2024-13-01', '2024-1-01', '1.5e3', '-0', '1.', '.5', '12.50', '-12.50', '1'.repeat(101), '*', '!', 'txn', 'P',
  'a\u0000b', 'a\nb', 'a\tb', 'x\u202ey', 'x\u2028', '\ud800', '😀', 'x'.repeat(16_385), 'y'.repeat(1_025), [], ['a'], ['b', 'a'], ['a', 'a'],
  ['a', 'b'], [1], {}, { x: 1 }, JSON.parse('{"__proto__":1}'), JSON.parse('{"constructor":"x"}'), { '@decimal': '1' }, { '@decimal': '1e2' },
  { '@date': '2020-01-01' }, { '@date': '2021-02-29' }, { '@amount': { number: '1', currency: 'USD' } }, { '@tolerances': { USD: '0.5' } },
  { '@tolerances': { usd: '0.5' } }, deep(20), Array.from({ length: 1_100 }, () => 'a'), { dtype: 'str', value: 'v' }, { dtype: 'str', value: 1 },
];
const KEYS_ADDED: Array<[string, Json]> = [['extra', 1], ['__proto__', 1], ['constructor', 'x'], ['prototype', {}], ['bad\u0007key', 1], ['note', 'n'], ['__x__', true]];

function paths(v: Json, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...at, i])));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) out.push(...paths((v as Record<string, Json>)[k], [...at, k]));
  return out;
}

/** A JSON.parse'd copy: own "__proto__" keys stay own data properties, as they arrive from a plugin. */
const clone = (v: Json): Json => JSON.parse(JSON.stringify(v));

function setAt(root: Json, at: Path, f: (parent: any, key: string | number) => void): Json {
  const copy = { root: clone(root) } as any;
  let parent = copy;
  let key: string | number = 'root';
  for (const k of at) {
    parent = parent[key];
    key = k;
  }
  f(parent, key);
  return copy.root;
}

/** Every variant of `base`: each value replaced, deleted or reordered, keys added, strings and arrays bent. */
function* mutants(base: Json, replacements: Json[] = REPLACEMENTS): Generator<Json> {
  for (const at of paths(base)) {
    for (const r of replacements) yield setAt(base, at, (p, k) => (p[k] = clone(r)));
    if (at.length) yield setAt(base, at, (p, k) => (Array.isArray(p) ? p.splice(k as number, 1) : delete p[k]));
    yield setAt(base, at, (p, k) => {
      const v = p[k];
      if (typeof v === 'string') p[k] = v + ' ';
      else if (Array.isArray(v)) p[k] = [...v].reverse().concat(v.slice(0, 1));
      else if (v && typeof v === 'object') p[k] = Object.fromEntries(Object.entries(v).reverse());
    });
    yield setAt(base, at, (p, k) => {
      const v = p[k];
      if (typeof v === 'string') p[k] = v.toLowerCase();
      else if (Array.isArray(v)) p[k] = [];
    });
    for (const [key, val] of KEYS_ADDED) {
      yield setAt(base, at, (p, k) => {
        const v = p[k];
        if (v && typeof v === 'object' && !Array.isArray(v)) Object.defineProperty(v, key, { value: val, enumerable: true, writable: true, configurable: true });
      });
    }
  }
}

let accepted = 0;
let refused = 0;

function sameAsZod<T>(schema: z.ZodType<T>, v: Json): void {
  const ref = schema.safeParse(v);
  const check = compileSchema(schema)!;
  const out = check(v);
  expect(out !== REJECT, JSON.stringify(v)?.slice(0, 300)).toBe(ref.success);
  if (ref.success) {
    accepted++;
    expect(out).toStrictEqual(ref.data);
    expect(JSON.stringify(out)).toBe(JSON.stringify(ref.data));
  } else refused++;
  const fast = parseFast(schema, v);
  expect(fast.success).toBe(ref.success);
  if (!fast.success) expect(fast.error.issues).toEqual(ref.error!.issues);
}

function outcome(f: () => PluginMessage): { ok: true; value: string } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: JSON.stringify(f()) };
  } catch (err) {
    const e = err as Error & { kind?: string; details?: unknown; hint?: string };
    return { ok: false, error: { name: e.name, kind: e.kind, message: e.message, hint: e.hint, details: e.details } };
  }
}

function sameMessageOutcome(raw: Json, ctx: MessageContext): void {
  const limits = ctx.limits ?? DEFAULT_VALUE_LIMITS;
  expect(isStructureSound(raw, { limits, messagePaths: new Set(['message']) })).toBe(
    findStructureProblem(raw, { limits, messagePaths: new Set(['message']) }) === undefined,
  );
  expect(outcome(() => validatePluginMessage(raw, ctx))).toEqual(outcome(() => validatePluginMessageByZod(raw, ctx)));
}

const BASE_MESSAGES: Json[] = [
  { type: 'keep', from: 0, to: 3 },
  { type: 'delete', index: 2 },
  { type: 'error', message: 'Traceback:\n\tline 1\nboom', source: { filename: '/l.beancount', lineno: 3 }, index: null, kind: 'BalanceError' },
  { type: 'error', message: 'no kind', source: null, index: 4 },
  { type: 'done', counts: { kept: 1, modified: 2, inserted: 3, deleted: 4, errors: 5 } },
];
const ctx: MessageContext = { plugin: 'acme.test', line: 3 };
// tens of thousands of mutants, each through zod and the compiled path (slower under coverage)
const HEAVY = 120_000;

describe('compileSchema', () => {
  it('compiles every protocol schema', () => {
    expect(compileSchema(DirectiveSchema)).toBeTypeOf('function');
    expect(compileSchema(MessageSchemas.PluginMessage)).toBeTypeOf('function');
    expect(compileSchema(MessageSchemas.HostMessage)).toBeTypeOf('function');
  });

  it('accepts what zod accepts, with the same output, for every example directive', () => {
    for (const d of [...EXAMPLES, ...SAMPLE_DIRECTIVES]) sameAsZod(DirectiveSchema, clone(d));
  });

  it('decides as zod does on every mutant of every example directive', () => {
    accepted = refused = 0;
    for (const d of EXAMPLES) for (const m of mutants(d)) sameAsZod(DirectiveSchema, m);
    // both answers are exercised, not only refusals
    expect(accepted).toBeGreaterThan(1_000);
    expect(refused).toBeGreaterThan(10_000);
  }, HEAVY);

  it('decides as zod does for renamed account roots', () => {
    const schema = createDirectiveSchemas({ accountRoots: ['Assets', 'Liabilities', 'Equity', 'Revenue', 'Expenses'] }).Directive;
    for (const d of EXAMPLES) for (const m of mutants(d, ['Revenue:Job', 'Income:Job', 'Assets:X', 1])) sameAsZod(schema, m);
  }, HEAVY);

  it('returns the value itself when its keys are in the shape order, and a rebuilt copy otherwise', () => {
    const close = clone(EXAMPLES[1]) as Record<string, unknown>;
    expect(compileSchema(DirectiveSchema)!(close)).toBe(close);
    const reordered = Object.fromEntries(Object.entries(close).reverse());
    const out = compileSchema(DirectiveSchema)!(reordered);
    expect(out).not.toBe(reordered);
    expect(Object.keys(out as object)).toEqual(Object.keys(close));
  });
});

describe('compileSchema on schemas beyond the protocol\'s', () => {
  const values: Json[] = [
    undefined, null, true, 0, 1, -1, 1.5, 2 ** 60, '', 'a', 'abc', 'x'.repeat(40), '😀😀😀', [], [1, 2], ['a', 'b'], {}, { a: 1 }, { a: 'x', b: 2 },
    { b: 2, a: 'x' }, { a: 'x', b: 2, c: 3 }, { k: 'x' }, JSON.parse('{"__proto__":{"a":1}}'), { 1: 'a' },
  ];
  const supported: Array<[string, z.ZodType]> = [
    ['a stripping object', z.object({ a: z.string(), b: z.number().optional() })],
    ['unknown and any fields', z.strictObject({ a: z.unknown(), b: z.any() })],
    ['an enum', z.enum(['a', 'abc'])],
    ['exclusive bounds', z.number().gt(-1).lt(2)],
    ['a code point length cap', z.string().max(3)],
    ['a union of literals', z.union([z.literal('a'), z.literal(1)])],
    ['a record of optional values', z.record(z.string(), z.number().optional())],
    ['a superRefine', z.array(z.number()).superRefine((a, c) => (a.length > 1 ? c.addIssue({ code: 'custom', message: 'long' }) : undefined))],
    ['a refine with when', z.string().refine((s) => s !== 'a', { message: 'not a', when: () => true })],
    ['a nullable optional', z.strictObject({ a: z.string().nullable().optional() })],
    ['a preprocess', z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string())],
  ];
  for (const [what, schema] of supported) {
    it(`decides as zod does for ${what}`, () => {
      expect(compileSchema(schema)).toBeTypeOf('function');
      for (const v of values) sameAsZod(schema, v);
    });
  }

  const unsupported: Array<[string, z.ZodType]> = [
    ['a date', z.date()],
    ['a catchall', z.object({ a: z.string() }).catchall(z.number())],
    ['a defaulted field', z.strictObject({ a: z.string().default('x') })],
    ['a numeric enum', z.nativeEnum({ A: 1, B: 2 } as const)],
    ['an enumerated record', z.record(z.enum(['a', 'b']), z.number())],
    ['numeric record keys', z.record(z.number(), z.string())],
    ['a loose record', z.looseRecord(z.string().regex(/^a/), z.number())],
    ['a discriminated union with a non-string tag', z.discriminatedUnion('k', [z.strictObject({ k: z.literal(1) }), z.strictObject({ k: z.literal(2) })])],
    ['a symbol-keyed shape', z.strictObject({ [Symbol('s')]: z.string() })],
  ];
  for (const [what, schema] of unsupported) {
    it(`leaves ${what} to zod, which then decides`, () => {
      expect(compileSchema(schema)).toBeUndefined();
      for (const v of values) {
        const fast = parseFast(schema, v);
        expect(fast).toEqual(schema.safeParse(v));
      }
    });
  }

  it('leaves every schema to zod where code generation is off (EvalError)', () => {
    const real = globalThis.Function;
    // biome-ignore lint/complexity/useArrowFunction: called with new, which an arrow function refuses
    globalThis.Function = function () {
      throw new EvalError('Code generation from strings disallowed for this context');
    } as unknown as FunctionConstructor;
    const schema = z.strictObject({ a: z.string() });
    try {
      expect(compileSchema(schema)).toBeUndefined();
    } finally {
      globalThis.Function = real;
    }
    // (zod finds out for itself that it may not generate code, once per process)
    expect(parseFast(schema, { a: 'x' })).toEqual({ success: true, data: { a: 'x' } });
    expect(parseFast(schema, { a: 1 }).success).toBe(false);
  });

  it('throws for an async refinement, as zod does', () => {
    const schema = z.string().refine(async () => true);
    expect(() => schema.safeParse('a')).toThrow();
    expect(() => parseFast(schema, 'a')).toThrow(/async/);
  });
});

describe('validatePluginMessage (compiled) against validatePluginMessageByZod', () => {
  it('gives the same result or the same error for every mutant directive in modify and insert', () => {
    for (const d of EXAMPLES.slice(0, 6)) {
      for (const m of mutants(d)) {
        sameMessageOutcome({ type: 'modify', index: 1, directive: m }, ctx);
        sameMessageOutcome({ type: 'insert', directive: m }, ctx);
      }
    }
  }, HEAVY);

  it('gives the same result or the same error for every mutant of the other messages', () => {
    for (const b of BASE_MESSAGES) for (const m of mutants(b)) sameMessageOutcome(m, ctx);
    for (const m of mutants({ type: 'insert', directive: EXAMPLES[1] })) sameMessageOutcome(m, ctx);
  }, HEAVY);

  it('agrees under tight limits and per-directive size caps', () => {
    const limits: ValueLimits = { ...DEFAULT_VALUE_LIMITS, maxStringLength: 12, maxDepth: 5, maxArrayItems: 2, maxObjectKeys: 6, maxPostings: 2, maxMetaKeys: 2 };
    for (const d of EXAMPLES) {
      sameMessageOutcome({ type: 'insert', directive: clone(d) }, { ...ctx, limits });
      for (const m of mutants(d, ['x', 'Assets:A', ['a', 'b', 'c']])) sameMessageOutcome({ type: 'insert', directive: m }, { ...ctx, limits });
    }
  }, HEAVY);

  it('agrees with a schema for renamed account roots', () => {
    const schema = createMessageSchemas({ accountRoots: ['Assets', 'Liabilities', 'Equity', 'Revenue', 'Expenses'] }).PluginMessage;
    for (const m of mutants(EXAMPLES[0], ['Revenue:Job', 'Income:Job'])) sameMessageOutcome({ type: 'insert', directive: m }, { ...ctx, schema });
  }, HEAVY);
});

// A generated Beancount ledger, loaded by the runner's own loader on the host (scripts/host-beancount.sh).
const RUNNER = path.resolve('images/python-runner/runner/runner.py');
const hasBeancount = existsSync('/usr/bin/bean-example') && existsSync('/usr/bin/python3');

describe.skipIf(!hasBeancount)('a bean-example ledger', () => {
  it('every directive, and mutants of a sample of them, as zod decides', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sbx-compiled-'));
    try {
      const ledger = path.join(dir, 'ledger.beancount');
      const text = execFileSync('/usr/bin/bean-example', ['-s', '7', '--date-begin', '2015-01-01', '--date-end', '2020-01-01'], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 });
      writeFileSync(ledger, text);
      const out = execFileSync('/usr/bin/python3', [RUNNER, 'load', '--ledger', ledger], { maxBuffer: 1 << 30 }).toString('utf8');
      const directives = out.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.type === 'directive').map((m) => m.directive);
      expect(directives.length).toBeGreaterThan(2_000);
      for (const d of directives) {
        sameAsZod(DirectiveSchema, d);
        sameMessageOutcome({ type: 'modify', index: 0, directive: d }, ctx);
      }
      const small = [null, 1, 'x', '2021-02-30', '1e3', 'a\u0000', [], {}, JSON.parse('{"__proto__":{}}')];
      for (let i = 0; i < directives.length; i += Math.ceil(directives.length / 60)) {
        for (const m of mutants(directives[i], small)) sameAsZod(DirectiveSchema, m);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
