import path from 'node:path';
import { ExitCode } from '../../errors.js';
import { ourLabels, Labels } from '../../labels.js';
import { formatDuration, formatSize } from '../../manifest/quantity.js';
import { loadBundle, type Bundle } from '../../manifest/bundle.js';
import type { Decision } from '../../policy/grant.js';
import { hostFacts, type KnownHostFacts } from '../../policy/host-facts.js';
import { LEDGER_MOUNT, redactEnv } from '../../blueprint/container-blueprint.js';
import { planPlugin, type Plan } from '../../blueprint/plan-plugin.js';
import { isolationOf } from '../../pipeline/isolation-of.js';
import type { IsolationDecision } from '../../policy/isolation.js';
import { pluginRepo, runnerCommand } from '../../run/plugin-image.js';
import { safeText } from '../../safe-text.js';
import type { CliContext, CommandResult } from '../command-context.js';
import type { PlanOptions } from '../commands/plan-policy.js';
import { loadPlanPolicy } from './load-plan-policy.js';

// A python/node plugin's image is built at run time from its runner and bundle: plan names it by the bundle digest.
function imageFor(b: Bundle): string {
  return b.manifest.image?.id ?? `${pluginRepo(b.manifest.name)}:<built at run from bundle ${b.digest}>`;
}

function renderDecision(d: Decision): string[] {
  const out: string[] = [];
  if (d.kind === 'refusal') {
    out.push(`  REFUSED by profile ${d.profile} (admin ceiling ${d.ceilingProfile}): ${d.denials.length} reason${d.denials.length === 1 ? '' : 's'}`);
    for (const x of d.denials) out.push(`    - ${x.capability}: requested ${x.requested}, allowed ${x.allowed}: ${x.reason}`);
  } else {
    const c = d.capabilities;
    const l = d.limits;
    out.push(`  GRANTED under profile ${d.profile} (admin ceiling ${d.ceilingProfile})`);
    out.push(`    ledger ${c.ledger}, network ${c.network}, scratch ${c.scratchBytes === null ? 'none' : formatSize(c.scratchBytes)}, env [${c.env.join(', ')}], effects [${c.effects.join(', ')}]`);
    out.push(`    memory ${formatSize(l.memoryBytes)}, cpus ${l.cpus}, timeout ${formatDuration(l.timeoutMs)}, pids ${l.pids}, output ${formatSize(l.outputBytes)}, line ${formatSize(l.lineBytes)}, results ${l.results}, errors ${l.errors}`);
    out.push(`    runtime ${d.ociRuntime}, user ${d.user}, seccomp ${d.seccomp}, AppArmor ${d.apparmor.apply ? `applied (${d.apparmor.profile})` : `not applied: ${d.apparmor.reason}`}`);
  }
  for (const n of d.notices) out.push(`    note: ${n.option} ${n.requested} -> ${n.applied}: ${n.reason}`);
  return out;
}

const UNKNOWN_LEDGER_DIR = "<the ledger file's directory>";

// Whether the ledger's directory is also at its host path depends on that path: without
// --ledger-dir there is none to check, so the plan says the rule instead of a verdict.
function withUnknownLedgerDir(p: Plan): Plan {
  if (!p.spec?.applied.ledgerHostPath) return p;
  const reason = 'the ledger directory is not known here (pass --ledger-dir DIR to check one); it is also mounted at its own host path unless the container needs that path for itself';
  return { ...p, spec: { ...p.spec, applied: { ...p.spec.applied, ledgerHostPath: { path: UNKNOWN_LEDGER_DIR, available: false, reason } } } };
}

function renderLedger(p: Plan): string[] {
  const h = p.spec?.applied.ledgerHostPath;
  if (!h) return [];
  if (h.path === UNKNOWN_LEDGER_DIR) {
    return [`  ledger directory: read-only at ${LEDGER_MOUNT}, and at its own host path unless the container needs that path for itself (--ledger-dir DIR checks one)`];
  }
  const where = p.spec!.applied.ledgerMounts.join(' and ');
  return h.available
    ? [`  ledger directory ${h.path}: read-only at ${where}; host paths under it resolve inside the container`]
    : [`  ledger directory ${h.path}: read-only at ${where} only; its host path is not available inside the container: ${h.reason}`];
}

