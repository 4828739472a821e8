// Plugins in a chain: each bundle is checked, granted by policy and given its own image
// and container spec before anything runs (one refusal and nothing runs); then they run
// one after another through the pipeline's chain executor, each seeing the previous
// one's output. Every execution and every refusal is appended to the audit log; a
// failing plugin stops the chain and no output exists.
import type { AuditEntry } from '../audit/index.js';
import type { Engine, ImageInfo } from '../engine/engine.js';
import { InternalError, PolicyRefusal, type SandboxctlError, SandboxViolation } from '../errors.js';
import { requireRunnerImage } from '../images/build.js';
import type { RunnerName } from '../images/recipes.js';
import { Labels, ourLabels } from '../labels.js';
import type { Directive } from '../ledger/directive-schema.js';
import type { Logger } from '../logger.js';
import { loadBundle, type Bundle } from '../manifest/bundle.js';
import { pluginRunEntry, refusedEntry, type GrantRecord, type PluginIdentity } from './audit-entry.js';
import { executeChain, type ChainStep, type PreparedPlugin } from './execute-plugins.js';
import type { PluginLine } from './load-ledger.js';
import type { Grant, HostFacts } from '../policy/grant.js';
import type { IsolationDecision } from '../policy/isolation.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import type { Profile } from '../policy/profile-schema.js';
import type { ContainerSpec } from '../blueprint/container-blueprint.js';
import { planPlugin } from '../blueprint/plan-plugin.js';
import { runLimits } from '../run/run-limits.js';
import { ensurePluginImage, resolvePinnedImage, runnerCommand, type PluginImage } from '../run/plugin-image.js';
import type { PluginError } from '../validate/effects.js';

/** The one audit call the chain makes (src/audit's AuditLog fits). */
export interface AuditSinkLike {
  append(entry: AuditEntry): Promise<unknown>;
}

export interface PrepareContext {
  engine: Engine;
  /** Install root: runner image recipes live under it. */
  root: string;
  runId: string;
  logger: Logger;
  /** The admin's ceiling, the profile a ledger asks for, their seccomp bodies, the ledger's options. */
  policy: LoadedPolicy;
  host: HostFacts;
  /** Where granted environment variables take their values from. */
  env: Readonly<Record<string, string | undefined>>;
  /** A ledger run's directory (absent for directive-file input). */
  ledgerDir?: string;
  /**
   * Where a granted plugin runs (a ledger run with a trusted session only); absent, every
   * plugin gets its own container. A plugin in the session needs no image of its own.
   */
  isolate?: (bundle: Bundle, profile: Profile) => Promise<IsolationDecision>;
}

export interface PluginSource {
  bundleDir: string;
  /** The `plugin "name" "config"` line, or one made up for directive-file input. */
  line: PluginLine;
  position: number;
}

export interface PreparedStep {
  ok: true;
  plugin: PreparedPlugin;
  bundle: Bundle;
  grant: Grant;
  spec: ContainerSpec;
  record: GrantRecord;
  identity: PluginIdentity;
  isolation: IsolationDecision;
}

export interface RefusedStep {
  ok: false;
  line: PluginLine;
  error: SandboxctlError;
  identity: PluginIdentity;
  profile: string | null;
}

export type StepPreparation = PreparedStep | RefusedStep;

function grantRecord(grant: Grant, spec: ContainerSpec): GrantRecord {
  const c = grant.capabilities;
  return {
    profile: grant.profile,
    granted: [
      { capability: 'ledger', value: c.ledger },
      { capability: 'network', value: c.network },
      { capability: 'scratch', value: c.scratchBytes },
      { capability: 'env', value: c.env },
      { capability: 'effects', value: c.effects },
    ],
    specDigest: spec.digest,
    seccompDigest: spec.applied.seccomp.digest,
    runtime: grant.ociRuntime,
    apparmorApplied: spec.applied.apparmor.applied,
    limits: {
      memoryBytes: grant.limits.memoryBytes,
      nanoCpus: Math.round(grant.limits.cpus * 1e9),
      pids: grant.limits.pids,
      timeoutMs: grant.limits.timeoutMs,
      outputBytes: grant.limits.outputBytes,
    },
  };
}

/**
 * Checks one bundle, asks policy for a grant, makes sure its image is present (built
 * from the checked bundle bytes) and builds its container spec. Refusals are returned,
 * not thrown, so that every refusal of a chain is reported and audited.
 */
