// Applies a plugin's result stream to its input: keep ranges, modify, insert, delete.
// Every input index must be accounted for exactly once, the counts in `done` must
// match what was sent, and every effect must be within the plugin's grant.
// Pure: the input is passed in (it may still be arriving), no I/O.
import { SandboxViolation } from '../errors.js';
import type { Counts, ErrorMessage, PluginMessage } from '../protocol/messages.js';

/** The effects a manifest can declare and a grant can allow. */
export type Effect = 'add' | 'modify' | 'remove';
export type { Counts };

export interface EffectOptions {
  plugin: string;
  /** Number of input directives announced in the header. */
  inputCount: number;
  allowed: Iterable<Effect>;
  /** Most result messages (keep, modify, insert, delete). */
  maxResults: number;
  /** Most error messages. */
  maxErrors: number;
}

export interface PluginError {
  message: string;
  source: ErrorMessage['source'];
  index: number | null;
}

const EFFECT_OF = { modify: 'modify', insert: 'add', delete: 'remove' } as const;
const VERB = { modify: 'modified', insert: 'inserted', delete: 'deleted' } as const;

function listIndices(xs: number[], total: number): string {
  return xs.join(', ') + (total > xs.length ? ` and ${total - xs.length} more` : '');
}

/**
 * Accepts messages one at a time (as they arrive) and builds the output list.
 * `input(i)` returns input directive i, or undefined if it has not been sent yet.
 */
export class EffectTracker<D> {
  readonly output: D[] = [];
  readonly errors: PluginError[] = [];
  readonly counts: Counts = { kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0 };
  private readonly accounted: Uint8Array;
  private accountedCount = 0;
  private results = 0;
  private finished = false;
  private readonly allowed: ReadonlySet<Effect>;

  constructor(
    private readonly opts: EffectOptions,
    private readonly input: (index: number) => D | undefined,
  ) {
    this.accounted = new Uint8Array(opts.inputCount);
    this.allowed = new Set(opts.allowed);
  }

  get done(): boolean {
    return this.finished;
  }

  accept(msg: PluginMessage, line: number): void {
    const at = `plugin ${this.opts.plugin}, output line ${line}`;
    const details = { plugin: this.opts.plugin, line };
    if (this.finished) {
      throw new SandboxViolation('protocol', `${at}: a ${msg.type} message follows done; nothing may follow done`, {
        hint: 'done must be the last line the plugin writes',
        details,
      });
    }
    switch (msg.type) {
      case 'keep':
        this.countResult(at, details);
        if (msg.to > this.opts.inputCount) {
          throw new SandboxViolation('protocol', `${at}: keep [${msg.from}, ${msg.to}) goes past the ${this.opts.inputCount} input directives`, {
            hint: 'keep ranges are [from, to) with to exclusive and at most the input count',
            details,
          });
        }
        for (let i = msg.from; i < msg.to; i++) this.output.push(this.take(i, at, details, 'keep'));
        this.counts.kept += msg.to - msg.from;
        return;
      case 'modify':
        this.checkEffect(msg.type, at, details, msg.index);
        this.countResult(at, details);
        this.take(msg.index, at, details, 'modify');
        this.output.push(msg.directive as D);
        this.counts.modified++;
        return;
      case 'delete':
        this.checkEffect(msg.type, at, details, msg.index);
        this.countResult(at, details);
        this.take(msg.index, at, details, 'delete');
        this.counts.deleted++;
        return;
      case 'insert':
        this.checkEffect(msg.type, at, details);
        this.countResult(at, details);
        this.output.push(msg.directive as D);
        this.counts.inserted++;
        return;
      case 'error':
        if (this.counts.errors >= this.opts.maxErrors) {
          throw new SandboxViolation('error-count', `${at}: plugin reported more than ${this.opts.maxErrors} errors`, {
            hint: 'fix the ledger or the plugin, or raise the error limit (--max-errors)',
            details: { ...details, limit: this.opts.maxErrors },
          });
        }
        if (msg.index !== null && msg.index >= this.opts.inputCount) {
          throw new SandboxViolation('protocol', `${at}: error refers to input ${msg.index}, but there are ${this.opts.inputCount} inputs`, {
            hint: 'an error index must name an input directive, or be null',
            details,
          });
        }
        this.errors.push({ message: msg.message, source: msg.source, index: msg.index });
        this.counts.errors++;
        return;
      case 'done':
        this.checkDone(msg.counts, at, details);
        this.finished = true;
        return;
    }
  }

