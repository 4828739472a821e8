import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { evaluate, renderChecks } from '../../doctor/checks.js';
import { gatherFacts } from '../../doctor/gather.js';
import { newRunId } from '../../ids.js';
import type { Choose } from './index.js';

export function registerDoctor(program: Command, choose: Choose): void {
  program
    .command('doctor')
    .description('check the engine, runtimes, images and host features sandboxctl needs')
    .option('--json', 'print the facts and checks as JSON')
    .action((opts: { json?: boolean }) =>
      choose(async (ctx) => {
        const facts = await gatherFacts(ctx.engine(), ctx.root, newRunId(ctx.now()));
        const checks = evaluate(facts);
        const ok = checks.every((c) => c.status !== 'fail');
        const exitCode = !facts.engine.reachable ? ExitCode.engineUnavailable : ok ? ExitCode.ok : ExitCode.notReady;
        return { data: { ok, checks, facts }, text: renderChecks(checks), exitCode };
      }, !!opts.json),
    );
}
