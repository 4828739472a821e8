// `sandboxctl run LEDGER`: thin: options in, the pipeline, the output written atomically,
// diagnostics out. Every way it can end is audited.
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openInvocationAuditLog } from '../../audit/index.js';
import { ExitCode, UsageError } from '../../errors.js';
import { requireRunnerImage } from '../../images/build.js';
import { renderDiagnostic } from '../../ledger/diagnostic.js';
import { directiveJson } from '../../ledger/directive-json.js';
import { newRunId } from '../../ids.js';
import { loadPolicy } from '../../policy/load-policy.js';
import { hostFacts } from '../../policy/host-facts.js';
import type { Notice } from '../../policy/ledger-options.js';
import { discardedEntry, pluginRunEntry, refusedEntry, runSummaryEntry } from '../../pipeline/audit-entry.js';
import { pluginDirs, readCatalogue } from '../../pipeline/catalogue.js';
import type { RunError } from '../../pipeline/diagnostics.js';
import { ledgerSandboxOptions, preparePlugins } from '../../pipeline/prepare-plugins.js';
import type { PreparedStep } from '../../pipeline/jsonl-run.js';
import { runLedger, type LedgerRunResult } from '../../pipeline/run-ledger.js';
import type { CliContext, CommandResult, StdoutResults } from '../command-context.js';
import { auditRunFailure, pingOrAudit, sha256File } from './run-handler-common.js';

export interface RunLedgerOptions {
  ledger: string;
  pluginsDir?: string[];
  profile?: string;
  profilesDir?: string;
  output?: string;
  format: 'beancount' | 'jsonl';
  json: boolean;
  auditLog?: string;
  stageTimeoutMs: number;
}

const STATUS_EXIT = { ok: ExitCode.ok, errors: ExitCode.ledgerErrors, refused: ExitCode.refused, violation: ExitCode.violation } as const;

const SANDBOX_USER = '65532:65532';

/**
 * Who the loader reads the ledger as: its owner (so a ledger in a private directory
 * loads), never root; a root-owned ledger must be readable by others.
 */
async function ledgerReader(ledgerPath: string, uid: number, gid: number): Promise<string> {
  if (uid !== 0 && gid !== 0) return `${uid}:${gid}`;
  const dir = await stat(path.dirname(ledgerPath));
  const fileMode = (await stat(ledgerPath)).mode;
  if ((dir.mode & 0o005) !== 0o005 || (fileMode & 0o004) === 0) {
    throw new UsageError(`${ledgerPath} is owned by root and not readable by others; the sandbox never reads it as root`, {
      hint: `make it readable (chmod o+rx ${path.dirname(ledgerPath)} && chmod o+r ${ledgerPath}), or keep ledgers owned by a non-root user`,
    });
  }
  return SANDBOX_USER;
}