export async function preparePlugin(source: PluginSource, ctx: PrepareContext, runners = new Map<string, ImageInfo>()): Promise<StepPreparation> {
  let identity: PluginIdentity = { name: source.line.name, version: null, bundleHash: null };
  let profile: string | null = null;
  try {
    const bundle = await loadBundle(source.bundleDir);
    const m = bundle.manifest;
    identity = { name: m.name, version: m.version, bundleHash: bundle.digest };
    const env: Record<string, string | undefined> = {};
    for (const name of m.capabilities.env) env[name] = ctx.env[name];
    // the same planner as `sandboxctl plan`: what plan prints is what runs
    const plan = (image: string) =>
      planPlugin({
        manifest: m,
        policy: ctx.policy,
        host: ctx.host,
        image,
        labels: ourLabels('plugin', ctx.runId, { [Labels.plugin]: m.name }),
        command: m.runtime === 'image' ? undefined : runnerCommand(m),
        ledgerDir: ctx.ledgerDir,
        env,
      });
    // decide first: nothing is built for a plugin that policy refuses
    const first = plan('<undecided>').decision;
    profile = first.profile;
    if (first.kind === 'refusal') {
      return { ok: false, line: source.line, identity, profile, error: new PolicyRefusal(m.name, first.profile, first.denials, { hint: 'ask the admin for a looser profile (--profile), or change what the plugin asks for in its plugin.yaml' }) };
    }
    const granted = ctx.policy.byName.get(first.profile)?.profile;
    const isolation: IsolationDecision = ctx.isolate && granted ? await ctx.isolate(bundle, granted) : { isolation: 'container', reason: 'its own container' };
    let image: PluginImage;
    // a bundle's image built on a runner: a Python one may read the loader's pickle
    let runnerId: string | undefined;
    if (isolation.isolation === 'session') {
      // it runs in the trusted session, from the runner image that the session runs
      const runner = await runnerImage(ctx, runners, 'python');
      image = { id: runner.id, ref: runner.tags[0] ?? runner.id, built: false, bundleDigest: null };
    } else if (m.runtime === 'image') {
      image = await resolvePinnedImage(ctx.engine, m.name, m.image!.id);
    } else {
      const runner = await runnerImage(ctx, runners, m.runtime as RunnerName);
      image = await ensurePluginImage({ engine: ctx.engine, bundle, runner, logger: ctx.logger });
      runnerId = runner.id;
    }
    const { decision, spec } = plan(image.id);
    if (decision.kind === 'refusal' || !spec) throw new InternalError(`the plan for ${m.name} changed between two identical calls`);
    const lim = decision.limits;
    const plugin: PreparedPlugin = {
      position: source.position,
      line: source.line,
      name: m.name,
      version: m.version,
      image: { id: image.id, ref: image.ref, ...(runnerId ? { runnerId } : {}) },
      spec: spec.body,
      isolation: isolation.isolation,
      ...(m.module !== undefined ? { module: m.module } : {}),
      effects: [...decision.capabilities.effects],
      limits: runLimits(
        { timeoutMs: lim.timeoutMs, maxLineBytes: lim.lineBytes, maxOutputBytes: lim.outputBytes, maxResults: lim.results, maxErrors: lim.errors },
        0,
      ),
    };
    return { ok: true, plugin, bundle, grant: decision, spec, record: { ...grantRecord(decision, spec), isolation: isolation.isolation }, identity, isolation };
  } catch (err) {
    // a bundle changed since its check, or an image that is not the pinned one, refuses like policy
    if (err instanceof SandboxViolation && (err.kind === 'bundle-changed' || err.kind === 'image-mismatch')) {
      return { ok: false, line: source.line, identity, profile, error: err };
    }
    throw err;
  }
}

async function runnerImage(ctx: PrepareContext, runners: Map<string, ImageInfo>, name: RunnerName): Promise<ImageInfo> {
  let runner = runners.get(name);
  if (!runner) {
    runner = await requireRunnerImage(ctx.engine, { root: ctx.root }, name);
    runners.set(name, runner);
  }
  return runner;
}

export interface ChainRunRequest {
  engine: Engine;
  runId: string;
  steps: readonly StepPreparation[];
  input: readonly Directive[];
  options: Record<string, unknown>;
  signal?: AbortSignal;
  logger: Logger;
  audit: AuditSinkLike;
  ledger?: AuditEntry['ledger'];
}

export interface ChainRunResult {
  output: Directive[];
  errors: Array<PluginError & { plugin: string }>;
  steps: ChainStep[];
}

/** Runs prepared plugins in order; throws the refusal or the failure that stopped the chain. */
export async function runPluginChain(req: ChainRunRequest): Promise<ChainRunResult> {
  const refused = req.steps.filter((s): s is RefusedStep => !s.ok);
  if (refused.length > 0) {
    for (const r of refused) await req.audit.append(refusedEntry(req.runId, req.ledger ?? null, r.identity, r.profile, r.error));
    throw refused[0]!.error;
  }
  const prepared = req.steps as readonly PreparedStep[];
  const byPosition = new Map(prepared.map((p) => [p.plugin.position, p]));
  const chain = await executeChain({
    engine: req.engine,
    runId: req.runId,
    plugins: prepared.map((p) => ({ ...p.plugin, limits: { ...p.plugin.limits } })),
    input: req.input,
    options: req.options,
    signal: req.signal,
    logger: req.logger,
    onStep: async (step, input) => {
      const p = byPosition.get(step.plugin.position)!;
      await req.audit.append(pluginRunEntry(req.runId, req.ledger ?? null, p.identity, p.record, step.run, input));
    },
  });
  if (chain.failed) {
    const run = chain.failed.run;
    throw run.ok ? new Error('chain reported a failed step that succeeded') : run.error;
  }
  return {
    output: chain.output ?? [],
    errors: chain.errors.map(({ input: _input, ...e }) => e),
    steps: chain.steps,
  };
}
