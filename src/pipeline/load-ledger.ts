// The loader stage's output, read and checked: Beancount (in a container) parsed and
// booked the ledger and ran its own pre-plugin ops; the ledger's plugins are ours to run.
import { z } from 'zod';
import { createDirectiveSchemas, type Directive } from '../ledger/directive-schema.js';
import { OptionsSchema, SourceSchema } from '../protocol/messages.js';
import { parseJsonLine, splitLines } from '../protocol/framing.js';
import { StageFailedError } from '../stages/run-stage.js';

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

export interface LoadedLedger {
  options: Record<string, unknown>;
  sandboxOptions: { plugin_sandbox: string | null; plugin_timeout: string | null; plugin_memory_limit: string | null };
  processingMode: 'default' | 'raw';
  pre: string[];
  post: string[];
  plugins: PluginLine[];
  errors: StageError[];
  directives: Directive[];
  /** Beancount's hash of the ledger's files (options_map['input_hash']). */
  inputHash: string;
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

/** Reads the loader's stream: options, plugins, errors, directives, done, in that order. */
export async function readLoaderOutput(stdout: AsyncIterable<Buffer>, maxLineBytes = 64 * 1024 * 1024): Promise<LoadedLedger> {
  let opts: z.infer<typeof OptionsMsg> | undefined;
  let plugins: z.infer<typeof PluginsMsg> | undefined;
  let directiveSchema: z.ZodType<Directive> | undefined;
  const errors: StageError[] = [];
  const directives: Directive[] = [];
  let done = false;
  for await (const line of splitLines(stdout, { maxLineBytes })) {
    const raw = parseJsonLine(line) as { type?: unknown };
    if (done) fail(line.line, 'output after "done"');
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
        plugins = r.data;
        break;
      }
      case 'error': {
        const r = StageErrorSchema.safeParse(raw);
        if (!r.success) fail(line.line, r.error.message);
        errors.push(r.data);
        break;
      }
      case 'directive': {
        if (!directiveSchema) fail(line.line, 'a directive before the options');
        const msg = raw as { index?: unknown; directive?: unknown };
        if (msg.index !== directives.length) fail(line.line, `directive index ${String(msg.index)}, expected ${directives.length}`);
        const r = directiveSchema.safeParse(msg.directive);
        if (!r.success) fail(line.line, r.error.message);
        directives.push(r.data);
        break;
      }
      case 'done': {
        const r = DoneMsg.safeParse(raw);
        if (!r.success) fail(line.line, r.error.message);
        if (r.data.count !== directives.length || r.data.errors !== errors.length) fail(line.line, 'counts do not match what was sent');
        done = true;
        break;
      }
      default:
        fail(line.line, `unexpected message type ${JSON.stringify(raw?.type)}`);
    }
  }
  if (!opts || !plugins || !done) fail(0, 'the stream ended before "done"');
  return {
    options: opts.options,
    sandboxOptions: opts.sandbox,
    processingMode: plugins.processing_mode,
    pre: plugins.pre,
    post: plugins.post,
    plugins: plugins.plugins,
    errors,
    directives,
    inputHash: opts.input_hash,
  };
}
