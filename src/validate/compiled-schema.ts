// A zod schema turned into one plain function per node, for the hot path: every directive
// the loader or a plugin sends is checked, and zod's general machinery (payload objects,
// issue lists, check loops) costs more than the checks themselves. The function answers
// only "accepted, with this output" or "not accepted"; a refusal is explained by zod
// itself (parseFast), so what a person reads is what zod says.
//
// The zod schema stays the definition: the compiler reads its nodes and calls the
// schema's own refinements, transforms and checks (only regexes and length caps are
// inlined, with the same rule). Node kinds it does not know make it refuse to compile,
// and callers then use zod alone. The output is built as zod builds it (object keys in
// shape order, unknown keys refused or dropped, records and arrays copied).
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

const CTX = Object.freeze({ async: false });

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
  return Object.prototype.hasOwnProperty.call(prot, 'isPrototypeOf');
}

/** The payload a transform's function sees in zod: the value, its issues, and addIssue. */
class TransformPayload {
  readonly issues: unknown[] = [];
  constructor(public value: unknown) {}
  addIssue(issue: unknown): void {
    this.issues.push(issue);
  }
}

/** Runs a zod schema exactly as zod does: the fallback for nodes not worth inlining. */
function viaZod(s: AnySchema): Node {
  return (v) => {
    const r = s._zod.run({ value: v, issues: [] }, CTX);
    if (r instanceof Promise) throw new UnsupportedSchemaError('an async schema cannot be checked synchronously');
    return r.issues.length ? REJECT : r.value;
  };
}

/** One zod check as a predicate on the parsed value; regexes and length caps inlined. */
function compileCheck(ch: { _zod: Internals }): (v: unknown) => boolean {
  const z = ch._zod;
  const def = z.def as Def & { check?: string; format?: string; pattern?: RegExp; maximum?: number; when?: (p: Payload) => boolean };
  const generic = (v: unknown): boolean => {
    const payload: Payload = { value: v, issues: [] };
    if (def.when && !def.when(payload)) return true;
    const r = z.check!(payload);
    if (r instanceof Promise) throw new UnsupportedSchemaError('an async check cannot run synchronously');
    return payload.issues.length === 0;
  };
  if (def.check === 'string_format' && def.format === 'regex' && def.pattern instanceof RegExp && !def.when) {
    const re = def.pattern;
    return (v) => {
      re.lastIndex = 0;
      return re.test(v as string);
    };
  }
  if (def.check === 'max_length' && typeof def.maximum === 'number') {
    // zod counts code points: a string within the cap in UTF-16 units is surely within it
    const max = def.maximum;
    return (v) => (v as { length: number }).length <= max || generic(v);
  }
  if (def.check === 'describe' || def.check === 'meta') return () => true;
  const fn = (def as { fn?: unknown }).fn;
  if (def.type === 'custom' && def.check === 'custom' && typeof fn === 'function' && !def.when) {
    // a refine: zod's $ZodCustom check adds an issue when its function's result is falsy
    return (v) => {
      const r: unknown = fn(v);
      if (r instanceof Promise) throw new UnsupportedSchemaError('an async refinement cannot run synchronously');
      return !!r;
    };
  }
  if (!z.check) throw new UnsupportedSchemaError(`a check without a function (${String(def.check)})`);
  return generic;
}

function withChecks(base: Node, checks: Array<(v: unknown) => boolean>): Node {
  if (checks.length === 0) return base;
  if (checks.length === 1) {
    const c = checks[0]!;
    return (v) => {
      const out = base(v);
      return out === REJECT || !c(out) ? REJECT : out;
    };
  }
  return (v) => {
    const out = base(v);
    if (out === REJECT) return REJECT;
    for (let i = 0; i < checks.length; i++) if (!checks[i]!(out)) return REJECT;
    return out;
  };
}

class Compiler {
  private readonly memo = new Map<AnySchema, Node>();

