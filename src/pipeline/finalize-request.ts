// The body of a trusted session's finalize request (docs/protocol.md, `load --session`):
// what the loader sent travels back by reference, a run of it in the loader's order as
// one line; everything a plugin made or changed travels in full, already validated.
import { directiveJson } from '../ledger/directive-json.js';
import type { Directive } from '../ledger/directive-schema.js';

/** One JSON line (with its newline) per run of references or per directive sent in full. */
export function* finalizeLines(input: readonly Directive[], loadedIndex: ReadonlyMap<Directive, number>): Generator<string> {
  for (let k = 0; k < input.length; ) {
    const from = loadedIndex.get(input[k]!);
    if (from === undefined) {
      yield `{"type":"directive","index":${k},"directive":${directiveJson(input[k]!)}}\n`;
      k++;
      continue;
    }
    let n = 1;
    while (k + n < input.length && loadedIndex.get(input[k + n]!) === from + n) n++;
    yield `{"type":"refs","index":${k},"from":${from},"count":${n}}\n`;
    k += n;
  }
}
