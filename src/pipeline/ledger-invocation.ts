// One audited run of one ledger, as data: the policy and images looked up, the pipeline
// run, the output staged next to its destination and renamed into place (never a partial
// file), every way it ends audited. Shared by `sandboxctl run LEDGER` and `sandboxctl
// batch`; neither stdout nor stderr is written here.
import { createHash } from 'node:crypto';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AuditEntry, AuditLog } from '../audit/index.js';
import type { Engine, ImageInfo } from '../engine/engine.js';
import { ExitCode } from '../errors.js';
import { requireRunnerImage } from '../images/build.js';
import { directiveJson } from '../ledger/directive-json.js';
import type { Logger } from '../logger.js';
import { hostFacts } from '../policy/host-facts.js';
import type { Notice } from '../policy/ledger-options.js';
import { loadPolicy, type PolicyProfile } from '../policy/load-policy.js';
import { discardedEntry, pluginRunEntry, refusedEntry, runSummaryEntry, sessionGrantRecord } from './audit-entry.js';
import { pluginDirs, readCatalogue, type Catalogue } from './catalogue.js';
import type { RunError } from './diagnostics.js';
import type { PreparedStep, RefusedStep } from './jsonl-run.js';
import { ledgerSandboxOptions, preparePlugins } from './prepare-plugins.js';
import { auditRunFailure, pingOrAudit } from './run-end-audit.js';
import { runLedger, type LedgerRunResult } from './run-ledger.js';
import { stageOutput } from './output-staging.js';

export const STATUS_EXIT = { ok: ExitCode.ok, errors: ExitCode.ledgerErrors, refused: ExitCode.refused, violation: ExitCode.violation } as const;

export interface LedgerInvocationRequest {
  engine: Engine;
  audit: AuditLog;
  runId: string;
  logger: Logger;
  signal?: AbortSignal;
  root: string;
  env: NodeJS.ProcessEnv;
  /** The file Beancount loads. */
  ledgerPath: string;
  /** The ledger as the audit names it (a private copy is audited under the original's path). */
  auditLedger: NonNullable<AuditEntry['ledger']>;
  /** uid:gid the loader reads the ledger as (never root). */
  loaderUser: string;
  profile?: string;
  profilesDir?: string;
  pluginsDir?: string[];
  /** The destination; without it the staged result is returned (`staged`), for the caller to stream and release. */
  output?: string;
  /** fsync the output before it is renamed into place and its directory after: it survives a reboot whole. */
  durable?: boolean;
  format: 'beancount' | 'jsonl';
  stageTimeoutMs: number;
  /** Look-ups a batch makes once for all its ledgers; each one missing is made here. */
  shared?: { runner?: Promise<ImageInfo>; catalogue?: Promise<Catalogue> };
}

export interface LedgerInvocation {
  result: LedgerRunResult;
  exitCode: number;
  /** The admin profile the run was capped by. */
  profile: string;
  /** sha256 of the profile as resolved and its seccomp body: what the batch's incremental state compares. */
  profileDigest: string;
  runnerImageId: string;
  /** Every plugin line, prepared or refused, in ledger order. */
  preparations: Array<PreparedStep | RefusedStep>;
  /** The output file written, when one was. */
  written?: string;
  /** Without `output`: the staged result, kept for the caller, who removes `dir` once done with it. */
  staged?: { dir: string; file: string };
}

