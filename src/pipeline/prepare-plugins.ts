// Each ledger plugin line -> its installed bundle -> the policy's decision -> its image and
// hardened container spec. All lines are decided before anything runs.
import type { Engine, ImageInfo } from '../engine/engine.js';
import { PolicyRefusal, SandboxctlError } from '../errors.js';
import { requireRunnerImage } from '../images/build.js';
import { ourLabels, Labels } from '../labels.js';
import type { Logger } from '../logger.js';
import { loadBundle, type Bundle } from '../manifest/bundle.js';
import { resolve } from '../policy/resolve.js';
import type { Grant, HostFacts } from '../policy/grant.js';
import { parseLedgerOptions, type LedgerOptions } from '../policy/ledger-options.js';
import { loadProfile, type LoadedProfile, type ProfileLocations } from '../policy/load-profile.js';
import { runLimits } from '../run/limits.js';
import { ensurePluginImage, resolvePinnedImage } from '../run/plugin-image.js';
import { buildContainerSpec } from '../spec/container-spec.js';
import { loadSeccomp } from '../spec/seccomp-file.js';
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
  /** The admin's profile: the ceiling. */
  ceiling: LoadedProfile;
  locations: ProfileLocations;
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
  return new PolicyRefusal(line.name, ctx.ceiling.profile.name, [
    {
      capability: 'bundle',
      requested: line.name,
      allowed: 'installed bundles',
      reason: 'no plugin bundle of that name is installed, so there is nothing reviewed to run',
    },
  ], { hint: `install its bundle in a --plugins-dir (searched: ${[...new Set(ctx.catalogue.entries.map((e) => e.source))].join(', ') || 'none'})` });
}

/** The ledger's own sandbox options, read once per ledger. */
export async function ledgerPolicy(loaded: LoadedLedger, ctx: PrepareContext): Promise<{ options: LedgerOptions; requested?: LoadedProfile }> {
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(loaded.sandboxOptions)) if (typeof v === 'string') raw[k] = v;
  const options = parseLedgerOptions(raw, 'the ledger\'s options');
  if (!options.sandbox || options.sandbox === ctx.ceiling.profile.name) return { options, requested: options.sandbox ? ctx.ceiling : undefined };
  // a profile the ledger names but nobody installed is reported by resolve() as a notice
  const requested = await loadProfile(options.sandbox, ctx.locations).catch(() => undefined);
  return { options, requested };
}

export async function preparePlugins(loaded: LoadedLedger, ctx: PrepareContext): Promise<Preparation[]> {
  const policy = await ledgerPolicy(loaded, ctx);
  const runners = new Map<string, ImageInfo>();
  const runner = async (kind: 'python' | 'node') => {
    let img = runners.get(kind);
    if (!img) runners.set(kind, (img = await requireRunnerImage(ctx.engine, { root: ctx.root }, kind)));
    return img;
  };
  const out: Preparation[] = [];
  for (const [position, line] of loaded.plugins.entries()) {
    try {
      out.push({ ok: true, plugin: await prepareOne(position, line, loaded, policy, ctx, runner) });
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
  policy: { options: LedgerOptions; requested?: LoadedProfile },
  ctx: PrepareContext,
  runner: (kind: 'python' | 'node') => Promise<ImageInfo>,
): Promise<PreparedWithGrant> {
  const entry = ctx.catalogue.find(line.name);
  if (!entry) throw missingBundle(line, ctx);
  const bundle = await loadBundle(entry.dir);
  const m = bundle.manifest;
  const decision = resolve({
    manifest: m,
    profile: ctx.ceiling.profile,
    ledger: { options: policy.options, requestedProfile: policy.requested?.profile },
    host: ctx.host,
  });
  if (decision.kind === 'refusal') {
    throw new PolicyRefusal(line.name, decision.profile, decision.denials, {
      hint: 'ask an admin for a profile that grants this (sandboxctl run --profile), or use a plugin that asks for less',
    });
  }
  const grant = decision;
  const image = m.runtime === 'image'
    ? await resolvePinnedImage(ctx.engine, m.name, m.image!.id)
    : await ensurePluginImage({ engine: ctx.engine, bundle, runner: await runner(m.runtime), logger: ctx.logger });
  const applied = grant.profile === ctx.ceiling.profile.name ? ctx.ceiling : (policy.requested ?? ctx.ceiling);
  const seccomp = await loadSeccomp(applied.seccompFile);
  const env: Record<string, string | undefined> = {};
  for (const name of grant.capabilities.env) env[name] = ctx.env[name];
  const spec = buildContainerSpec({
    grant,
    image: image.id,
    seccomp,
    labels: ourLabels('plugin', ctx.runId, { [Labels.plugin]: m.name }),
    ledgerDir: grant.capabilities.ledger === 'read' ? ctx.ledgerDir : undefined,
    env,
  });
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
      { timeoutMs: lim.timeoutMs, maxLineBytes: lim.lineBytes, maxOutputBytes: lim.outputBytes, maxResults: lim.results, maxErrors: lim.errors },
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
