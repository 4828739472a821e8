// The batch file (YAML): which ledgers a nightly batch runs, under which profile, where
// each output goes, and each ledger's deadline. Zod schema (defaults and descriptions in
// the type), parsing with field-level errors, and the JSON Schema published at
// schemas/batch.schema.json. Pure: the fs read is the caller's.
import { z } from 'zod';
import { API_VERSION, durationSchema } from '../manifest/schema.js';
import { parseYamlWith } from '../manifest/yaml-issues.js';

export const BATCH_SCHEMA_FILE = 'schemas/batch.schema.json';
export const BATCH_SCHEMA_ID = 'https://sandboxctl.dev/schemas/batch.schema.json';
export const DEFAULT_OUTPUT_PATTERN = '{dir}/{name}.out.beancount';

/** `outputDir: D` is the pattern D/{parent}/{name}.out.beancount: ledgers all named main.beancount still get one output each. */
export function outputDirPattern(dir: string): string {
  return `${dir.replace(/\/+$/, '')}/{parent}/{name}.out.beancount`;
}
const HINT = `${BATCH_SCHEMA_FILE} lists every field, what it accepts and its default`;

const pathString = z.string().min(1, { error: 'expected a non-empty path' });

export const OUTPUT_PLACEHOLDERS = ['dir', 'name', 'base', 'parent'] as const;
const outputPattern = z
  .string()
  .min(1)
  .refine((s) => [...s.matchAll(/\{([^}]*)\}/g)].every((m) => (OUTPUT_PLACEHOLDERS as readonly string[]).includes(m[1]!)), {
    error: `expected a path pattern whose placeholders are ${OUTPUT_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
  })
  .describe(
    "where a ledger's output goes: {dir} the ledger's directory, {name} its file name without .beancount, " +
      "{base} its file name, {parent} its directory's name. Relative patterns are from the batch file's directory",
  );

export const ledgerEntrySchema = z.union([
  pathString.describe('a ledger file, or a glob (`*`, `?`, `[..]`, `**`) of ledger files'),
  z
    .strictObject({
      path: pathString.describe('a ledger file, or a glob of ledger files'),
      profile: z.string().min(1).optional().describe("the admin profile for these ledgers (default: the batch's)"),
      output: outputPattern.optional(),
      deadline: durationSchema.optional().describe("time limit for each of these ledgers (default: the batch's)"),
      pluginsDirs: z.array(pathString).optional().describe("plugin bundle folders searched before the batch's"),
    })
    .describe('ledgers with settings of their own'),
]);
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

export const batchFileSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION).default(API_VERSION).describe('the batch file format'),
    profile: z.string().min(1).optional().describe('the admin profile every ledger runs under unless it names its own (default: $SANDBOXCTL_PROFILE, else strict)'),
    profilesDir: pathString.optional().describe('where profiles are looked up by name'),
    pluginsDirs: z.array(pathString).default([]).describe('plugin bundle folders, searched in order before $SANDBOXCTL_PLUGINS_DIR and the shipped ones'),
    output: outputPattern.optional(),
    outputDir: pathString.optional().describe('a folder for every output, as {outputDir}/{parent}/{name}.out.beancount (instead of output)'),
    format: z.enum(['beancount', 'jsonl']).default('beancount').describe('what outputs are written as'),
    jobs: z.number().int().min(1).max(64).optional().describe('how many ledgers run at once (default: from the cores and memory)'),
    deadline: durationSchema.default('30m').describe("time limit for one ledger's whole run"),
    stageTimeout: durationSchema.default('300s').describe('time limit of each trusted stage (load, validate, print)'),
    reportDir: pathString.optional().describe('where report.json is written (default: sandboxctl-reports/<batch id>)'),
    ledgers: z.array(ledgerEntrySchema).min(1).describe('the ledgers, in the order the report lists them'),
  })
  .refine((b) => !(b.output && b.outputDir), { error: 'expected output or outputDir, not both', path: ['outputDir'] });
export type BatchFile = z.infer<typeof batchFileSchema>;

export function parseBatchFile(text: string, file: string): BatchFile {
  return parseYamlWith(batchFileSchema, text, file, HINT);
}

/** The JSON text committed at schemas/batch.schema.json (what a user writes: defaults optional). */
export function batchJsonSchemaText(): string {
  const schema = z.toJSONSchema(batchFileSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  const rule = { not: { required: ['output', 'outputDir'] } };
  return JSON.stringify({ ...schema, ...rule, $id: BATCH_SCHEMA_ID, title: 'sandboxctl batch file' }, null, 2) + '\n';
}
