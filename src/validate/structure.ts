// A walk over an untrusted JSON value, before any schema sees it: keys that could
// reach an object's prototype, strings that could change the printed ledger, and
// sizes. It stops at the first problem and names where it is (a JSON path).
import type { ValueLimits } from './value-limits.js';
import { findUnsafeLedgerChar, findUnsafeMessageChar, hasUnsafeLedgerChar, hasUnsafeMessageChar } from './strings.js';

/** Keys refused anywhere: assigning them on a plain object reaches its prototype. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export interface StructureProblem {
  /** JSON path of the offending value, like `directive.postings[2].meta.note`. */
  path: string;
  message: string;
}

export interface StructureOptions {
  limits: ValueLimits;
  /** Paths (exact) whose strings are people-facing messages: newlines and tabs allowed, longer cap. */
  messagePaths?: ReadonlySet<string>;
}

const PLAIN_KEY = /^[A-Za-z_@][A-Za-z0-9_@-]*$/;

function child(path: string, key: string): string {
  return PLAIN_KEY.test(key) ? (path ? `${path}.${key}` : key) : `${path}[${JSON.stringify(key)}]`;
}

/** The first structural problem in `value`, or undefined when there is none. */
export function findStructureProblem(value: unknown, opts: StructureOptions): StructureProblem | undefined {
  const { limits } = opts;
  const walk = (v: unknown, path: string, depth: number): StructureProblem | undefined => {
    if (typeof v === 'string') {
      const isMessage = opts.messagePaths?.has(path) ?? false;
      const cap = isMessage ? limits.maxErrorMessageLength : limits.maxStringLength;
      if (v.length > cap) return { path, message: `string of ${v.length} characters is longer than the limit of ${cap}` };
      const bad = isMessage ? findUnsafeMessageChar(v) : findUnsafeLedgerChar(v);
      if (bad) {
        return {
          path,
          message: `string holds the control or format character ${bad.codePoint} at offset ${bad.offset}; such characters could change the printed ledger and are refused`,
        };
      }
      return undefined;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path, message: 'number is not finite' };
      return undefined;
    }
    if (v === null || typeof v === 'boolean') return undefined;
    if (typeof v !== 'object') return { path, message: `unexpected ${typeof v} value` };
    if (depth >= limits.maxDepth) return { path, message: `nested deeper than ${limits.maxDepth} levels` };
    if (Array.isArray(v)) {
      if (v.length > limits.maxArrayItems) return { path, message: `list of ${v.length} items is longer than the limit of ${limits.maxArrayItems}` };
      for (let i = 0; i < v.length; i++) {
        const p = walk(v[i], `${path}[${i}]`, depth + 1);
        if (p) return p;
      }
      return undefined;
    }
    // own keys only: JSON.parse makes "__proto__" an own data property, which is what we look for
    const keys = Object.keys(v);
    if (keys.length > limits.maxObjectKeys) return { path, message: `mapping of ${keys.length} keys is larger than the limit of ${limits.maxObjectKeys}` };
    for (const key of keys) {
      if (FORBIDDEN_KEYS.has(key)) return { path: child(path, key), message: `key ${JSON.stringify(key)} is refused anywhere in a result (it could reach an object prototype)` };
      const bad = findUnsafeLedgerChar(key);
      if (bad) return { path, message: `a key holds the control or format character ${bad.codePoint}` };
      if (key.length > limits.maxStringLength) return { path, message: `a key of ${key.length} characters is longer than the limit of ${limits.maxStringLength}` };
      const p = walk((v as Record<string, unknown>)[key], child(path, key), depth + 1);
      if (p) return p;
    }
    return undefined;
  };
  return walk(value, '', 0);
}

/**
 * Exactly `findStructureProblem(value, opts) === undefined`, without building a path for
 * every value: the hot path asks this, and only a refused value is walked again for its
 * problem. Message paths must be top-level keys (like `message`); others take the long way.
 */
export function isStructureSound(value: unknown, opts: StructureOptions): boolean {
  const messageKeys = opts.messagePaths ?? new Set<string>();
  for (const p of messageKeys) if (!PLAIN_KEY.test(p)) return findStructureProblem(value, opts) === undefined;
  const { maxStringLength, maxErrorMessageLength, maxDepth, maxArrayItems, maxObjectKeys } = opts.limits;
  const walk = (v: unknown, depth: number, isMessage: boolean): boolean => {
    if (typeof v === 'string') {
      return isMessage
        ? v.length <= maxErrorMessageLength && !hasUnsafeMessageChar(v)
        : v.length <= maxStringLength && !hasUnsafeLedgerChar(v);
    }
    if (typeof v === 'number') return Number.isFinite(v);
    if (v === null || typeof v === 'boolean') return true;
    if (typeof v !== 'object') return false;
    if (depth >= maxDepth) return false;
    if (Array.isArray(v)) {
      if (v.length > maxArrayItems) return false;
      for (let i = 0; i < v.length; i++) if (!walk(v[i], depth + 1, false)) return false;
      return true;
    }
    const keys = Object.keys(v);
    if (keys.length > maxObjectKeys) return false;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (FORBIDDEN_KEYS.has(key) || key.length > maxStringLength || hasUnsafeLedgerChar(key)) return false;
      if (!walk((v as Record<string, unknown>)[key], depth + 1, depth === 0 && messageKeys.has(key))) return false;
    }
    return true;
  };
  return walk(value, 0, false);
}
