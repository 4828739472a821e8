// Zod schemas for Beancount 2 directives as they travel in protocol v1 (see docs/protocol.md).
// Syntax rules follow Beancount 2.3.5's lexer so that whatever passes here prints back
// into a ledger Beancount parses the same way. Pure: data in, data out.
import { z } from 'zod';

// Beancount 2.3.5 lexer: ACCOUNTTYPE ([A-Z]|UTF8)([A-Za-z0-9-]|UTF8)*, ACCOUNTNAME ([A-Z0-9]|UTF8)(...)*.
// We accept non-ASCII letters, marks and digits as "UTF8" (not arbitrary code points: no spaces or controls).
const U = '\\p{L}\\p{M}\\p{N}';
/** One non-ASCII letter, mark or digit (never an ASCII lowercase letter: \p{L} alone would admit those). */
const NON_ASCII = `(?=[${U}])[^\\x00-\\x7F]`;
const COMPONENT_REST = `[A-Za-z0-9\\-${U}]*`;

export const DEFAULT_ACCOUNT_ROOTS = ['Assets', 'Liabilities', 'Equity', 'Income', 'Expenses'] as const;

/** Regex for a full account name whose root is one of `roots` (the ledger's name_* options). */
export function accountRegex(roots: readonly string[] = DEFAULT_ACCOUNT_ROOTS): RegExp {
  for (const r of roots) {
    if (!new RegExp(`^(?:[A-Z]|${NON_ASCII})${COMPONENT_REST}$`, 'u').test(r)) {
      throw new TypeError(`account root ${JSON.stringify(r)} is not a valid Beancount account type`);
    }
  }
  const alt = roots.map((r) => r.replace(/[-]/g, '\\-')).join('|');
  return new RegExp(`^(?:${alt})(?::(?:[A-Z0-9]|${NON_ASCII})${COMPONENT_REST})+$`, 'u');
}