export async function invokeLedger(req: LedgerInvocationRequest): Promise<LedgerInvocation> {
  const { engine, audit, runId, auditLedger: ledger } = req;
  const log = req.logger;
  const t0 = Date.now();
  let staged: { dir: string; file: string } | undefined;
  try {
    // the admin's profile is checked before anything runs; the ledger's own options join it after loading
    const policySources = { root: req.root, env: req.env, profile: req.profile, profilesDir: req.profilesDir };
    // independent look-ups start together; they are taken in this order, so the first to fail is the one reported
    const pinged = pingOrAudit(engine, audit, runId, ledger);
    const lookups = started({
      policy: loadPolicy(policySources),
      host: hostFacts(engine),
      runner: req.shared?.runner ?? requireRunnerImage(engine, { root: req.root }, 'python'),
      catalogue: req.shared?.catalogue ?? readCatalogue(pluginDirs(req.pluginsDir, req.env, req.root)),
    });
    await pinged;
    const ceiling = (await lookups.policy).ceiling;
    const host = (await lookups.host).facts;
    const runner = await lookups.runner;
    const preparations: Array<PreparedStep | RefusedStep> = [];
    const prepared = new Map<number, PreparedStep>();
    // next to the output (else in the temp dir), where dead runs' staging directories are removed first
    const staging = await stageOutput(req.output);
    staged = { dir: staging.dir, file: staging.file };
    if (staging.removed.length > 0) log.info({ removed: staging.removed }, 'removed staging directories left by runs that were killed');

    const result = await runLedger({
      engine,
      runId,
      ledgerPath: req.ledgerPath,
      runner: { id: runner.id, ref: runner.tags[0] ?? runner.id },
      logger: log,
      signal: req.signal,
      stageTimeoutMs: req.stageTimeoutMs,
      stageMemoryBytes: 2 * 1024 ** 3,
      loaderUser: req.loaderUser,
      seccomp: ceiling.seccompChecked,
      apparmor: host.apparmor,
      prepare: async (loaded) => {
        const policy = await loadPolicy({ ...policySources, ledgerOptions: ledgerSandboxOptions(loaded), ledgerOptionsSource: `${ledger.path} options` });
        // the bundles were read while the session's container started and the ledger was parsed
        const catalogue = await lookups.catalogue;
        const list = await preparePlugins(loaded, { engine, runId, root: req.root, logger: log, catalogue, policy, host, ledgerDir: path.dirname(req.ledgerPath), env: req.env });
        for (const p of list) if (p.ok) prepared.set(p.plugin.position, p);
        preparations.push(...list);
        return list;
      },
      onStep: async (step, input, session) => {
        const p = prepared.get(step.plugin.position)!;
        // a builtin run in the trusted session is recorded under the session's confinement
        const record = session ? sessionGrantRecord(p.record, session) : p.record;
        await audit.append(pluginRunEntry(runId, ledger, p.identity, record, step.run, input));
      },
      onDiscard: async (plugin, containerId) => {
        const p = prepared.get(plugin.position)!;
        await audit.append(discardedEntry(runId, ledger, p.identity, p.record, containerId));
      },
      printTo: req.format === 'beancount' ? staged.file : undefined,
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
    const keep = result.directives !== undefined && (result.status === 'ok' || result.status === 'errors');
    if (keep && req.format === 'jsonl') await writeFile(staged.file, result.directives!.map((d) => directiveJson(d) + '\n').join(''));
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
    let written: string | undefined;
    let kept: { dir: string; file: string } | undefined;
    if (keep && req.output) {
      if (req.durable) await fsyncPath(staged.file);
      await rename(staged.file, req.output);
      if (req.durable) await fsyncPath(path.dirname(req.output));
      written = req.output;
    } else if (keep) {
      kept = staged;
    }
    // from here on the caller owns the kept staging directory
    if (kept) staged = undefined;
    return { result, exitCode, profile: ceiling.profile.name, profileDigest: profileDigest(ceiling), runnerImageId: runner.id, preparations, ...(written ? { written } : {}), ...(kept ? { staged: kept } : {}) };
  } catch (err) {
    await auditRunFailure(audit, { runId, ledger, durationMs: Date.now() - t0 }, err, log);
    throw err;
  } finally {
    if (staged) await rm(staged.dir, { recursive: true, force: true });
  }
}

/** The identity of an admin profile as resolved: its fields and its seccomp body's digest. */
export function profileDigest(p: PolicyProfile): string {
  return `sha256:${createHash('sha256').update(JSON.stringify([p.profile, p.seccompChecked.digest])).digest('hex')}`;
}

/** The same promises, each marked handled: one that fails while an earlier one is awaited is not an unhandled rejection. */
function started<T extends Record<string, Promise<unknown>>>(promises: T): T {
  for (const p of Object.values(promises)) p.catch(() => {});
  return promises;
}

/** fsync a file or a directory (a rename in it becomes durable). */
export async function fsyncPath(file: string): Promise<void> {
  const fh = await open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
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
