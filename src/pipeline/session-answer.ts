// Reads what the trusted session answers for one builtin it ran (docs/protocol.md, `load
// --session`): "started", then exactly what that plugin would send from its own container,
// validated and accounted for the same way (schema, sizes, effects against its grant,
// counts), then "finished" with the time and CPU the session spent on it. Everything but
// the reading of lines is pure.
import { z } from 'zod';
import { SandboxViolation } from '../errors.js';
import type { Directive } from '../ledger/directive-schema.js';
import { parseJsonLine, type Line } from '../protocol/framing.js';
import type { Counts } from '../protocol/messages.js';
import type { RunLimits } from '../run/run-limits.js';
import { EffectTracker, type Effect, type PluginError } from '../validate/effects.js';
import { validatePluginMessage } from '../validate/message.js';

const Started = z.strictObject({ type: z.literal('started') });
const Finished = z.strictObject({ type: z.literal('finished'), ms: z.number().min(0), cpu_ms: z.number().min(0) });

export interface SessionAnswer {
  output: Directive[];
  errors: PluginError[];
  counts: Counts;
  /** Directives the answer modified or inserted, in the order it sent them: the session numbers them so. */
  made: Directive[];
  /** Time and CPU the session reports for the plugin (its run, snapshot and effects). */
  ms: number;
  cpuMs: number;
  /** Bytes of the answer (what a container would have written to stdout). */
  bytes: number;
}

export interface AnswerRequest {
  plugin: string;
  input: readonly Directive[];
  effects: readonly Effect[];
  limits: RunLimits;
  /** The next line of the session's output; rejects when it ended. */
  next: () => Promise<Line>;
  /** Called once the session says it started the plugin (its timeout counts from there). */
  onStarted?: () => void;
}

function expect<T>(schema: z.ZodType<T>, line: Line, what: string, plugin: string): T {
  const r = schema.safeParse(parseJsonLine(line));
  if (!r.success) {
    throw new SandboxViolation('protocol', `plugin ${plugin} in the trusted session: output line ${line.line} is not the expected "${what}" message`, {
      hint: 'this is a bug in sandboxctl or its runner image: rebuild the images (`sandboxctl images build`)',
      details: { plugin, line: line.line },
    });
  }
  return r.data;
}

/** Reads and checks one in-session plugin's answer; throws a SandboxViolation for what a container's run would fail on. */
export async function readSessionAnswer(req: AnswerRequest): Promise<SessionAnswer> {
  const { plugin, input, limits } = req;
  expect(Started, await req.next(), 'started', plugin);
  req.onStarted?.();
  const tracker = new EffectTracker<Directive>(
    { plugin, inputCount: input.length, allowed: req.effects, maxResults: limits.maxResults, maxErrors: limits.maxErrors },
    (i) => input[i],
  );
  const made: Directive[] = [];
  let bytes = 0;
  while (!tracker.done) {
    const line = await req.next();
    bytes += line.bytes + 1;
    if (line.bytes > limits.maxLineBytes) {
      throw new SandboxViolation('line-size', `plugin ${plugin}: output line ${line.line} is longer than the limit of ${limits.maxLineBytes} bytes`, {
        details: { plugin, line: line.line, limit: limits.maxLineBytes },
      });
    }
    if (bytes > limits.maxOutputBytes) {
      throw new SandboxViolation('output-size', `plugin ${plugin} wrote more than ${limits.maxOutputBytes} bytes of results`, {
        details: { plugin, line: line.line, limit: limits.maxOutputBytes },
      });
    }
    const msg = validatePluginMessage(parseJsonLine(line), { plugin, line: line.line, limits: limits.values });
    tracker.accept(msg, line.line);
    if (msg.type === 'modify' || msg.type === 'insert') made.push(msg.directive as Directive);
  }
  const fin = expect(Finished, await req.next(), 'finished', plugin);
  return { output: tracker.output, errors: tracker.errors, counts: { ...tracker.counts }, made, ms: fin.ms, cpuMs: fin.cpu_ms, bytes };
}