  /** Throws unless `done` arrived; call when the plugin's output has ended. */
  requireDone(): Counts {
    if (!this.finished) {
      throw new SandboxViolation(
        'early-exit',
        `plugin ${this.opts.plugin} ended its output without done (after ${this.accountedCount} of ${this.opts.inputCount} inputs were accounted for); the output was cut short`,
        {
          hint: 'the plugin must write {"type":"done",...} as its last line; see its stderr for why it stopped',
          details: { plugin: this.opts.plugin, accounted: this.accountedCount, inputCount: this.opts.inputCount },
        },
      );
    }
    return this.counts;
  }

  private checkEffect(type: 'modify' | 'insert' | 'delete', at: string, details: Record<string, unknown>, index?: number): void {
    const effect = EFFECT_OF[type];
    if (this.allowed.has(effect)) return;
    const what = index === undefined ? 'a directive' : `input directive ${index}`;
    throw new SandboxViolation('effect', `${at}: plugin ${VERB[type]} ${what}, but its grant does not include the '${effect}' effect`, {
      hint: `if the plugin should be allowed to do this, declare \`effects: [${effect}]\` in its plugin.yaml and use a profile that grants it`,
      details: { ...details, effect, allowed: [...this.allowed].sort() },
    });
  }

  private countResult(at: string, details: Record<string, unknown>): void {
    if (++this.results > this.opts.maxResults) {
      throw new SandboxViolation('result-count', `${at}: plugin sent more than ${this.opts.maxResults} results`, {
        hint: 'coalesce unchanged directives into keep ranges, or raise the result limit (--max-results)',
        details: { ...details, limit: this.opts.maxResults },
      });
    }
  }

  private take(i: number, at: string, details: Record<string, unknown>, verb: string): D {
    if (i >= this.opts.inputCount) {
      throw new SandboxViolation('protocol', `${at}: ${verb} refers to input ${i}, but there are ${this.opts.inputCount} inputs`, {
        hint: 'indices run from 0 to count-1 as sent in the header',
        details,
      });
    }
    if (this.accounted[i]) {
      throw new SandboxViolation('protocol', `${at}: input ${i} is accounted for twice (${verb}); each input must be kept, modified or deleted exactly once`, {
        details: { ...details, index: i },
      });
    }
    const d = this.input(i);
    if (d === undefined) {
      throw new SandboxViolation('protocol', `${at}: ${verb} refers to input ${i} before it was sent`, { details: { ...details, index: i } });
    }
    this.accounted[i] = 1;
    this.accountedCount++;
    return d;
  }

  private checkDone(claimed: Counts, at: string, details: Record<string, unknown>): void {
    const diffs = (Object.keys(this.counts) as Array<keyof Counts>)
      .filter((k) => claimed[k] !== this.counts[k])
      .map((k) => `${k}: done says ${claimed[k]}, sent ${this.counts[k]}`);
    if (diffs.length) {
      throw new SandboxViolation('protocol', `${at}: the counts in done do not match what was sent (${diffs.join('; ')})`, {
        hint: 'output was lost or the plugin miscounted; done must report exactly what it sent',
        details: { ...details, claimed, sent: { ...this.counts } },
      });
    }
    if (this.accountedCount !== this.opts.inputCount) {
      const missing: number[] = [];
      for (let i = 0; i < this.opts.inputCount && missing.length < 10; i++) if (!this.accounted[i]) missing.push(i);
      const total = this.opts.inputCount - this.accountedCount;
      throw new SandboxViolation('protocol', `${at}: done arrived but ${total} input(s) were never accounted for: ${listIndices(missing, total)}`, {
        hint: 'every input index must be kept, modified or deleted exactly once',
        details: { ...details, missing },
      });
    }
  }
}

export interface AppliedEffects<D> {
  output: D[];
  errors: PluginError[];
  counts: Counts;
}

/** Applies a whole message list to an input list (the tracker, in one call). */
export function applyEffects<D>(
  input: readonly D[],
  messages: Iterable<PluginMessage>,
  opts: Omit<EffectOptions, 'inputCount'>,
): AppliedEffects<D> {
  const t = new EffectTracker<D>({ ...opts, inputCount: input.length }, (i) => input[i]);
  let line = 0;
  for (const m of messages) t.accept(m, ++line);
  const counts = t.requireDone();
  return { output: t.output, errors: t.errors, counts };
}
