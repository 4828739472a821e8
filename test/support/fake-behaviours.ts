// Scripted behaviours for MemoryEngine's containers: a plugin runner that keeps what it
// is sent, one that crashes, hangs, writes garbage or exits early, and a trusted session
// that loads a given ledger and finalizes by keeping. They speak protocol v1 on stdio
// (docs/protocol.md) so the host side is exercised as it is against a real runner.
import type { Directive } from '../../src/ledger/directive-schema.js';
import type { PluginLine } from '../../src/pipeline/load-ledger.js';
import type { Behaviour, FakeProcess } from './memory-engine.js';

const untilKilled = (p: FakeProcess): Promise<number> =>
  new Promise((r) => (p.killed.aborted ? r(137) : p.killed.addEventListener('abort', () => r(137), { once: true })));

/** Reads a plugin's input (header, directives, end); returns how many directives came. */
async function readInput(p: FakeProcess): Promise<number> {
  let n = 0;
  for (;;) {
    const next = await p.stdin.next();
    if (next.done) return n;
    const type = (JSON.parse(next.value) as { type: string }).type;
    if (type === 'directive') n++;
    if (type === 'end') return n;
  }
}

const done = (c: Partial<Record<'kept' | 'modified' | 'inserted' | 'deleted' | 'errors', number>>) =>
  JSON.stringify({ type: 'done', counts: { kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0, ...c } }) + '\n';

/** Keeps every directive it is sent, optionally reporting errors against the first. */
export function echoKeep(o: { errors?: string[]; delayMs?: number } = {}): Behaviour {
  return async (p) => {
    const n = await readInput(p);
    if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
    if (n > 0) await p.out(JSON.stringify({ type: 'keep', from: 0, to: n }) + '\n');
    for (const message of o.errors ?? []) await p.out(JSON.stringify({ type: 'error', message, source: null, index: n > 0 ? 0 : null }) + '\n');
    await p.out(done({ kept: n, errors: o.errors?.length ?? 0 }));
    return 0;
  };
}

/** Inserts one directive and keeps the rest. */
export function inserts(directive: Directive): Behaviour {
  return async (p) => {
    const n = await readInput(p);
    if (n > 0) await p.out(JSON.stringify({ type: 'keep', from: 0, to: n }) + '\n');
    await p.out(JSON.stringify({ type: 'insert', directive }) + '\n');
    await p.out(done({ kept: n, inserted: 1 }));
    return 0;
  };
}

/** Reads its input, writes a traceback to stderr and exits non-zero. */
export function crash(exitCode = 1, stderr = 'Traceback (most recent call last):\nValueError: boom\n'): Behaviour {
  return async (p) => {
    await readInput(p);
    p.err(stderr);
    return exitCode;
  };
}

/** Never answers and never exits, until killed. */
export function hang(): Behaviour {
  return (p) => untilKilled(p);
}

/** Sends `done`, then does not exit until killed. */
export function doneThenHang(): Behaviour {
  return async (p) => {
    const n = await readInput(p);
    if (n > 0) await p.out(JSON.stringify({ type: 'keep', from: 0, to: n }) + '\n');
    await p.out(done({ kept: n }));
    return untilKilled(p);
  };
}

/** Writes a line that is not JSON, then waits (the host must stop it). */
export function garbage(line = 'this is not JSON'): Behaviour {
  return async (p) => {
    await p.out(line + '\n');
    return untilKilled(p);
  };
}

/** Exits with a code without a word on stdout. */
export function exits(exitCode: number, o: { oomKilled?: boolean } = {}): Behaviour {
  return async (p) => {
    await readInput(p);
    return { exitCode, oomKilled: !!o.oomKilled };
  };
}

export interface SessionScript {
  directives: Directive[];
  plugins: PluginLine[];
  /** Errors the loader reports about the ledger itself. */
  loadErrors?: string[];
  /** Errors Beancount's validation reports on the final list. */
  finalizeErrors?: string[];
  /** How the loader behaves: sends everything, crashes after the plugin lines, or hangs after them. */
  load?: 'ok' | 'crash' | 'hang';
  /** How the finalizer behaves once the chain's result comes. */
  finalize?: 'ok' | 'crash' | 'hang' | 'garbage';
  /** Text the printer sends for the final ledger. */
  printed?: string;
  /** Sees the host's "load" choice (whether it asked for the pickle). */
  onLoadChoice?: (pickle: boolean) => void;
}

/** The trusted session (`load --session`): loads, waits for the chain, finalizes by keeping all. */
export function session(s: SessionScript): Behaviour {
  return async (p) => {
    const send = (m: unknown) => p.out(JSON.stringify(m) + '\n');
    await send({ type: 'options', options: { title: 'fake' }, sandbox: { plugin_sandbox: null, plugin_timeout: null, plugin_memory_limit: null }, input_hash: 'fake' });
    await send({ type: 'plugins', processing_mode: 'default', pre: [], plugins: s.plugins, post: [] });
    if (s.load === 'crash') {
      p.err('Traceback (most recent call last):\nRuntimeError: the loader broke\n');
      return 1;
    }
    if (s.load === 'hang') return untilKilled(p);
    const loadErrors = s.loadErrors ?? [];
    for (const message of loadErrors) await send({ type: 'error', message, source: null, index: null });
    for (const [index, directive] of s.directives.entries()) await send({ type: 'directive', index, directive });
    // --pickle-on-request: the host's one "load" line comes before "done" (its input may end instead)
    const choice = await p.stdin.next();
    if (!choice.done) {
      const msg = JSON.parse(choice.value) as { type?: string; pickle?: unknown };
      if (msg.type !== 'load' || typeof msg.pickle !== 'boolean') {
        p.err(`sandboxctl runner: protocol error: expected "load", found ${choice.value}\n`);
        return 3;
      }
      s.onLoadChoice?.(msg.pickle);
    }
    await send({ type: 'done', count: s.directives.length, errors: loadErrors.length });

    // the finalize request: a header line, then the body, up to "end"
    const header = await p.stdin.next();
    if (header.done) return 0; // the run stopped before the chain ended: stdin closed
    const request = JSON.parse(header.value) as { count: number; print: boolean };
    for (;;) {
      const next = await p.stdin.next();
      if (next.done || (JSON.parse(next.value) as { type: string }).type === 'end') break;
    }
    if (s.finalize === 'crash') {
      p.err('Traceback (most recent call last):\nRuntimeError: the finalizer broke\n');
      return 1;
    }
    if (s.finalize === 'hang') return untilKilled(p);
    if (s.finalize === 'garbage') {
      await p.out('{"type": "nonsense"}\n');
      return untilKilled(p);
    }
    if (request.count > 0) await send({ type: 'keep', from: 0, to: request.count });
    const errors = s.finalizeErrors ?? [];
    for (const message of errors) await send({ type: 'error', message, source: null, index: null });
    await send({ type: 'done', counts: { kept: request.count, modified: 0, inserted: 0, deleted: 0, errors: errors.length } });
    if (request.print) {
      await send({ type: 'text', text: s.printed ?? ';; printed\n' });
      await send({ type: 'end' });
    }
    // then it waits for stdin to close, as the real session does
    while (!(await p.stdin.next()).done);
    return 0;
  };
}