  node(s: AnySchema): Node {
    let n = this.memo.get(s);
    if (!n) {
      n = withChecks(this.base(s), (s._zod.def.checks ?? []).map(compileCheck));
      this.memo.set(s, n);
    }
    return n;
  }

  private base(s: AnySchema): Node {
    const def = s._zod.def;
    switch (def.type) {
      case 'string':
        return (v) => (typeof v === 'string' ? v : REJECT);
      case 'number':
        // zod refuses NaN and the infinities before any check
        return (v) => (typeof v === 'number' && Number.isFinite(v) ? v : REJECT);
      case 'boolean':
        return (v) => (typeof v === 'boolean' ? v : REJECT);
      case 'null':
        return (v) => (v === null ? v : REJECT);
      case 'unknown':
      case 'any':
        return (v) => v;
      case 'literal': {
        const values = new Set(def.values as unknown[]);
        return (v) => (values.has(v) ? v : REJECT);
      }
      case 'enum': {
        const values = new Set(Object.values(def.entries as Record<string, unknown>));
        if ([...values].some((x) => typeof x !== 'string')) throw new UnsupportedSchemaError('a numeric enum');
        return (v) => (values.has(v) ? v : REJECT);
      }
      case 'nullable': {
        const inner = this.node(def.innerType as AnySchema);
        return (v) => (v === null ? null : inner(v));
      }
      case 'optional': {
        const inner = this.node(def.innerType as AnySchema);
        return (v) => (v === undefined ? undefined : inner(v));
      }
      case 'array':
        return this.array(def);
      case 'object':
        return this.object(def);
      case 'record':
        return this.record(def);
      case 'union':
        return typeof def.discriminator === 'string' ? this.discriminated(def) : this.union(def);
      case 'pipe': {
        const inNode = this.node(def.in as AnySchema);
        const outNode = this.node(def.out as AnySchema);
        return (v) => {
          const mid = inNode(v);
          return mid === REJECT ? REJECT : outNode(mid);
        };
      }
      case 'transform':
        return this.transform(s);
      default:
        throw new UnsupportedSchemaError(`zod type "${def.type}" is not compiled`);
    }
  }

  /** A preprocess step: its function, given what zod gives it (the value, and a payload it may add issues to). */
  private transform(s: AnySchema): Node {
    const fn = s._zod.def.transform;
    if (typeof fn !== 'function') return viaZod(s);
    return (v) => {
      const payload = new TransformPayload(v);
      const out: unknown = fn(v, payload);
      if (out instanceof Promise) throw new UnsupportedSchemaError('an async transform cannot run synchronously');
      return payload.issues.length ? REJECT : out;
    };
  }

