// `sandboxctl images build` and `images list`.
import { buildImages, imageStatus } from '../../images/build.js';
import { ExitCode } from '../../errors.js';
import type { RunnerName } from '../../images/recipes.js';
import type { CliContext, CommandResult } from '../command-context.js';

export async function buildImagesCommand(ctx: CliContext, opts: { pull: boolean; only?: Array<RunnerName | 'sandboxctl'> }): Promise<CommandResult> {
  const engine = ctx.engine();
  await engine.ping();
  const allowPull = opts.pull && ctx.env.SANDBOXCTL_NO_PULL !== '1';
  const runners = opts.only?.filter((o): o is RunnerName => o !== 'sandboxctl');
  const app = !opts.only || opts.only.includes('sandboxctl') ? { root: ctx.root, node: { path: process.execPath, version: process.version, arch: process.arch } } : undefined;
  const outcomes = await buildImages(engine, { root: ctx.root, allowPull, only: runners, app }, ctx.logger);
  const built = outcomes.filter((o) => o.built);
  const lines = outcomes.map((o) => `${o.built ? 'built  ' : 'current'} ${o.name.padEnd(14)} ${o.tag}${o.built ? ` (${o.how}, ${o.seconds.toFixed(1)} s)` : ''}`);
  lines.push(built.length === 0 ? 'nothing changed: nothing was rebuilt' : `${built.length} image(s) built`);
  return { data: { outcomes, rebuilt: built.length }, text: lines.join('\n'), exitCode: ExitCode.ok };
}

export async function listImagesCommand(ctx: CliContext): Promise<CommandResult> {
  const status = await imageStatus(ctx.engine(), { root: ctx.root });
  const text = status
    .map((s) => `${s.present ? 'current' : 'missing'} ${s.name.padEnd(14)} ${s.tag}${s.stale.length ? `  (${s.stale.length} stale)` : ''}`)
    .join('\n');
  const ok = status.every((s) => s.present);
  return { data: status, text, exitCode: ok ? ExitCode.ok : ExitCode.notReady };
}
