// Protocol v1 messages, both directions (docs/protocol.md). One JSON object per line.
// Strict objects: an unknown field is an error, never silently dropped.
import { z } from 'zod';
import { DirectiveSchema, createDirectiveSchemas, withoutProtoKey, type SchemaOptions } from '../ledger/directive-schema.js';

export const PROTOCOL_VERSION = 1;

const Index = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Count = Index;

export const PluginRefSchema = z.strictObject({
  name: z.string().min(1).max(256),
  version: z.string().max(64).nullable(),
});
/** Beancount's options_map as JSON (see the loader's output); opaque to the protocol. */
export const OptionsSchema = withoutProtoKey(z.record(z.string(), z.unknown()));

export const SourceSchema = z.strictObject({
  filename: z.string(),
  lineno: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
});

function buildMessages(Directive: typeof DirectiveSchema) {
  // host -> plugin
  const Header = z.strictObject({
    type: z.literal('header'),
    protocol: z.literal(PROTOCOL_VERSION),
    plugin: PluginRefSchema,
    config: z.string().nullable(),
    options: OptionsSchema,
    count: Count,
  });
  const DirectiveMsg = z.strictObject({ type: z.literal('directive'), index: Index, directive: Directive });
  const End = z.strictObject({ type: z.literal('end') });
  const HostMessage = z.discriminatedUnion('type', [Header, DirectiveMsg, End]);

  // plugin -> host
  const Keep = z
    .strictObject({ type: z.literal('keep'), from: Index, to: Index })
    .refine((m) => m.from < m.to, { message: 'keep range must be non-empty: from < to (to is exclusive)' });
  const Modify = z.strictObject({ type: z.literal('modify'), index: Index, directive: Directive });
  const Insert = z.strictObject({ type: z.literal('insert'), directive: Directive });
  const Delete = z.strictObject({ type: z.literal('delete'), index: Index });
  const ErrorMsg = z.strictObject({
    type: z.literal('error'),
    message: z.string(),
    source: SourceSchema.nullable(),
    index: Index.nullable(),
    /** Beancount's error class (BalanceError, ValidationError...), when the sender knows it. */
    kind: z.string().max(128).regex(/^[A-Za-z_][A-Za-z0-9_]*$/).optional(),
  });
  const Done = z.strictObject({
    type: z.literal('done'),
    counts: z.strictObject({ kept: Count, modified: Count, inserted: Count, deleted: Count, errors: Count }),
  });
  const PluginMessage = z.discriminatedUnion('type', [Keep, Modify, Insert, Delete, ErrorMsg, Done]);
  return { Header, DirectiveMsg, End, HostMessage, Keep, Modify, Insert, Delete, ErrorMsg, Done, PluginMessage };
}

/** Message schemas for a ledger with renamed account roots (option name_assets etc.). */
export function createMessageSchemas(opts: SchemaOptions = {}) {
  return buildMessages(opts.accountRoots ? createDirectiveSchemas(opts).Directive : DirectiveSchema);
}

export const MessageSchemas = createMessageSchemas();
export const HeaderSchema = MessageSchemas.Header;
export const DirectiveMessageSchema = MessageSchemas.DirectiveMsg;
export const EndSchema = MessageSchemas.End;
export const HostMessageSchema = MessageSchemas.HostMessage;
export const KeepSchema = MessageSchemas.Keep;
export const ModifySchema = MessageSchemas.Modify;
export const InsertSchema = MessageSchemas.Insert;
export const DeleteSchema = MessageSchemas.Delete;
export const ErrorMessageSchema = MessageSchemas.ErrorMsg;
export const DoneSchema = MessageSchemas.Done;
export const PluginMessageSchema = MessageSchemas.PluginMessage;

export type Header = z.infer<typeof HeaderSchema>;
export type DirectiveMessage = z.infer<typeof DirectiveMessageSchema>;
export type End = z.infer<typeof EndSchema>;
export type HostMessage = z.infer<typeof HostMessageSchema>;
export type Keep = z.infer<typeof KeepSchema>;
export type Modify = z.infer<typeof ModifySchema>;
export type Insert = z.infer<typeof InsertSchema>;
export type Delete = z.infer<typeof DeleteSchema>;
export type ErrorMessage = z.infer<typeof ErrorMessageSchema>;
export type Done = z.infer<typeof DoneSchema>;
export type PluginMessage = z.infer<typeof PluginMessageSchema>;
export type Message = HostMessage | PluginMessage;
export type Counts = Done['counts'];
export type Source = z.infer<typeof SourceSchema>;

/** Every message schema by its file name under schemas/protocol/ (kept in sync by a test). */
export const MESSAGE_SCHEMAS = {
  header: HeaderSchema,
  directive: DirectiveMessageSchema,
  end: EndSchema,
  keep: KeepSchema,
  modify: ModifySchema,
  insert: InsertSchema,
  delete: DeleteSchema,
  error: ErrorMessageSchema,
  done: DoneSchema,
  'host-message': HostMessageSchema,
  'plugin-message': PluginMessageSchema,
} as const;
