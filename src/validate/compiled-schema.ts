// A zod schema turned into one plain function per node, for the hot path: every directive
// the loader or a plugin sends is checked, and zod's general machinery (payload objects,
// issue lists, check loops) costs more than the checks themselves. The function answers
// only "accepted, with this output" or "not accepted"; a refusal is explained by zod
// itself (parseFast), so what a person reads is what zod says.
//
// The zod schema stays the definition: the compiler reads its nodes and calls the
// schema's own refinements, transforms and checks (regexes, comparisons and sure passes of
// length caps are inlined, with zod's rule). Node kinds it does not know make it refuse
// to compile, and callers then use zod alone. The output is what zod's would be: a value
// whose object keys are already in shape order is returned as it is (zod would return an
// equal copy), anything else is rebuilt as zod builds it (unknown keys dropped or refused).
// Values are expected to come from JSON.parse (plain objects, arrays, primitives).
import type { z } from 'zod';

/** What a compiled node returns for a value it does not accept. */
export const REJECT: unique symbol = Symbol('rejected');
type Reject = typeof REJECT;
type Node = (v: unknown) => unknown;

export type CompiledSchema<T> = (value: unknown) => T | Reject;

export class UnsupportedSchemaError extends Error {}

// zod's internals, as far as this module reads them (zod/v4/core)
interface Internals {
  def: Def;
  run(payload: Payload, ctx: object): Payload | Promise<Payload>;
  check?(payload: Payload): unknown;
  propValues?: Record<string, Set<unknown>>;
  optin?: string;
  optout?: string;
}
interface Def {
  type: string;
  checks?: Array<{ _zod: Internals }>;
  [key: string]: unknown;
}
interface Payload {
  value: unknown;
  issues: unknown[];
}
type AnySchema = { _zod: Internals };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** zod's isPlainObject (zod/v4/core/util.js), which records require. */
function isPlainObject(o: unknown): o is Record<string, unknown> {
  if (!isObject(o)) return false;
  const ctor = (o as { constructor?: unknown }).constructor;
  if (ctor === undefined || typeof ctor !== 'function') return true;
  const prot: unknown = (ctor as { prototype?: unknown }).prototype;
  if (!isObject(prot)) return false;
  return Object.hasOwn(prot, 'isPrototypeOf');
}

/** The payload a transform's function sees in zod: the value, its issues, and addIssue. */
class TransformPayload {
  readonly issues: unknown[] = [];
  constructor(public value: unknown) {}
  addIssue(issue: unknown): void {
    this.issues.push(issue);
  }
}

/** One zod check as a predicate on the parsed value, run as zod runs it (its `when` first). */
function compileCheck(ch: { _zod: Internals }): (v: unknown) => boolean {
  const z = ch._zod;
  const def = z.def as Def & { when?: (p: Payload) => boolean };
  if (!z.check) throw new UnsupportedSchemaError(`a check without a function (${String(def.check)})`);
  return (v) => {
    const payload: Payload = { value: v, issues: [] };
    if (def.when && !def.when(payload)) return true;
    const r = z.check!(payload);
    if (r instanceof Promise) throw new UnsupportedSchemaError('an async check cannot run synchronously');
    return payload.issues.length === 0;
  };
}

/**
 * Writes one JavaScript function per schema node, calling each other directly, so the
 * engine can inline a directive's whole check. Constants (regexes, sets, the schema's own
 * functions) are passed in, never written into the source: no input ever reaches it.
 */
class CodeGen {
  private readonly ids = new Map<AnySchema, number>();
  private readonly fns: string[] = [];
  private readonly consts: unknown[] = [];

  constructor() {
    this.consts.push(REJECT, TransformPayload, isPlainObject, UnsupportedSchemaError);
  }

  compile(root: AnySchema): Node {
    const rootId = this.node(root);
    const src = `"use strict";\nconst R = K[0], TP = K[1], isPlainObject = K[2], Unsupported = K[3];\n${this.consts.map((_, i) => (i > 3 ? `const k${i} = K[${i}];` : '')).join('\n')}\n${this.fns.join('\n')}\nreturn f${rootId};`;
    return new Function('K', src)(this.consts) as Node;
  }

  private k(value: unknown): string {
    this.consts.push(value);
    return `k${this.consts.length - 1}`;
  }

