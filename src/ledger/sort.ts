import type { Directive } from './directive-schema.js';

// Beancount sorts the entries after every plugin (loader.run_transformations), with
// data.entry_sortkey: date, then a type order that puts Open first and Close last on
// a day, then the source line. Both sorts are stable, so ties keep their order.
const TYPE_ORDER: Partial<Record<Directive['type'], number>> = { Open: -2, Balance: -1, Document: 1, Close: 2 };

function lineno(d: Directive): number {
  const n = (d.meta as Record<string, unknown> | undefined)?.lineno;
  return typeof n === 'number' ? n : 0;
}

export function compareEntries(a: Directive, b: Directive): number {
  if (a.date !== b.date) return a.date < b.date ? -1 : 1;
  const ta = TYPE_ORDER[a.type] ?? 0;
  const tb = TYPE_ORDER[b.type] ?? 0;
  if (ta !== tb) return ta - tb;
  return lineno(a) - lineno(b);
}

/** A sorted copy, as Beancount would order the list. */
export function sortEntries(entries: readonly Directive[]): Directive[] {
  return [...entries].sort(compareEntries);
}

export function isSorted(entries: readonly Directive[]): boolean {
  for (let i = 1; i < entries.length; i++) if (compareEntries(entries[i - 1]!, entries[i]!) > 0) return false;
  return true;
}