function renderSpec(p: Plan): string[] {
  if (!p.spec) return [];
  const body = redactEnv(p.spec.body);
  const seccomp = p.spec.applied.seccomp;
  const shown = {
    ...body,
    HostConfig: {
      ...body.HostConfig,
      SecurityOpt: body.HostConfig.SecurityOpt?.map((o) => (o.startsWith('seccomp=') ? `seccomp=<body of ${seccomp.source}, ${seccomp.digest}; --json prints it whole>` : o)),
    },
  };
  return [`  container spec ${p.spec.digest}:`, ...JSON.stringify(shown, null, 2).split('\n').map((l) => `    ${l}`)];
}

function renderIsolation(i: IsolationDecision | null): string[] {
  if (!i) return [];
  const out = [`  isolation ${i.isolation}: ${i.reason}`];
  if (i.isolation === 'session') {
    out.push(
      "    confined as the loader is: the ledger's directory read-only, no network, the admin profile's seccomp, non-root, runc; " +
        "its effects are checked as a container's; the spec below is what it gets where builtins run in containers",
    );
  }
  return out;
}

function renderHost(h: KnownHostFacts): string {
  const f = `AppArmor ${h.facts.apparmor ? 'present' : 'absent'}, runtimes ${h.facts.runtimes.join(', ')}`;
  return h.source === 'engine' ? `host (from the engine): ${f}` : `host (ASSUMED: ${h.reason}): ${f}`;
}

/** Plans bundle directories: shared by `plan` and `plugin inspect`. */
export async function planBundles(ctx: CliContext, dirs: string[], opts: PlanOptions): Promise<CommandResult> {
        const policy = await loadPlanPolicy(ctx, opts);
        const host = await hostFacts(ctx.engine());
        const plans: Array<{ bundle: { dir: string; name: string; digest: string; codeDigest: string }; plan: Plan; isolation: IsolationDecision | null }> = [];
        for (const dir of dirs) {
          const b = await loadBundle(dir);
          const plan = planPlugin({
            manifest: b.manifest,
            policy,
            host: host.facts,
            image: imageFor(b),
            labels: ourLabels('plugin', 'plan', { [Labels.plugin]: b.manifest.name }),
            command: b.manifest.runtime === 'image' ? undefined : runnerCommand(b.manifest),
            ledgerDir: opts.ledgerDir ? path.resolve(opts.ledgerDir) : UNKNOWN_LEDGER_DIR,
            env: ctx.env,
          });
          // where a ledger run puts it: a granted builtin as shipped may run in the trusted session
          const granted = plan.decision.kind === 'grant' ? policy.byName.get(plan.decision.profile)?.profile : undefined;
          const isolation = granted ? await isolationOf(b, granted, ctx.root) : null;
          plans.push({ bundle: { dir: b.dir, name: b.manifest.name, digest: b.digest, codeDigest: b.codeDigest }, plan: opts.ledgerDir ? plan : withUnknownLedgerDir(plan), isolation });
        }
        const refused = plans.filter((p) => p.plan.decision.kind === 'refusal').length;
        const text = [
          renderHost(host),
          ...plans.flatMap(({ bundle, plan, isolation }) => [
            '',
            `plugin ${bundle.name} ${plan.decision.plugin.version} (${plan.decision.plugin.runtime}) from ${bundle.dir}`,
            `  bundle ${bundle.digest} (files without plugin.yaml: ${bundle.codeDigest})`,
            ...renderDecision(plan.decision),
            ...renderIsolation(isolation),
            ...renderLedger(plan),
            ...renderSpec(plan),
          ]),
          '',
          refused === 0 ? `all ${plans.length} plugin${plans.length === 1 ? '' : 's'} granted` : `${refused} of ${plans.length} plugin${plans.length === 1 ? '' : 's'} refused`,
        ].join('\n');
        const data = {
          host,
          plans: plans.map(({ bundle, plan, isolation }) => ({
            bundle,
            decision: plan.decision,
            isolation: isolation?.isolation ?? null,
            isolationReason: isolation?.reason ?? null,
            spec: plan.spec && { digest: plan.spec.digest, applied: plan.spec.applied, body: redactEnv(plan.spec.body) },
          })),
        };
        return { data, text: safeText(text), exitCode: refused > 0 ? ExitCode.refused : ExitCode.ok };
}