  /** The id of the node's function, written on first use (recursion-safe: the id exists before the body). */
  private node(s: AnySchema): number {
    let id = this.ids.get(s);
    if (id !== undefined) return id;
    id = this.ids.size;
    this.ids.set(s, id);
    const checks = (s._zod.def.checks ?? []).map((ch) => this.check(ch));
    const body = this.base(s, id);
    if (checks.length === 0) {
      this.fns.push(`function f${id}(v) {\n${body}\n}`);
    } else {
      this.fns.push(`function b${id}(v) {\n${body}\n}\nfunction f${id}(v) {\nconst o = b${id}(v);\nif (o === R) return R;\n${checks.join('\n')}\nreturn o;\n}`);
    }
    return id;
  }

  /** A check on the parsed value `o`: a statement that returns R when it fails. */
  private check(ch: { _zod: Internals }): string {
    const z = ch._zod;
    const def = z.def as Def & { check?: string; format?: string; pattern?: RegExp; maximum?: number; value?: unknown; inclusive?: boolean; when?: unknown; fn?: unknown };
    const generic = () => `if (!${this.k(compileCheck(ch))}(o)) return R;`;
    // a length cap or an integer check that surely passes is not run; otherwise zod's own check
    // decides (its `when` included)
    if (def.check === 'max_length' && typeof def.maximum === 'number') {
      // zod counts code points: within the cap in UTF-16 units is surely within it
      return `if (o.length > ${def.maximum} && !${this.k(compileCheck(ch))}(o)) return R;`;
    }
    if (def.check === 'number_format' && def.format === 'safeint') {
      // a safe integer passes zod's int and safeint checks alike
      return `if (!Number.isSafeInteger(o) && !${this.k(compileCheck(ch))}(o)) return R;`;
    }
    // the inlined forms below assume the check always runs
    if (def.when) return generic();
    switch (def.check) {
      case 'string_format':
        if (def.format === 'regex' && def.pattern instanceof RegExp) {
          const re = this.k(def.pattern);
          return `${re}.lastIndex = 0;\nif (!${re}.test(o)) return R;`;
        }
        return generic();
      case 'greater_than':
      case 'less_than': {
        if (typeof def.value !== 'number') return generic();
        const op = def.check === 'greater_than' ? (def.inclusive ? '>=' : '>') : def.inclusive ? '<=' : '<';
        return `if (!(o ${op} ${this.k(def.value)})) return R;`;
      }
      case 'describe':
      case 'meta':
        return '';
      case 'custom':
        if (def.type === 'custom' && typeof def.fn === 'function') {
          // a refine: zod's $ZodCustom adds an issue when the function's result is falsy
          return `{\nconst r = ${this.k(def.fn)}(o);\nif (r !== true) {\nif (!r) return R;\nif (r instanceof Promise) throw new Unsupported('an async refinement cannot run synchronously');\n}\n}`;
        }
        return generic();
      default:
        return generic();
    }
  }

  private base(s: AnySchema, id: number): string {
    const def = s._zod.def;
    switch (def.type) {
      case 'string':
        return `return typeof v === 'string' ? v : R;`;
      case 'number':
        // zod refuses NaN and the infinities before any check
        return `return typeof v === 'number' && Number.isFinite(v) ? v : R;`;
      case 'boolean':
        return `return typeof v === 'boolean' ? v : R;`;
      case 'null':
        return `return v === null ? v : R;`;
      case 'unknown':
      case 'any':
        return `return v;`;
      case 'literal':
        return `return ${this.k(new Set(def.values as unknown[]))}.has(v) ? v : R;`;
      case 'enum': {
        const values = Object.values(def.entries as Record<string, unknown>);
        if (values.some((x) => typeof x !== 'string')) throw new UnsupportedSchemaError('a numeric enum');
        return `return ${this.k(new Set(values))}.has(v) ? v : R;`;
      }
      case 'nullable':
        return `if (v === null) return null;\nreturn f${this.node(def.innerType as AnySchema)}(v);`;
      case 'optional':
        return `if (v === undefined) return undefined;\nreturn f${this.node(def.innerType as AnySchema)}(v);`;
      case 'pipe':
        return `const m = f${this.node(def.in as AnySchema)}(v);\nif (m === R) return R;\nreturn f${this.node(def.out as AnySchema)}(m);`;
      case 'transform': {
        if (typeof def.transform !== 'function') throw new UnsupportedSchemaError('a transform without a function');
        // what zod gives a transform's function: the value, and a payload it may add issues to
        return `const p = new TP(v);\nconst o = ${this.k(def.transform)}(v, p);\nif (o instanceof Promise) throw new Unsupported('an async transform cannot run synchronously');\nreturn p.issues.length ? R : o;`;
      }
      case 'array': {
        const el = this.node(def.element as AnySchema);
        return `if (!Array.isArray(v)) return R;\nlet out;\nfor (let i = 0; i < v.length; i++) {\nconst e = v[i];\nconst x = f${el}(e);\nif (x === R) return R;\nif (out !== undefined) out[i] = x;\nelse if (x !== e) { out = v.slice(0, i); out[i] = x; }\n}\nreturn out === undefined ? v : out;`;
      }
      case 'object':
        return this.object(def, id);
      case 'record':
        return this.record(def);
      case 'union':
        return typeof def.discriminator === 'string' ? this.discriminated(def) : this.union(def);
      default:
        throw new UnsupportedSchemaError(`zod type "${def.type}" is not compiled`);
    }
  }

