// What a string in a result may hold, so that it can never change the structure of
// the printed ledger (no extra directive, option, plugin or include line can appear).
//
// The rule:
//  1. Refused in every string: C0 controls U+0000-U+001F (tab, newline and carriage
//     return included: a Beancount directive ends at a newline, so a string without
//     one cannot start a new line), DEL U+007F, C1 controls U+0080-U+009F, the
//     Unicode line and paragraph separators U+2028/U+2029, bidirectional embedding,
//     override and isolate controls U+202A-U+202E and U+2066-U+2069 (they reorder
//     what a reviewer sees), and unpaired UTF-16 surrogates (not encodable as UTF-8).
//  2. Unquoted tokens (account, currency, tag, link, flag, metadata key, date,
//     decimal) must match Beancount's lexer syntax exactly (the directive schema),
//     so none of them can hold a space, a quote or any other delimiter.
//  3. Quoted strings (payee, narration, comments, names, metadata and custom string
//     values, filenames) may hold '"' and '\'; the printer escapes them (backslash
//     first, then quote). Because rule 1 removes newlines, even an unescaped quote
//     could only affect tokens on the directive's own line.
// Plugin error messages are shown to people, not printed into the ledger: they may
// also hold newlines and tabs (tracebacks), and are rendered through safeText().

// With the u flag a surrogate pair is one code point, so [\ud800-\udfff] matches only unpaired halves.
// eslint-disable-next-line no-control-regex
const UNSAFE_LEDGER = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;
// eslint-disable-next-line no-control-regex
const UNSAFE_MESSAGE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/u;

export interface UnsafeChar {
  /** Offset of the character in the string (UTF-16 code units). */
  offset: number;
  /** The character written as U+XXXX. */
  codePoint: string;
}

function find(re: RegExp, s: string): UnsafeChar | undefined {
  const m = re.exec(s);
  if (!m) return undefined;
  return { offset: m.index, codePoint: `U+${m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` };
}

/** The first character that may not appear in a string printed into a ledger. */
export function findUnsafeLedgerChar(s: string): UnsafeChar | undefined {
  return find(UNSAFE_LEDGER, s);
}

/** The first character that may not appear in a plugin's error message (newline and tab allowed). */
export function findUnsafeMessageChar(s: string): UnsafeChar | undefined {
  return find(UNSAFE_MESSAGE, s);
}

/** True when `s` holds a character findUnsafeLedgerChar would report (no offset worked out). */
export function hasUnsafeLedgerChar(s: string): boolean {
  return UNSAFE_LEDGER.test(s);
}

/** True when `s` holds a character findUnsafeMessageChar would report. */
export function hasUnsafeMessageChar(s: string): boolean {
  return UNSAFE_MESSAGE.test(s);
}
