// `sandboxctl gc`: what sandboxctl left behind on the engine, removed.
import { ExitCode } from '../../errors.js';
import { collectLeftovers, pidIsAlive, type Leftover } from '../../run/leftovers.js';
import { safeText } from '../../safe-text.js';
import type { CliContext, CommandResult } from '../command-context.js';

function line(verb: string, l: Leftover): string {
  const who = l.ownerPid === null ? 'no owner' : `owner pid ${l.ownerPid}`;
  return `${verb} ${l.kind.padEnd(9)} ${l.id.slice(0, 12)} ${safeText(l.name ?? '')} (run ${safeText(l.runId ?? '?')}, ${who})`;
}

export async function runGc(ctx: CliContext, opts: { all?: boolean; images?: boolean }): Promise<CommandResult> {
  const engine = ctx.engine();
  await engine.ping();
  const r = await collectLeftovers(engine, { all: !!opts.all, images: !!opts.images, isAlive: pidIsAlive });
  const lines = [
    ...r.removed.map((l) => line('removed', l)),
    ...r.inUse.map((l) => line('in use ', l)),
    ...r.failed.map((l) => `${line('FAILED ', l)}: ${safeText(l.error)}`),
    `${r.removed.length} removed, ${r.inUse.length} in use by running sandboxctl processes, ${r.failed.length} could not be removed`,
  ];
  return { data: r, text: lines.join('\n'), exitCode: r.failed.length ? ExitCode.internal : ExitCode.ok };
}
