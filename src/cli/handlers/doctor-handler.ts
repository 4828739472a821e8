// `sandboxctl doctor`: the facts gathered, the checks evaluated.
import { ExitCode } from '../../errors.js';
import { evaluate, renderChecks } from '../../doctor/checks.js';
import { gatherFacts } from '../../doctor/gather.js';
import { newRunId } from '../../ids.js';
import type { CliContext, CommandResult } from '../command-context.js';

export async function runDoctor(ctx: CliContext): Promise<CommandResult> {
  const facts = await gatherFacts(ctx.engine(), ctx.root, newRunId(ctx.now()));
  const checks = evaluate(facts);
  const ok = checks.every((c) => c.status !== 'fail');
  const exitCode = !facts.engine.reachable ? ExitCode.engineUnavailable : ok ? ExitCode.ok : ExitCode.notReady;
  return { data: { ok, checks, facts }, text: renderChecks(checks), exitCode };
}