  private array(def: Def): Node {
    const element = this.node(def.element as AnySchema);
    return (v) => {
      if (!Array.isArray(v)) return REJECT;
      let out: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const x = element(v[i]);
        if (x === REJECT) return REJECT;
        if (x !== v[i]) out ??= v.slice(0, i);
        if (out) out[i] = x;
      }
      return out ?? v;
    };
  }

  private object(def: Def): Node {
    const shape = def.shape as Record<string, AnySchema>;
    if (Object.getOwnPropertySymbols(shape).length) throw new UnsupportedSchemaError('symbol keys in a shape');
    const keys = Object.keys(shape);
    const keySet = new Set(keys);
    const fields = keys.map((k) => {
      const z = shape[k]!._zod;
      if (z.optin === 'defaulted') throw new UnsupportedSchemaError(`a defaulted field (${k})`);
      // an absent optional field contributes nothing, as in zod; any other absent field is
      // refused here (zod may still accept one whose schema makes something of undefined)
      return { key: k, node: this.node(shape[k]!), optional: z.optin === 'optional' && z.optout === 'optional' };
    });
    const catchall = def.catchall as AnySchema | undefined;
    const strict = catchall?._zod.def.type === 'never';
    if (catchall && !strict) throw new UnsupportedSchemaError('an object with a catchall schema');
    const n = fields.length;
    return (v) => {
      if (!isObject(v)) return REJECT;
      let changed = false;
      let present = 0;
      for (let i = 0; i < n; i++) {
        const f = fields[i]!;
        // zod reads fields with `in` and a plain property read (the prototype chain included)
        if (!(f.key in v)) {
          if (f.optional) continue;
          return REJECT;
        }
        const x = f.node(v[f.key]);
        if (x === REJECT) return REJECT;
        if (x !== v[f.key]) changed = true;
        present++;
      }
      // the value itself is the output when its keys are the shape's, in the shape's order
      // (zod builds a new object in that order); anything else is rebuilt as zod builds it
      let j = 0;
      let matched = 0;
      for (const k in v) {
        if (!keySet.has(k)) {
          if (strict) return REJECT;
          changed = true;
          continue;
        }
        if (changed) continue;
        while (j < n && fields[j]!.optional && !(fields[j]!.key in v)) j++;
        if (j < n && fields[j]!.key === k) {
          j++;
          matched++;
        } else changed = true;
      }
      if (!changed && matched === present) return v;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const f = fields[i]!;
        if (f.key in v) out[f.key] = f.node(v[f.key]);
      }
      return out;
    };
  }

  private record(def: Def): Node {
    const keyType = def.keyType as AnySchema;
    if (keyType._zod.def.type === 'enum' || keyType._zod.def.type === 'literal' || (keyType._zod as { values?: unknown }).values) {
      throw new UnsupportedSchemaError('a record with an enumerated key set');
    }
    if (def.mode === 'loose') throw new UnsupportedSchemaError('a loose record');
    if (acceptsNumbers(keyType)) throw new UnsupportedSchemaError('a record whose keys may be numbers');
    const keyNode = this.node(keyType);
    const valueNode = this.node(def.valueType as AnySchema);
    return (v) => {
      if (!isPlainObject(v)) return REJECT;
      // own enumerable string keys, in Reflect.ownKeys order: what zod walks for a value from JSON.parse
      const keys = Object.keys(v);
      if (Object.getOwnPropertySymbols(v).length) return REJECT;
      let changed = false;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (key === '__proto__') {
          changed = true;
          continue;
        }
        const k = keyNode(key);
        if (k === REJECT) return REJECT;
        const x = valueNode(v[key]);
        if (x === REJECT) return REJECT;
        if (k !== key || x !== v[key]) changed = true;
      }
      if (!changed) return v;
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        if (key === '__proto__') continue;
        const k = keyNode(key) as string;
        if (k !== '__proto__') out[k] = valueNode(v[key]);
      }
      return out;
    };
  }

  private union(def: Def): Node {
    const options = (def.options as AnySchema[]).map((o) => this.node(o));
    // zod returns the first option that succeeds, in order
    return (v) => {
      for (let i = 0; i < options.length; i++) {
        const x = options[i]!(v);
        if (x !== REJECT) return x;
      }
      return REJECT;
    };
  }

  private discriminated(def: Def): Node {
    const disc = def.discriminator as string;
    if (def.unionFallback) throw new UnsupportedSchemaError('a discriminated union with a fallback');
    const byValue = new Map<unknown, Node>();
    for (const o of def.options as AnySchema[]) {
      const pv = o._zod.propValues?.[disc];
      if (!pv) throw new UnsupportedSchemaError(`a discriminated union option without a "${disc}" value`);
      for (const value of pv) {
        if (byValue.has(value)) throw new UnsupportedSchemaError(`a duplicate discriminator value ${String(value)}`);
        byValue.set(value, this.node(o));
      }
    }
    return (v) => {
      if (!isObject(v)) return REJECT;
      const opt = byValue.get(v[disc]);
      return opt ? opt(v) : REJECT;
    };
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
      n = new Compiler().node(schema as unknown as AnySchema);
    } catch (err) {
      if (!(err instanceof UnsupportedSchemaError)) throw err;
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
