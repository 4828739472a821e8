// Input source: a file of protocol v1 directives, one JSON object per line. Every bad
// line is reported with its line number (none is skipped); up to MAX_ISSUES are listed.
import { createReadStream } from 'node:fs';
import { InvalidInputError, describeFound, type FieldIssue } from '../errors.js';
import { DirectiveSchema, type Directive } from '../ledger/directive-schema.js';
import { FramingError, parseJsonLine, splitLines } from '../protocol/framing.js';
import { DEFAULT_VALUE_LIMITS } from '../validate/value-limits.js';
import { findStructureProblem, isStructureSound } from '../validate/structure.js';
import { parseFast } from '../validate/compiled-schema.js';

const MAX_ISSUES = 50;
export const INPUT_MAX_LINE_BYTES = 16 * 1024 * 1024;

/** Parses and checks directives from lines of text; collects every problem. */
export async function parseDirectiveLines(
  source: AsyncIterable<Uint8Array | string>,
  file: string,
  maxLineBytes = INPUT_MAX_LINE_BYTES,
): Promise<Directive[]> {
  const out: Directive[] = [];
  const issues: FieldIssue[] = [];
  let badLines = 0;
  const report = (line: number, message: string, found?: string) => {
    badLines++;
    if (issues.length < MAX_ISSUES) issues.push({ path: `line ${line}`, message, ...(found ? { found } : {}) });
  };
  try {
    for await (const line of splitLines(source, { maxLineBytes, allowUnterminatedLast: true })) {
      let raw: unknown;
      try {
        raw = parseJsonLine(line);
      } catch (err) {
        report(line.line, (err as Error).message.replace(/^line \d+: /, ''));
        continue;
      }
      const structural = isStructureSound(raw, { limits: DEFAULT_VALUE_LIMITS }) ? undefined : findStructureProblem(raw, { limits: DEFAULT_VALUE_LIMITS });
      if (structural) {
        report(line.line, `${structural.path || '(root)'}: ${structural.message}`);
        continue;
      }
      const parsed = parseFast(DirectiveSchema, raw);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        const where = i.path.map(String).join('.') || '(root)';
        report(line.line, `${where}: ${i.message}`, describeFound(raw && typeof raw === 'object' ? (raw as Record<string, unknown>)[String(i.path[0])] : raw));
        continue;
      }
      out.push(parsed.data);
    }
  } catch (err) {
    // framing problems (a line too long, bad UTF-8, an empty line) end the read: later line numbers are unknown
    if (!(err instanceof FramingError)) throw err;
    report(err.line, err.message.replace(/^line \d+: /, ''));
  }
  if (badLines > 0) {
    if (badLines > issues.length) issues.push({ path: '', message: `... and ${badLines - issues.length} more bad lines` });
    throw new InvalidInputError(file, issues, {
      hint: 'each line must be one directive in protocol v1 JSON (docs/protocol.md); fix the lines listed',
    });
  }
  return out;
}

export async function readDirectivesFile(file: string): Promise<Directive[]> {
  const stream = createReadStream(file);
  try {
    return await parseDirectiveLines(stream, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'EISDIR' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      throw new InvalidInputError(file, [{ path: '', message: `cannot read the input: ${(err as Error).message}` }], {
        cause: err,
        hint: 'give a readable JSONL file of directives with --input',
      });
    }
    throw err;
  } finally {
    stream.destroy();
  }
}
