import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExitCode, StageFailedError } from '../errors.js';
import type { CommandResult } from './command-context.js';
import { emitResult } from './render.js';

function sinks() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const text = (s: PassThrough) => (s.read() as Buffer | null)?.toString() ?? '';
  return { io: { stdout, stderr }, out: () => text(stdout), err: () => text(stderr) };
}
const signal = new AbortController().signal;

describe('emitResult: handlers return data, the renderer writes it', () => {
  it('writes a result text to stdout', async () => {
    const s = sinks();
    await emitResult({ data: { a: 1 }, text: 'plan: ok', exitCode: 0 }, false, s.io, signal);
    expect(s.out()).toBe('plan: ok\n');
    expect(s.err()).toBe('');
  });

  it('sends a report about results to stderr, so stdout carries results only', async () => {
    const s = sinks();
    await emitResult({ data: {}, text: 'ok: 3 directives in', exitCode: 0, textKind: 'report' }, false, s.io, signal);
    expect(s.out()).toBe('');
    expect(s.err()).toBe('ok: 3 directives in\n');
  });

  it('streams stdout results first, then the report on stderr, then releases them', async () => {
    const s = sinks();
    const order: string[] = [];
    const result: CommandResult = {
      data: {},
      text: 'ok',
      exitCode: 0,
      stdout: {
        writeTo: async (out) => {
          order.push('write');
          out.write('{"type":"open"}\n');
        },
        release: async () => {
          order.push('release');
        },
      },
    };
    await emitResult(result, false, s.io, signal);
    expect(s.out()).toBe('{"type":"open"}\n');
    expect(s.err()).toBe('ok\n');
    expect(order).toEqual(['write', 'release']);
  });

  it('releases the results when writing them fails', async () => {
    const s = sinks();
    let released = false;
    const result: CommandResult = {
      data: {},
      text: 'ok',
      exitCode: 0,
      stdout: { writeTo: () => Promise.reject(new Error('EPIPE')), release: async () => void (released = true) },
    };
    await expect(emitResult(result, false, s.io, signal)).rejects.toThrow('EPIPE');
    expect(released).toBe(true);
  });

  it('prints --json data on stdout, even for a report', async () => {
    const s = sinks();
    await emitResult({ data: { ok: true }, text: 'ok', exitCode: 0, textKind: 'report' }, true, s.io, signal);
    expect(JSON.parse(s.out())).toEqual({ ok: true });
    expect(s.err()).toBe('');
  });
});

describe('StageFailedError', () => {
  it('has its own exit code, not the ledger-errors one', () => {
    const e = new StageFailedError('the loader stage failed (exit 1)');
    expect(e.exitCode).toBe(ExitCode.stageFailed);
    expect(e.exitCode).toBe(9);
    expect(e.exitCode).not.toBe(ExitCode.ledgerErrors);
    expect(e.toJSON()).toMatchObject({ code: 'stage-failed' });
  });
});