  private object(def: Def, id: number): string {
    const shape = def.shape as Record<string, AnySchema>;
    if (Object.getOwnPropertySymbols(shape).length) throw new UnsupportedSchemaError('symbol keys in a shape');
    const catchall = def.catchall as AnySchema | undefined;
    const strict = catchall?._zod.def.type === 'never';
    if (catchall && !strict) throw new UnsupportedSchemaError('an object with a catchall schema');
    const keys = Object.keys(shape);
    if (keys.includes('__proto__')) throw new UnsupportedSchemaError('a "__proto__" field');
    const fields = keys.map((key) => {
      const z = shape[key]!._zod;
      if (z.optin === 'defaulted') throw new UnsupportedSchemaError(`a defaulted field (${key})`);
      // an absent optional field contributes nothing, as in zod; any other absent field is
      // refused here (zod may still accept one whose schema makes something of undefined)
      return { key, fn: `f${this.node(shape[key]!)}`, optional: z.optin === 'optional' && z.optout === 'optional' };
    });
    const hasOptional = fields.some((f) => f.optional);
    const K = this.k(keys);
    const OPT = this.k(fields.map((f) => f.optional));
    const SET = this.k(new Set(keys));
    const lines = [`if (typeof v !== 'object' || v === null || Array.isArray(v)) return R;`, `let c = false, p = 0, x, e;`];
    for (const f of fields) {
      const key = JSON.stringify(f.key);
      lines.push(
        `if (${key} in v) {\ne = v[${key}];\nx = ${f.fn}(e);\nif (x === R) return R;\nif (x !== e) c = true;\np++;\n}` + (f.optional ? '' : ' else return R;'),
      );
    }
    // the value itself is the output when its keys are the shape's, in the shape's order (zod
    // builds a new object in that order); anything else is rebuilt as zod builds it
    lines.push(
      `let j = 0, m = 0;`,
      `for (const k in v) {`,
      hasOptional ? `while (j < ${keys.length} && ${OPT}[j] && !(${K}[j] in v)) j++;` : '',
      `if (j < ${keys.length} && k === ${K}[j]) { j++; m++; continue; }`,
      strict ? `if (!${SET}.has(k)) return R;` : '',
      `c = true;`,
      `}`,
      `if (!c && m === p) return v;`,
      `const out = {};`,
      ...fields.map((f) => `if (${JSON.stringify(f.key)} in v) out[${JSON.stringify(f.key)}] = ${f.fn}(v[${JSON.stringify(f.key)}]);`),
      `return out;`,
    );
    void id;
    return lines.filter(Boolean).join('\n');
  }

