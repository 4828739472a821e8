// The finalizer (Beancount's post-plugin ops and validation) and the printer, each in
// its own hardened container from the Python runner image.
import { createWriteStream } from 'node:fs';
import type { Engine } from '../engine/engine.js';
import type { Directive } from '../ledger/directive-schema.js';
import type { Logger } from '../logger.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { runPlugin, type PluginRun } from '../run/run-plugin.js';
import { runLimits } from '../run/limits.js';
import { runStage } from '../stages/run-stage.js';
import { stageBody } from '../stages/stage-body.js';
import type { CheckedSeccomp } from '../spec/seccomp.js';

export interface TrustedStageContext {
  engine: Engine;
  runId: string;
  imageId: string;
  imageRef: string;
  options: Record<string, unknown>;
  signal?: AbortSignal;
  logger: Logger;
  timeoutMs: number;
  memoryBytes: number;
  seccomp: CheckedSeccomp;
  apparmor: boolean;
}

/** Post ops (balance) and validation: answers like a plugin that may modify. */
export async function finalize(ctx: TrustedStageContext, input: readonly Directive[]): Promise<PluginRun> {
  return runPlugin({
    engine: ctx.engine,
    runId: ctx.runId,
    plugin: { name: 'sandboxctl.finalize', version: null },
    image: { id: ctx.imageId, ref: ctx.imageRef },
    spec: stageBody({ imageId: ctx.imageId, cmd: ['finalize'], kind: 'finalizer', runId: ctx.runId, memoryBytes: ctx.memoryBytes, timeoutMs: ctx.timeoutMs, seccomp: ctx.seccomp, apparmor: ctx.apparmor }),
    config: null,
    options: ctx.options,
    input,
    effects: ['add', 'modify', 'remove'],
    limits: runLimits({ timeoutMs: ctx.timeoutMs, maxErrors: 1_000_000 }, input.length),
    signal: ctx.signal,
    logger: ctx.logger,
  });
}

/** Prints directives in Beancount syntax into a file (streamed, never held whole). */
export async function printLedger(ctx: TrustedStageContext, input: readonly Directive[], file: string): Promise<void> {
  await runStage({
    engine: ctx.engine,
    name: 'print',
    timeoutMs: ctx.timeoutMs,
    signal: ctx.signal,
    logger: ctx.logger,
    body: stageBody({ imageId: ctx.imageId, cmd: ['print'], kind: 'finalizer', runId: ctx.runId, memoryBytes: ctx.memoryBytes, timeoutMs: ctx.timeoutMs, seccomp: ctx.seccomp, apparmor: ctx.apparmor }),
    feed: async (w) => {
      await w.write({ type: 'header', protocol: PROTOCOL_VERSION, plugin: { name: 'sandboxctl.print', version: null }, config: null, options: ctx.options, count: input.length });
      for (let i = 0; i < input.length; i++) await w.write({ type: 'directive', index: i, directive: input[i] });
      await w.write({ type: 'end' });
    },
    consume: async (stdout) => {
      const out = createWriteStream(file, { flags: 'wx', mode: 0o644 });
      try {
        for await (const chunk of stdout) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      } finally {
        await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      }
    },
  });
}