export async function runLedgerCommand(ctx: CliContext, o: RunLedgerOptions): Promise<CommandResult> {
  const ledgerPath = path.resolve(o.ledger);
  const st = await stat(ledgerPath).catch(() => undefined);
  if (!st?.isFile()) throw new UsageError(`${o.ledger} is not a ledger file`, { hint: 'give the path of your main .beancount file' });
  if (o.json && !o.output) throw new UsageError('--json prints the report on stdout, so the ledger needs -o FILE', { hint: 'add -o out.beancount (or -o out.jsonl with --format jsonl)' });
  const loaderUser = await ledgerReader(ledgerPath, st.uid, st.gid);
  const output = o.output ? path.resolve(o.output) : undefined;
  if (output === ledgerPath) throw new UsageError('-o names the input ledger: the input is never modified', { hint: 'write the result to another file' });

  const runId = newRunId(ctx.now());
  const log = ctx.logger.child({ runId });
  const ledger = { path: ledgerPath, sha256: await sha256File(ledgerPath) };
  // no run goes unaudited: a log that cannot be written stops us before anything runs
  const audit = await openInvocationAuditLog({ flag: o.auditLog, env: ctx.env, argv: ctx.argv, clock: ctx.now });
  const t0 = Date.now();
  let result: LedgerRunResult | undefined;
  let staged: { dir: string; file: string } | undefined;
  try {
    const engine = ctx.engine();
    // the admin's profile is checked before anything runs; the ledger's own options join it after loading
    const policySources = { root: ctx.root, env: ctx.env, profile: o.profile, profilesDir: o.profilesDir };
    // independent look-ups start together; they are taken in this order, so the first to fail is the one reported
    const pinged = pingOrAudit(engine, audit, runId, ledger);
    const lookups = started({
      policy: loadPolicy(policySources),
      host: hostFacts(engine),
      runner: requireRunnerImage(engine, { root: ctx.root }, 'python'),
      catalogue: readCatalogue(pluginDirs(o.pluginsDir, ctx.env, ctx.root)),
    });
    await pinged;
    const ceiling = (await lookups.policy).ceiling;
    const host = (await lookups.host).facts;
    const runner = await lookups.runner;
    const catalogue = await lookups.catalogue;
    const prepared = new Map<number, PreparedStep>();
    staged = await stageOutput(output);

    result = await runLedger({
      engine,
      runId,
      ledgerPath,
      runner: { id: runner.id, ref: runner.tags[0] ?? runner.id },
      logger: log,
      signal: ctx.signal,
      stageTimeoutMs: o.stageTimeoutMs,
      stageMemoryBytes: 2 * 1024 ** 3,
      loaderUser,
      seccomp: ceiling.seccompChecked,
      apparmor: host.apparmor,
      prepare: async (loaded) => {
        const policy = await loadPolicy({ ...policySources, ledgerOptions: ledgerSandboxOptions(loaded), ledgerOptionsSource: `${ledgerPath} options` });
        const list = await preparePlugins(loaded, { engine, runId, root: ctx.root, logger: log, catalogue, policy, host, ledgerDir: path.dirname(ledgerPath), env: ctx.env });
        for (const p of list) if (p.ok) prepared.set(p.plugin.position, p);
        return list;
      },
      onStep: async (step, input) => {
        const p = prepared.get(step.plugin.position)!;
        await audit.append(pluginRunEntry(runId, ledger, p.identity, p.record, step.run, input));
      },
      onDiscard: async (plugin, containerId) => {
        const p = prepared.get(plugin.position)!;
        await audit.append(discardedEntry(runId, ledger, p.identity, p.record, containerId));
      },
      printTo: o.format === 'beancount' ? staged.file : undefined,
      onRefusal: async (r) => {
        // the refused bundle is named by its version and hash too (none when it is not installed)
        await audit.append(refusedEntry(runId, ledger, r.identity, r.profile ?? ceiling.profile.name, r.error));
      },
    });

    // what the ledger asked of the policy that was not applied as asked (once per notice)
    const notices = new Map<string, RunError>();
    for (const p of prepared.values()) {
      for (const n of p.grant.notices) {
        const key = `${n.option}\0${n.requested}\0${n.applied}`;
        if (!notices.has(key)) notices.set(key, policyNotice(n));
      }
    }
    result.errors.unshift(...notices.values());
    const exitCode = STATUS_EXIT[result.status];
    const written = result.directives && (result.status === 'ok' || result.status === 'errors');
    if (written && o.format === 'jsonl') await writeFile(staged.file, result.directives!.map((d) => directiveJson(d) + '\n').join(''));
    await audit.append(
      runSummaryEntry({
        runId,
        ledger,
        profile: ceiling.profile.name,
        durationMs: Date.now() - t0,
        status: result.status === 'ok' || result.status === 'errors' ? 'ok' : result.status === 'refused' ? 'refused' : 'violation',
        exitCode,
        errors: result.errors.filter((e) => e.severity === 'error').length,
        inputCount: result.loaded.directives.length,
        outputCount: result.directives?.length ?? 0,
      }),
    );
    // the result is released only once its run is on record: a run whose end cannot be audited leaves no output
    if (written && output) await rename(staged.file, output);
    const reported = await report(result, exitCode, output, o);
    // without -o the staged ledger goes to stdout through the renderer, which then removes it
    const stdout = written && !output ? stagedToStdout(staged) : undefined;
    if (stdout) staged = undefined;
    return { ...reported, stdout };
  } catch (err) {
    await auditRunFailure(audit, { runId, ledger, durationMs: Date.now() - t0 }, err, log);
    throw err;
  } finally {
    if (staged) await rm(staged.dir, { recursive: true, force: true });
    await audit.close();
  }
}

