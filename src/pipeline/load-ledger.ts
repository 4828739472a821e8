// The loader stage's output, read and checked: Beancount (in a container) parsed and
// booked the ledger and ran its own pre-plugin ops; the ledger's plugins are ours to run.
import { z } from 'zod';
import { createDirectiveSchemas, type Directive } from '../ledger/directive-schema.js';
import { LoadedMessageSchema, type LoadedFormat } from '../protocol/loaded-message.js';
import { OptionsSchema, SourceSchema } from '../protocol/messages.js';
import { parseJsonLine, type Line } from '../protocol/framing.js';
import { StageFailedError } from '../errors.js';
import { parseFast } from '../validate/compiled-schema.js';

export const PluginLineSchema = z.strictObject({
  name: z.string().min(1),
  config: z.string().nullable(),
  filename: z.string().nullable(),
  lineno: z.number().int().nullable(),
});
export type PluginLine = z.infer<typeof PluginLineSchema>;

const OptionsMsg = z.strictObject({
  type: z.literal('options'),
  options: OptionsSchema,
  sandbox: z.strictObject({
    plugin_sandbox: z.string().nullable(),
    plugin_timeout: z.string().nullable(),
    plugin_memory_limit: z.string().nullable(),
  }),
  input_hash: z.string(),
});
const PluginsMsg = z.strictObject({
  type: z.literal('plugins'),
  processing_mode: z.enum(['default', 'raw']),
  pre: z.array(z.string()),
  plugins: z.array(PluginLineSchema),
  post: z.array(z.string()),
});
export const StageErrorSchema = z.strictObject({
  type: z.literal('error'),
  kind: z.string().optional(),
  message: z.string(),
  source: SourceSchema.nullable(),
  index: z.number().int().min(0).nullable(),
});
export type StageError = z.infer<typeof StageErrorSchema>;
const DoneMsg = z.strictObject({ type: z.literal('done'), count: z.number().int().min(0), errors: z.number().int().min(0) });

/** What the loader knows once the ledger is parsed, before booking: enough to prepare the plugins. */
export interface LoadedHead {
  options: Record<string, unknown>;
  sandboxOptions: { plugin_sandbox: string | null; plugin_timeout: string | null; plugin_memory_limit: string | null };
  processingMode: 'default' | 'raw';
  pre: string[];
  post: string[];
  plugins: PluginLine[];
  /** Beancount's hash of the ledger's files (options_map['input_hash']). */
  inputHash: string;
}

export interface LoadedLedger extends LoadedHead {
  errors: StageError[];
  directives: Directive[];
  /** With `load --loaded-pickle`: the "loaded" line, forwarded unread to Python runners of the same image. */
  pickled?: { format: LoadedFormat; line: string };
}

/** Account roots from the ledger's name_* options (Beancount lets a ledger rename them). */
export function accountRoots(options: Record<string, unknown>): string[] {
  return ['name_assets', 'name_liabilities', 'name_equity', 'name_income', 'name_expenses'].map((k) =>
    typeof options[k] === 'string' ? (options[k] as string) : ({ name_assets: 'Assets', name_liabilities: 'Liabilities', name_equity: 'Equity', name_income: 'Income', name_expenses: 'Expenses' } as Record<string, string>)[k]!,
  );
}

function fail(line: number, what: string): never {
  throw new StageFailedError(`the loader's output is malformed at line ${line}: ${what}`, {
    hint: 'this is a bug in sandboxctl or its runner image: rebuild the images (`sandboxctl images build`)',
  });
}

/**
 * Reads the loader's messages up to and including "done", leaving the rest of the stream
 * (a session's later answers) unread. `onHead` is called as soon as options and plugins are in.
 */
export async function readLoader(lines: AsyncIterator<Line>, onHead?: (head: LoadedHead) => void): Promise<LoadedLedger> {
  let opts: z.infer<typeof OptionsMsg> | undefined;
  let plugins: z.infer<typeof PluginsMsg> | undefined;
  let head: LoadedHead | undefined;
  let directiveSchema: z.ZodType<Directive> | undefined;
  const errors: StageError[] = [];
  const directives: Directive[] = [];
  let pickled: LoadedLedger['pickled'];
  for (;;) {
    const next = await lines.next();
    if (next.done) break;
    const line = next.value;
    const raw = parseJsonLine(line) as { type?: unknown };
    switch (raw?.type) {
      case 'options': {
        const r = OptionsMsg.safeParse(raw);
        if (!r.success) fail(line.line, r.error.message);
        opts = r.data;
        directiveSchema = createDirectiveSchemas({ accountRoots: accountRoots(opts.options) }).Directive as z.ZodType<Directive>;
        break;
      }
      case 'plugins': {
        const r = PluginsMsg.safeParse(raw);
        if (!r.success) fail(line.line, r.error.message);
        if (!opts) fail(line.line, 'plugins before the options');
        plugins = r.data;
        head = {
          options: opts.options,
          sandboxOptions: opts.sandbox,
          processingMode: plugins.processing_mode,
          pre: plugins.pre,
          post: plugins.post,
          plugins: plugins.plugins,
          inputHash: opts.input_hash,
        };
        onHead?.(head);
        break;
      }
      case 'error': {
        const r = StageErrorSchema.safeParse(raw);
        if (!r.success) fail(line.line, r.error.message);
        errors.push(r.data);
        break;
      }
      case 'directive': {
        if (!directiveSchema || !head) fail(line.line, 'a directive before the options and plugins');
        const msg = raw as { index?: unknown; directive?: unknown };
        if (msg.index !== directives.length) fail(line.line, `directive index ${String(msg.index)}, expected ${directives.length}`);
        const r = parseFast(directiveSchema, msg.directive);
        if (!r.success) fail(line.line, r.error.message);
        directives.push(r.data);
        break;
      }
      case 'loaded': {
        const r = LoadedMessageSchema.safeParse(raw);
        if (!r.success) fail(line.line, r.error.message);
        if (r.data.count !== directives.length) fail(line.line, `the pickle holds ${r.data.count} directives, ${directives.length} were sent`);
        pickled = { format: r.data.format, line: line.text };
        break;
      }
      case 'done': {
        const r = DoneMsg.safeParse(raw);
        if (!r.success) fail(line.line, r.error.message);
        if (!head) fail(line.line, '"done" before the options and plugins');
        if (r.data.count !== directives.length || r.data.errors !== errors.length) fail(line.line, 'counts do not match what was sent');
        return { ...head, errors, directives, ...(pickled ? { pickled } : {}) };
      }
      default:
        fail(line.line, `unexpected message type ${JSON.stringify(raw?.type)}`);
    }
  }
  return fail(0, 'the stream ended before "done"');
}
