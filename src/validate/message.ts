// Validation of one message a plugin sent, in the order that keeps the host safe:
// structure first (prototype keys, control characters, sizes), then the schema
// (types, dates, accounts, currencies, exact decimals), then per-directive sizes.
import type { z } from 'zod';
import { SandboxViolation, describeFound } from '../errors.js';
import { MessageSchemas, type PluginMessage } from '../protocol/messages.js';
import type { Directive } from '../ledger/directive-schema.js';
import { DEFAULT_VALUE_LIMITS, type ValueLimits } from './value-limits.js';
import { findStructureProblem, isStructureSound } from './structure.js';
import { REJECT, compileSchema } from './compiled-schema.js';

export interface MessageContext {
  /** Plugin name, for messages. */
  plugin: string;
  /** 1-based line of the plugin's stdout the message came from. */
  line: number;
  limits?: ValueLimits;
  /** The plugin-message schema (createMessageSchemas(...).PluginMessage for renamed account roots). */
  schema?: z.ZodType<PluginMessage>;
}

const MESSAGE_PATHS: ReadonlySet<string> = new Set(['message']);

function where(ctx: MessageContext): string {
  return `plugin ${ctx.plugin}, output line ${ctx.line}`;
}

/** Says which directive (by the message's type and index) a problem is in. */
function subject(raw: unknown): string {
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const r = raw as Record<string, unknown>;
    if (typeof r.type === 'string' && /^[a-z]{1,16}$/.test(r.type)) {
      return typeof r.index === 'number' ? `${r.type} message for input ${r.index}` : `${r.type} message`;
    }
  }
  return 'message';
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');
}

function valueAt(raw: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = raw;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function checkDirectiveSizes(d: Directive, limits: ValueLimits): { path: string; message: string } | undefined {
  if (Object.keys(d.meta).length > limits.maxMetaKeys) {
    return { path: 'directive.meta', message: `${Object.keys(d.meta).length} metadata keys, more than the limit of ${limits.maxMetaKeys}` };
  }
  if (d.type === 'Transaction') {
    if (d.postings.length > limits.maxPostings) {
      return { path: 'directive.postings', message: `${d.postings.length} postings, more than the limit of ${limits.maxPostings}` };
    }
    for (const [i, p] of d.postings.entries()) {
      const n = p.meta ? Object.keys(p.meta).length : 0;
      if (n > limits.maxMetaKeys) {
        return { path: `directive.postings[${i}].meta`, message: `${n} metadata keys, more than the limit of ${limits.maxMetaKeys}` };
      }
    }
  }
  return undefined;
}

/**
 * Returns the message, typed, or throws SandboxViolation: 'invalid-output' when a
 * directive or string is unacceptable, 'protocol' when the line is not a plugin message.
 */
export function validatePluginMessage(raw: unknown, ctx: MessageContext): PluginMessage {
  const limits = ctx.limits ?? DEFAULT_VALUE_LIMITS;
  // the common case, answered by the compiled schema; anything refused is judged again below, where the error is made
  const check = compileSchema(ctx.schema ?? MessageSchemas.PluginMessage);
  if (check && isStructureSound(raw, { limits, messagePaths: MESSAGE_PATHS })) {
    const msg = check(raw);
    if (msg !== REJECT) return checkSizes(msg, raw, ctx, limits);
  }
  return validatePluginMessageByZod(raw, ctx);
}

/** The same judgement through zod alone, which names the first problem (the reference the compiled path is tested against). */
export function validatePluginMessageByZod(raw: unknown, ctx: MessageContext): PluginMessage {
  const limits = ctx.limits ?? DEFAULT_VALUE_LIMITS;
  const structural = findStructureProblem(raw, { limits, messagePaths: MESSAGE_PATHS });
  if (structural) {
    throw new SandboxViolation(
      'invalid-output',
      `${where(ctx)}: ${subject(raw)} refused at ${structural.path || '(root)'}: ${structural.message}`,
      {
        hint: 'the plugin must send only plain JSON values with printable strings within the size limits',
        details: { plugin: ctx.plugin, line: ctx.line, path: structural.path },
      },
    );
  }
  const parsed = (ctx.schema ?? MessageSchemas.PluginMessage).safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => ({
      path: formatPath(i.path),
      message: i.message,
      found: describeFound(valueAt(raw, i.path)),
    }));
    const first = issues[0]!;
    const inDirective = first.path.startsWith('directive');
    throw new SandboxViolation(
      inDirective ? 'invalid-output' : 'protocol',
      `${where(ctx)}: ${subject(raw)} is not valid: ${issues.map((i) => `${i.path || '(root)'}: ${i.message} (found ${i.found})`).join('; ')}`,
      {
        hint: inDirective
          ? 'directives must follow the protocol v1 shapes (docs/protocol.md): exact decimal strings, YYYY-MM-DD dates, Beancount account and currency syntax'
          : 'each output line must be one protocol v1 message: keep, modify, insert, delete, error or done (docs/protocol.md)',
        details: { plugin: ctx.plugin, line: ctx.line, issues },
      },
    );
  }
  return checkSizes(parsed.data, raw, ctx, limits);
}

function checkSizes(msg: PluginMessage, raw: unknown, ctx: MessageContext, limits: ValueLimits): PluginMessage {
  if (msg.type === 'modify' || msg.type === 'insert') {
    const size = checkDirectiveSizes(msg.directive, limits);
    if (size) {
      throw new SandboxViolation('invalid-output', `${where(ctx)}: ${subject(raw)} refused at ${size.path}: ${size.message}`, {
        hint: 'split the work into smaller directives',
        details: { plugin: ctx.plugin, line: ctx.line, path: size.path },
      });
    }
  }
  return msg;
}
