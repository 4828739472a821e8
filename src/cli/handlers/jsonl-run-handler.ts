// `sandboxctl run --input-format jsonl --input FILE --plugin DIR...`: a directive file in,
// the plugins in a chain, directives out as JSON lines. Input source -> chain -> output
// sink; every plugin execution, refusal and the end of the run are audited.
import path from 'node:path';
import { openInvocationAuditLog } from '../../audit/index.js';
import { ExitCode, UsageError } from '../../errors.js';
import { newRunId } from '../../ids.js';
import type { Directive } from '../../ledger/directive-schema.js';
import { runSummaryEntry } from '../../pipeline/audit-entry.js';
import { loadPolicy } from '../../policy/load-policy.js';
import { hostFacts } from '../../policy/host-facts.js';
import { preparePlugin, runPluginChain, type ChainRunResult, type StepPreparation } from '../../pipeline/jsonl-run.js';
import { readDirectivesFile } from '../../run/jsonl-input.js';
import { stageDirectivesFile, writeDirectivesStream, type StagedFile } from '../../run/jsonl-output.js';
import type { CliContext, CommandResult } from '../command-context.js';
import { sha256File } from '../../pipeline/file-digest.js';
import { auditRunFailure, pingOrAudit } from '../../pipeline/run-end-audit.js';
import { safeText } from '../../safe-text.js';

export interface RunJsonlOptions {
  input: string;
  plugins: string[];
  /** `NAME=CONFIG` strings: the config string a plugin gets (Beancount's `plugin "NAME" "CONFIG"`). */
  configs: string[];
  profile?: string;
  profilesDir?: string;
  output?: string;
  json: boolean;
  auditLog?: string;
}

function parseConfigs(items: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--plugin-config ${JSON.stringify(item)} is not NAME=CONFIG`, { hint: 'e.g. --plugin-config acme.fx=EUR' });
    out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

export async function runJsonlCommand(ctx: CliContext, o: RunJsonlOptions): Promise<CommandResult> {
  if (o.plugins.length === 0) throw new UsageError('no plugin to run', { hint: 'give one or more --plugin BUNDLE_DIR (run in the order given)' });
  if (o.json && !o.output) throw new UsageError('--json prints the report on stdout, so the results need -o FILE', { hint: 'add -o out.jsonl' });
  const inputPath = path.resolve(o.input);
  const output = o.output ? path.resolve(o.output) : undefined;
  if (output === inputPath) throw new UsageError('-o names the input file: the input is never modified', { hint: 'write the results to another file' });
  const configs = parseConfigs(o.configs);

  const runId = newRunId(ctx.now());
  const log = ctx.logger.child({ runId });
  // no run goes unaudited: a log that cannot be written stops us before anything runs
  const audit = await openInvocationAuditLog({ flag: o.auditLog, env: ctx.env, argv: ctx.argv, clock: ctx.now });
  const t0 = Date.now();
  let input: Directive[] = [];
  let staged: StagedFile | undefined;
  // the directive file plays the ledger's part in every record: its path and the hash of its bytes
  let ledger: { path: string; sha256: string | null } = { path: inputPath, sha256: null };
  try {
    ledger = { path: inputPath, sha256: await sha256File(inputPath) };
    input = await readDirectivesFile(inputPath);
    const engine = ctx.engine();
    await pingOrAudit(engine, audit, runId, ledger);
    const policy = await loadPolicy({ root: ctx.root, env: ctx.env, profile: o.profile, profilesDir: o.profilesDir });
    const ceiling = policy.ceiling;
    const host = (await hostFacts(engine)).facts;
    const prepareCtx = { engine, root: ctx.root, runId, logger: log, policy, host, env: ctx.env };
    const runners = new Map();
    const steps: StepPreparation[] = [];
    for (const [position, dir] of o.plugins.entries()) {
      const bundleDir = path.resolve(dir);
      const line = { name: path.basename(bundleDir), config: null as string | null, filename: null, lineno: null };
      const step = await preparePlugin({ bundleDir, line, position }, prepareCtx, runners);
      // the config is looked up by the manifest's name, known once the bundle is read
      if (step.ok) step.plugin.line = { ...step.plugin.line, name: step.plugin.name, config: configs.get(step.plugin.name) ?? null };
      steps.push(step);
    }
    const result = await runPluginChain({ engine, runId, steps, input, options: {}, signal: ctx.signal, logger: log, audit, ledger });
    const exitCode = result.errors.length > 0 ? ExitCode.ledgerErrors : ExitCode.ok;
    // written only now, whole: a failed chain has thrown above and nothing was written;
    // and put in place only once the run is on record, so a run whose end cannot be audited leaves no output
    staged = output ? await stageDirectivesFile(output, result.output, ctx.signal) : undefined;
    await audit.append(
      runSummaryEntry({ runId, ledger, profile: ceiling.profile.name, durationMs: Date.now() - t0, status: 'ok', exitCode, errors: result.errors.length, inputCount: input.length, outputCount: result.output.length }),
    );
    await staged?.commit();
    staged = undefined;
    const stdout = output ? undefined : { writeTo: (out: NodeJS.WritableStream, signal: AbortSignal) => writeDirectivesStream(out, result.output, signal).then(() => {}) };
    return { ...report(result, input.length, exitCode, output), stdout };
  } catch (err) {
    await auditRunFailure(audit, { runId, ledger, durationMs: Date.now() - t0 }, err, log);
    throw err;
  } finally {
    await staged?.discard();
    await audit.close();
  }
}

function report(result: ChainRunResult, inputCount: number, exitCode: number, output: string | undefined): CommandResult {
  const plugins = result.steps.map((s) => ({
    name: s.plugin.name,
    version: s.plugin.version,
    ok: s.run.ok,
    exitCode: s.run.exitCode,
    durationMs: s.run.durationMs,
    counts: s.run.counts,
    peakMemoryBytes: s.run.usage.peakMemoryBytes,
  }));
  const data = { ok: exitCode === 0, exitCode, output: output ?? null, counts: { input: inputCount, output: result.output.length }, errors: result.errors, plugins };
  const lines = result.errors.map((e) => `error: ${e.plugin}: ${safeText(e.message)}${e.source ? ` (${safeText(e.source.filename)}:${e.source.lineno})` : ''}`);
  lines.push(
    `${exitCode === 0 ? 'ok' : 'errors'}: ${inputCount} directives in, ${result.output.length} out; ${plugins.length} plugin run(s), ${result.errors.length} error(s)` +
      (output ? `; wrote ${output}` : ''),
  );
  // a report about the results: stderr, so that stdout carries the results only
  return { data, text: lines.join('\n'), exitCode, textKind: 'report' };
}