/** The same promises, each marked handled: one that fails while an earlier one is awaited is not an unhandled rejection. */
function started<T extends Record<string, Promise<unknown>>>(promises: T): T {
  for (const p of Object.values(promises)) p.catch(() => {});
  return promises;
}

/** The result is made next to its destination and renamed into place: never a partial file. */
async function stageOutput(output: string | undefined): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(path.join(output ? path.dirname(output) : os.tmpdir(), '.sandboxctl-out-'));
  return { dir, file: path.join(dir, 'out') };
}

/** The staged result as stdout results: streamed by the renderer, then removed. */
function stagedToStdout(staged: { dir: string; file: string }): StdoutResults {
  return {
    writeTo: async (out, signal) => {
      for await (const chunk of createReadStream(staged.file)) {
        if (signal.aborted) throw signal.reason;
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
    },
    release: () => rm(staged.dir, { recursive: true, force: true }),
  };
}

async function sourceLine(file: string, line: number, cache: Map<string, string[] | null>): Promise<string | undefined> {
  if (!cache.has(file)) cache.set(file, await readFile(file, 'utf8').then((t) => t.split('\n'), () => null));
  return cache.get(file)?.[line - 1];
}

async function report(result: LedgerRunResult, exitCode: number, output: string | undefined, o: RunLedgerOptions): Promise<CommandResult> {
  const cache = new Map<string, string[] | null>();
  const rendered: string[] = [];
  for (const e of result.errors) {
    const src = e.location ? await sourceLine(e.location.file, e.location.line, cache) : undefined;
    rendered.push(renderDiagnostic({ ...e, ...(src !== undefined ? { sourceLine: src } : {}) }));
  }
  const plugins = result.steps.map((s) => ({
    name: s.plugin.name,
    version: s.plugin.version,
    ok: s.run.ok,
    durationMs: s.run.durationMs,
    counts: s.run.counts,
    peakMemoryBytes: s.run.usage.peakMemoryBytes,
  }));
  const count = (sev: string) => result.errors.filter((e) => e.severity === sev).length;
  const summary =
    `${result.status === 'ok' ? 'ok' : result.status}: ${result.loaded.directives.length} directives in, ` +
    `${result.directives ? `${result.directives.length} out` : 'nothing written'}; ${plugins.length} plugin run(s), ${count('error')} error(s)` +
    (count('warning') ? `, ${count('warning')} warning(s)` : '') +
    (output && result.directives ? `; wrote ${output}` : '');
  const data = {
    ok: exitCode === 0,
    exitCode,
    status: result.status,
    output: output ?? null,
    format: o.format,
    counts: { input: result.loaded.directives.length, output: result.directives?.length ?? null },
    errors: result.errors.map(toJson),
    plugins,
    timings: result.timings,
  };
  // diagnostics are a report about the results: stderr, so that stdout carries the ledger only
  return { data, text: [...rendered, summary].join('\n\n'), exitCode, textKind: 'report' };
}

function policyNotice(n: Notice): RunError {
  return {
    severity: 'warning',
    code: 'policy-notice',
    title: `ledger option ${n.option} "${n.requested}" applied as "${n.applied}"`,
    notes: [{ label: 'reason', text: n.reason }],
    message: n.reason,
    source: null,
    plugin: null,
  };
}

function toJson(e: RunError) {
  return { code: e.code, severity: e.severity, title: e.title, message: e.message, source: e.source, plugin: e.plugin, location: e.location ?? null, notes: e.notes, ...(e.data ? { data: e.data } : {}) };
}