  private record(def: Def): string {
    const keyType = def.keyType as AnySchema;
    if (keyType._zod.def.type === 'enum' || keyType._zod.def.type === 'literal' || (keyType._zod as { values?: unknown }).values) {
      throw new UnsupportedSchemaError('a record with an enumerated key set');
    }
    if (def.mode === 'loose') throw new UnsupportedSchemaError('a loose record');
    if (acceptsNumbers(keyType)) throw new UnsupportedSchemaError('a record whose keys may be numbers');
    const fk = `f${this.node(keyType)}`;
    const fv = `f${this.node(def.valueType as AnySchema)}`;
    // own enumerable string keys in Reflect.ownKeys order, as zod walks them; a symbol key fails a string key schema
    return [
      `if (!isPlainObject(v)) return R;`,
      `const ks = Object.keys(v);`,
      `if (Object.getOwnPropertySymbols(v).length) return R;`,
      `let c = false;`,
      `for (let i = 0; i < ks.length; i++) {`,
      `const key = ks[i];`,
      `if (key === '__proto__') { c = true; continue; }`,
      `const k = ${fk}(key);`,
      `if (k === R) return R;`,
      `const e = v[key];`,
      `const x = ${fv}(e);`,
      `if (x === R) return R;`,
      `if (k !== key || x !== e) c = true;`,
      `}`,
      `if (!c) return v;`,
      `const out = {};`,
      `for (const key of ks) {`,
      `if (key === '__proto__') continue;`,
      `const k = ${fk}(key);`,
      `if (k !== '__proto__') out[k] = ${fv}(v[key]);`,
      `}`,
      `return out;`,
    ].join('\n');
  }

  private union(def: Def): string {
    // zod returns the first option that succeeds, in order
    const opts = (def.options as AnySchema[]).map((o) => this.node(o));
    return `let x;\n${opts.map((o) => `x = f${o}(v);\nif (x !== R) return x;`).join('\n')}\nreturn R;`;
  }

  private discriminated(def: Def): string {
    const disc = def.discriminator as string;
    if (def.unionFallback) throw new UnsupportedSchemaError('a discriminated union with a fallback');
    const byValue = new Map<unknown, number>();
    for (const o of def.options as AnySchema[]) {
      const pv = o._zod.propValues?.[disc];
      if (!pv) throw new UnsupportedSchemaError(`a discriminated union option without a "${disc}" value`);
      const id = this.node(o);
      for (const value of pv) {
        if (byValue.has(value) || typeof value !== 'string') throw new UnsupportedSchemaError(`discriminator value ${String(value)}`);
        byValue.set(value, id);
      }
    }
    const cases = [...byValue].map(([value, id]) => `case ${JSON.stringify(value)}: return f${id}(v);`);
    return `if (typeof v !== 'object' || v === null || Array.isArray(v)) return R;\nswitch (v[${JSON.stringify(disc)}]) {\n${cases.join('\n')}\ndefault: return R;\n}`;
  }
}

/** True when the key schema could accept a number (zod retries numeric-looking record keys as numbers). */
function acceptsNumbers(s: AnySchema): boolean {
  const def = s._zod.def;
  switch (def.type) {
    case 'string':
      return false;
    case 'literal':
      return (def.values as unknown[]).some((x) => typeof x !== 'string');
    case 'union':
      return (def.options as AnySchema[]).some(acceptsNumbers);
    case 'pipe':
      return acceptsNumbers(def.in as AnySchema);
    default:
      return true;
  }
}

const compiled = new WeakMap<object, Node | null>();

/** The schema's compiled checker, made once per schema object; undefined when it cannot be compiled. */
export function compileSchema<T>(schema: z.ZodType<T>): CompiledSchema<T> | undefined {
  let n = compiled.get(schema);
  if (n === undefined) {
    try {
      n = new CodeGen().compile(schema as unknown as AnySchema);
    } catch (err) {
      // EvalError: code generation is off (node --disallow-code-generation-from-strings); zod checks alone
      if (!(err instanceof UnsupportedSchemaError) && !(err instanceof EvalError)) throw err;
      n = null;
    }
    compiled.set(schema, n);
  }
  return (n ?? undefined) as CompiledSchema<T> | undefined;
}

/** schema.safeParse(value), with the compiled checker answering when it accepts. */
export function parseFast<T>(schema: z.ZodType<T>, value: unknown): z.ZodSafeParseResult<T> {
  const check = compileSchema(schema);
  if (check) {
    const out = check(value);
    if (out !== REJECT) return { success: true, data: out } as z.ZodSafeParseResult<T>;
  }
  // refused (or not compiled): zod decides again and says why
  return schema.safeParse(value);
}
