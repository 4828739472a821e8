// The trusted loader's directives as one pickle for Python runners (docs/protocol.md, "Input
// encodings"): the "loaded" message the loader sends with `--loaded-pickle`, and the lines
// that refer into it. The host never decodes or unpickles the data: it checks the message's
// shape and forwards its text, unchanged, to runners made from the loader's own image.
import { z } from 'zod';
import { directiveJson } from '../ledger/directive-json.js';
import type { Directive } from '../ledger/directive-schema.js';

const Index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What a pickle depends on; a runner reads only its own format (sbx_runner/loaded.py FORMAT). */
export const LoadedFormatSchema = z.strictObject({
  encoding: z.literal('pickle'),
  pickle: z.number().int().min(0),
  python: z.string().max(32),
  beancount: z.string().max(32),
  codec: z.number().int().min(0),
});
export const LoadedMessageSchema = z.strictObject({
  type: z.literal('loaded'),
  format: LoadedFormatSchema,
  count: Index,
  /** The pickle, base64: opaque to the host. */
  data: z.string(),
});
export type LoadedFormat = z.infer<typeof LoadedFormatSchema>;

/** Inputs index..index+count-1 are the loader's directives from..from+count-1, unchanged. */
export const RefsMessageSchema = z.strictObject({ type: z.literal('refs'), index: Index, from: Index, count: Index.min(1) });

/** The messages of the encoding, by file name under schemas/protocol/ (src/protocol/json-schemas.ts). */
export const LOADED_ENCODING_SCHEMAS = { loaded: LoadedMessageSchema, refs: RefsMessageSchema } as const;

/**
 * One JSON line (with its newline) per run of the loader's directives, sent by reference in
 * the loader's order, or per directive sent in full (made or changed by a plugin, validated).
 */
export function* referenceLines(input: readonly Directive[], loadedIndex: ReadonlyMap<Directive, number>): Generator<string> {
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
