// Each ledger plugin line -> its installed bundle -> the policy's decision -> its image and
// hardened container spec (through the same planner as `sandboxctl plan`). All lines are
// decided before anything runs.
import type { Engine, ImageInfo } from '../engine/engine.js';
import { InternalError, PolicyRefusal, SandboxctlError } from '../errors.js';
import { requireRunnerImage } from '../images/build.js';
import { ourLabels, Labels } from '../labels.js';
import type { Logger } from '../logger.js';
import { loadBundle, type Bundle } from '../manifest/bundle.js';
import type { Grant, HostFacts } from '../policy/grant.js';
import type { LoadedPolicy } from '../policy/load-policy.js';
import { defaultMaxResults, runLimits } from '../run/limits.js';
import { ensurePluginImage, resolvePinnedImage, runnerCommand } from '../run/plugin-image.js';
import { planPlugin } from '../spec/plan-plugin.js';
import type { GrantRecord } from './audit-entry.js';
import type { Catalogue } from './catalogue.js';
import type { PreparedPlugin } from './execute-chain.js';
import type { LoadedLedger, PluginLine } from './load-ledger.js';
import type { Preparation } from './run-ledger.js';

export interface PrepareContext {
  engine: Engine;
  runId: string;
  root: string;
  logger: Logger;
  catalogue: Catalogue;
  /** The admin's ceiling, the ledger's requested profile and options, each with its seccomp body. */
  policy: LoadedPolicy;
  host: HostFacts;
  ledgerDir: string;
  env: NodeJS.ProcessEnv;
}

export interface PreparedWithGrant extends PreparedPlugin {
  bundle: Bundle;
  grant: Grant;
  record: GrantRecord;
}

function missingBundle(line: PluginLine, ctx: PrepareContext): PolicyRefusal {
  return new PolicyRefusal(line.name, ctx.policy.ceiling.profile.name, [
    {
      capability: 'bundle',
      requested: line.name,
      allowed: 'installed bundles',
      reason: 'no plugin bundle of that name is installed, so there is nothing reviewed to run',
    },
  ], { hint: `install its bundle in a --plugins-dir (searched: ${[...new Set(ctx.catalogue.entries.map((e) => e.source))].join(', ') || 'none'})` });
}

/** The ledger's own sandbox options, as loadPolicy takes them. */
export function ledgerSandboxOptions(loaded: LoadedLedger): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(loaded.sandboxOptions)) if (typeof v === 'string') raw[k] = v;
  return raw;
}

export async function preparePlugins(loaded: LoadedLedger, ctx: PrepareContext): Promise<Preparation[]> {
  const runners = new Map<string, ImageInfo>();
  const runner = async (kind: 'python' | 'node') => {
    let img = runners.get(kind);
    if (!img) runners.set(kind, (img = await requireRunnerImage(ctx.engine, { root: ctx.root }, kind)));
    return img;
  };
  const out: Preparation[] = [];
  for (const [position, line] of loaded.plugins.entries()) {
    try {
      out.push({ ok: true, plugin: await prepareOne(position, line, loaded, ctx, runner) });
    } catch (err) {
      if (!(err instanceof SandboxctlError)) throw err;
      out.push({ ok: false, line, error: err });
    }
  }
  return out;
}

async function prepareOne(
  position: number,
  line: PluginLine,
  loaded: LoadedLedger,
  ctx: PrepareContext,
  runner: (kind: 'python' | 'node') => Promise<ImageInfo>,
): Promise<PreparedWithGrant> {
  const entry = ctx.catalogue.find(line.name);
  if (!entry) throw missingBundle(line, ctx);
  const bundle = await loadBundle(entry.dir);
  const m = bundle.manifest;
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
  const first = plan('<undecided>');
  if (first.decision.kind === 'refusal') {
    throw new PolicyRefusal(line.name, first.decision.profile, first.decision.denials, {
      hint: 'ask an admin for a profile that grants this (sandboxctl run --profile), or use a plugin that asks for less',
    });
  }
  const image = m.runtime === 'image'
    ? await resolvePinnedImage(ctx.engine, m.name, m.image!.id)
    : await ensurePluginImage({ engine: ctx.engine, bundle, runner: await runner(m.runtime), logger: ctx.logger });
  const { decision, spec } = plan(image.id);
  if (decision.kind === 'refusal' || !spec) throw new InternalError(`the plan for ${m.name} changed between two identical calls`);
  const grant = decision;
  const lim = grant.limits;
  return {
    position,
    line,
    name: m.name,
    version: m.version,
    image: { id: image.id, ref: image.ref },
    spec: spec.body,
    effects: grant.capabilities.effects,
    limits: runLimits(
      {
        timeoutMs: lim.timeoutMs,
        maxLineBytes: lim.lineBytes,
        maxOutputBytes: lim.outputBytes,
        maxResults: Math.min(lim.results, defaultMaxResults(loaded.directives.length)),
        maxErrors: lim.errors,
      },
      loaded.directives.length,
    ),
    bundle,
    grant,
    record: {
      profile: grant.profile,
      granted: [
        { capability: 'ledger', value: grant.capabilities.ledger },
        { capability: 'network', value: grant.capabilities.network },
        { capability: 'scratch', value: grant.capabilities.scratchBytes },
        { capability: 'env', value: grant.capabilities.env },
        { capability: 'effects', value: grant.capabilities.effects },
      ],
      specDigest: spec.digest,
      seccompDigest: spec.applied.seccomp.digest,
      runtime: spec.applied.ociRuntime,
      apparmorApplied: spec.applied.apparmor.applied,
      limits: { memoryBytes: lim.memoryBytes, nanoCpus: Math.round(lim.cpus * 1e9), pids: lim.pids, timeoutMs: lim.timeoutMs, outputBytes: lim.outputBytes },
    },
  };
}