/** Beancount 2 currency: [A-Z][A-Z0-9'._-]{0,22}[A-Z0-9], or a single capital letter. */
export const CURRENCY_RE = /^(?:[A-Z][A-Z0-9'._-]{0,22}[A-Z0-9]|[A-Z])$/;
/** Exact decimal as the codec prints it: optional minus, digits, optional fraction. No exponent. */
export const DECIMAL_RE = /^-?[0-9]+(?:\.[0-9]+)?$/;
export const DATE_RE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
/** Tag and link characters, per the 2.3.5 lexer (#[A-Za-z0-9\-_/.]+). */
export const TAG_RE = /^[A-Za-z0-9\-_/.]+$/;
/** Transaction and posting flags the 2.3.5 grammar can read back ('txn' prints as '*'). */
export const FLAG_RE = /^[*!&#?%PSTCURM]$/;
/** Metadata keys the lexer reads (KEY: [a-z][a-zA-Z0-9\-_]*). */
export const META_KEY_RE = /^[a-z][a-zA-Z0-9\-_]*$/;
/**
 * Internal keys set by code, never parsed: Beancount's booking (__automatic__, __residual__,
 * __tolerances__) and plugins (implicit_prices' __implicit_prices__). "__proto__" is never one.
 */
export const INTERNAL_META_KEY_RE = /^__(?!proto__$)[a-z][a-z0-9_]*__$/;

/** True for a real calendar date written YYYY-MM-DD (year 0001-9999, like Python's date). */
export function isCalendarDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false;
  const y = Number(s.slice(0, 4));
  const m = Number(s.slice(5, 7));
  const d = Number(s.slice(8, 10));
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  return d <= days;
}

export const DateString = z
  .string()
  .regex(DATE_RE, 'expected a date YYYY-MM-DD')
  .refine(isCalendarDate, 'expected a real calendar date')
  .describe('ISO date YYYY-MM-DD');
export const DecimalString = z
  .string()
  .max(100)
  .regex(DECIMAL_RE, 'expected an exact decimal string like "-12.50" (no exponent, no float)')
  .describe('exact decimal string');
export const Currency = z.string().regex(CURRENCY_RE, 'expected a Beancount currency like USD or VBMPX');
export const Flag = z.string().regex(FLAG_RE, 'expected a Beancount flag: one of * ! & # ? % P S T C U R M');
export const Tag = z.string().max(256).regex(TAG_RE, 'expected tag/link characters A-Z a-z 0-9 - _ / .');
const SortedTags = z
  .array(Tag)
  .refine((a) => a.every((t, i) => i === 0 || a[i - 1]! < t), 'expected a sorted array without duplicates');

export const AmountSchema = z
  .strictObject({ number: DecimalString.nullable(), currency: Currency.nullable() })
  .describe('Beancount Amount');
export const CostSchema = z.strictObject({
  kind: z.literal('cost'),
  number: DecimalString,
  currency: Currency,
  date: DateString,
  label: z.string().nullable(),
});
export const CostSpecSchema = z.strictObject({
  kind: z.literal('costspec'),
  number_per: DecimalString.nullable(),
  number_total: DecimalString.nullable(),
  currency: Currency.nullable(),
  date: DateString.nullable(),
  label: z.string().nullable(),
  merge: z.boolean().nullable(),
});

const TaggedDecimal = z.strictObject({ '@decimal': DecimalString });
const TaggedDate = z.strictObject({ '@date': DateString });
const TaggedAmount = z.strictObject({ '@amount': AmountSchema });
/** Beancount's __tolerances__: currency -> Decimal, inferred during booking; "*" holds the default. */
const TaggedTolerances = z.strictObject({
  '@tolerances': withoutProtoKey(z.record(z.union([Currency, z.literal('*')]), DecimalString)),
});

/** Refuses an own "__proto__" key, which JSON.parse creates and z.record would silently drop. */
export function withoutProtoKey<T extends z.ZodType>(schema: T) {
  return z.preprocess((v, ctx) => {
    if (v !== null && typeof v === 'object' && Object.hasOwn(v, '__proto__')) {
      ctx.addIssue({ code: 'custom', message: 'the key "__proto__" is not allowed', input: v });
    }
    return v;
  }, schema);
}

/** A typed metadata value (str, bool, None, int, Decimal, date, Amount). */
export const MetaValueSchema = z.union([
  z.string(),
  z.boolean(),
  z.null(),
  z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER),
  TaggedDecimal,
  TaggedDate,
  TaggedAmount,
  TaggedTolerances,
]);

export interface SchemaOptions {
  /** Account root names (option name_assets etc.). */
  accountRoots?: readonly string[];
}

/** Builds every directive schema for a given set of account roots. */
export function createDirectiveSchemas(opts: SchemaOptions = {}) {
  const Account = z.string().max(1024).regex(accountRegex(opts.accountRoots), 'expected a Beancount account like Assets:Bank:Checking');

  const MetaKey = z
    .string()
    .refine(
      (k) => META_KEY_RE.test(k) || INTERNAL_META_KEY_RE.test(k),
      'expected a metadata key [a-z][a-zA-Z0-9-_]* (or an internal __name__ key)',
    );
  // '@tolerances' is Beancount's own booking annotation: only under its own key.
  const Meta = withoutProtoKey(z.record(MetaKey, MetaValueSchema).superRefine((meta, ctx) => {
    for (const [k, v] of Object.entries(meta)) {
      const isTol = typeof v === 'object' && v !== null && '@tolerances' in v;
      if (isTol !== (k === '__tolerances__')) {
        ctx.addIssue({ code: 'custom', path: [k], message: 'an @tolerances value belongs only under the key __tolerances__ (and nowhere else)' });
      }
    }
  }));
  const CustomValue = z.discriminatedUnion('dtype', [
    z.strictObject({ dtype: z.literal('str'), value: z.string() }),
    z.strictObject({ dtype: z.literal('bool'), value: z.boolean() }),
    z.strictObject({ dtype: z.literal('decimal'), value: TaggedDecimal }),
    z.strictObject({ dtype: z.literal('date'), value: TaggedDate }),
    z.strictObject({ dtype: z.literal('amount'), value: TaggedAmount }),
    z.strictObject({ dtype: z.literal('account'), value: Account }),
  ]);
  const Posting = z.strictObject({
    account: Account,
    units: AmountSchema.nullable(),
    cost: z.discriminatedUnion('kind', [CostSchema, CostSpecSchema]).nullable(),
    price: AmountSchema.nullable(),
    flag: Flag.nullable(),
    meta: Meta.nullable(),
  });

  const base = { date: DateString, meta: Meta };
  const Open = z.strictObject({
    type: z.literal('Open'),
    ...base,
    account: Account,
    currencies: z.array(Currency).nullable(),
    booking: z.enum(['STRICT', 'NONE', 'AVERAGE', 'FIFO', 'LIFO']).nullable(),
  });
  const Close = z.strictObject({ type: z.literal('Close'), ...base, account: Account });
  const Commodity = z.strictObject({ type: z.literal('Commodity'), ...base, currency: Currency });
  const Pad = z.strictObject({ type: z.literal('Pad'), ...base, account: Account, source_account: Account });
  const Balance = z.strictObject({
    type: z.literal('Balance'),
    ...base,
    account: Account,
    amount: AmountSchema,
    tolerance: DecimalString.nullable(),
    diff_amount: AmountSchema.nullable(),
  });
  const Transaction = z.strictObject({
    type: z.literal('Transaction'),
    ...base,
    flag: Flag,
    payee: z.string().nullable(),
    narration: z.string(),
    tags: SortedTags,
    links: SortedTags,
    postings: z.array(Posting),
  });
  const Note = z.strictObject({ type: z.literal('Note'), ...base, account: Account, comment: z.string() });
  const Event = z.strictObject({ type: z.literal('Event'), ...base, event_type: z.string(), description: z.string() });
  const Query = z.strictObject({ type: z.literal('Query'), ...base, name: z.string(), query_string: z.string() });
  const Price = z.strictObject({ type: z.literal('Price'), ...base, currency: Currency, amount: AmountSchema });
  const Document = z.strictObject({
    type: z.literal('Document'),
    ...base,
    account: Account,
    filename: z.string(),
    tags: SortedTags.nullable(),
    links: SortedTags.nullable(),
  });
  const Custom = z.strictObject({ type: z.literal('Custom'), ...base, custom_type: z.string(), values: z.array(CustomValue).nullable() });

  const Directive = z.discriminatedUnion('type', [
    Open, Close, Commodity, Pad, Balance, Transaction, Note, Event, Query, Price, Document, Custom,
  ]);
  return {
    Account, Meta, MetaKey, CustomValue, Posting, Directive,
    Open, Close, Commodity, Pad, Balance, Transaction, Note, Event, Query, Price, Document, Custom,
  };
}

/** Schemas for the default account roots; use createDirectiveSchemas for renamed roots. */
export const DirectiveSchemas = createDirectiveSchemas();
export const AccountSchema = DirectiveSchemas.Account;
export const MetaSchema = DirectiveSchemas.Meta;
export const PostingSchema = DirectiveSchemas.Posting;
export const CustomValueSchema = DirectiveSchemas.CustomValue;
export const DirectiveSchema = DirectiveSchemas.Directive;

export type Amount = z.infer<typeof AmountSchema>;
export type Cost = z.infer<typeof CostSchema>;
export type CostSpec = z.infer<typeof CostSpecSchema>;
export type MetaValue = z.infer<typeof MetaValueSchema>;
export type Meta = z.infer<typeof MetaSchema>;
export type Posting = z.infer<typeof PostingSchema>;
export type CustomValue = z.infer<typeof CustomValueSchema>;
export type Directive = z.infer<typeof DirectiveSchema>;
export type DirectiveType = Directive['type'];
export const DIRECTIVE_TYPES = [
  'Open', 'Close', 'Commodity', 'Pad', 'Balance', 'Transaction', 'Note', 'Event', 'Query', 'Price', 'Document', 'Custom',
] as const satisfies readonly DirectiveType[];
