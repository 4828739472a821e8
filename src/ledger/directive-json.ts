import type { Directive } from './directive-schema.js';

// A directive's JSON text, made once: the same directive objects go to every plugin of a
// chain, to the finalizer and to the audit digests. Directives are never mutated after
// validation (changes come back as new objects), so identity is a safe key.
const cache = new WeakMap<Directive, string>();

export function directiveJson(d: Directive): string {
  let s = cache.get(d);
  if (s === undefined) {
    s = JSON.stringify(d);
    cache.set(d, s);
  }
  return s;
}
