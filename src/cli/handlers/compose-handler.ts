// `sandboxctl compose export -o DIR BUNDLE...` and `plan --format compose`: each granted
// plugin as a docker-compose service holding every field of its Engine create body
// (src/blueprint/compose-service.ts), under a compose profile named after the admin
// profile. The edge: it builds or resolves the plugin images, and writes the files.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, PolicyRefusal, UsageError } from '../../errors.js';
import { Labels, ourLabels } from '../../labels.js';
import { loadBundle, type Bundle } from '../../manifest/bundle.js';
import type { Refusal } from '../../policy/grant.js';
import { hostFacts } from '../../policy/host-facts.js';
import type { LoadedPolicy } from '../../policy/load-policy.js';
import { planPlugin, type Plan } from '../../blueprint/plan-plugin.js';
import { LEDGER_MOUNT } from '../../blueprint/container-paths.js';
import { composeFile, composeService, composeServiceName, type ComposeService } from '../../blueprint/compose-service.js';
import { renderComposeYaml } from '../../blueprint/compose-yaml.js';
import { requireRunnerImage } from '../../images/build.js';
import { ensurePluginImage, resolvePinnedImage, runnerCommand } from '../../run/plugin-image.js';
import type { CliContext, CommandResult } from '../command-context.js';
import type { PlanOptions } from '../commands/plan-policy.js';
import { loadPlanPolicy } from './load-plan-policy.js';

export const COMPOSE_FILE = 'compose.yaml';
export const SECCOMP_DIR = 'seccomp';

interface Planned {
  bundle: Bundle;
  service: string;
  plan: Plan;
}

/**
 * Labels of an exported service: ours and the plugin's name, but no run id and no owner
 * pid. The file outlives the process that wrote it, and its containers are compose's to
 * remove (`docker-compose down`): `sandboxctl gc` only removes containers with a run id.
 */
function serviceLabels(plugin: string): Record<string, string> {
  const { [Labels.owner]: _owner, [Labels.run]: _run, ...labels } = ourLabels('plugin', 'compose', { [Labels.plugin]: plugin });
  return labels;
}

function refusalHint(refusals: Array<{ plugin: string; decision: Refusal }>): string {
  const lines = refusals.map(({ plugin, decision }) => `${plugin}: ${decision.denials.map((d) => `${d.capability} requested ${d.requested}, allowed ${d.allowed} (${d.reason})`).join('; ')}`);
  return `no compose file is written while a plugin is refused. Refused: ${lines.join(' | ')}. Ask the admin for a looser profile (--profile), or change what the plugin asks for in its plugin.yaml`;
}

/** The image a granted plugin's service runs, by ID: built (or reused) from its bundle, or its pinned image. */
async function imageOf(ctx: CliContext, b: Bundle): Promise<string> {
  const engine = ctx.engine();
  const m = b.manifest;
  if (m.runtime === 'image') return (await resolvePinnedImage(engine, m.name, m.image!.id)).id;
  const runner = await requireRunnerImage(engine, { root: ctx.root }, m.runtime);
  return (await ensurePluginImage({ engine, bundle: b, runner, logger: ctx.logger })).id;
}

async function planAll(ctx: CliContext, policy: LoadedPolicy, dirs: string[], opts: PlanOptions): Promise<Planned[]> {
  // the file is for the engine it will run on: its runtimes decide the grant, never assumed ones (exit 5 if none answers)
  await ctx.engine().ping();
  const host = await hostFacts(ctx.engine());
  const bundles = await Promise.all(dirs.map((d) => loadBundle(d)));
  const plan = (b: Bundle, image: string, ledgerDir = opts.ledgerDir) =>
    planPlugin({
      manifest: b.manifest,
      policy,
      host: host.facts,
      image,
      labels: serviceLabels(b.manifest.name),
      command: b.manifest.runtime === 'image' ? undefined : runnerCommand(b.manifest),
      ledgerDir: ledgerDir ? path.resolve(ledgerDir) : undefined,
      env: ctx.env,
    });
  // decide every plugin first: nothing is built for a set that is refused
  const first = bundles.map((b) => ({ b, decision: plan(b, 'sha256:pending', opts.ledgerDir ?? LEDGER_MOUNT).decision }));
  const refusals = first.flatMap(({ b, decision }) => (decision.kind === 'refusal' ? [{ plugin: b.manifest.name, decision }] : []));
  if (refusals.length > 0) {
    const { plugin, decision } = refusals[0]!;
    throw new PolicyRefusal(plugin, decision.profile, decision.denials, { hint: refusalHint(refusals), details: { refused: refusals.map((r) => ({ plugin: r.plugin, denials: r.decision.denials })) } });
  }
  const needLedger = first.filter(({ decision }) => decision.kind === 'grant' && decision.capabilities.ledger === 'read').map(({ b }) => b.manifest.name);
  if (needLedger.length > 0 && !opts.ledgerDir) {
    throw new UsageError(`${needLedger.join(', ')} ${needLedger.length === 1 ? 'is' : 'are'} granted ledger read: the compose service needs the ledger directory to mount`, {
      hint: 'pass --ledger-dir DIR (the directory of the ledger the plugins will read; it is mounted read-only)',
    });
  }
  const out: Planned[] = [];
  for (const b of bundles) out.push({ bundle: b, service: composeServiceName(b.manifest.name), plan: plan(b, await imageOf(ctx, b)) });
  return out;
}

interface Rendered {
  yaml: string;
  services: Array<{ service: string; plugin: string; image: string; specDigest: string; profile: string; seccomp: string }>;
  /** Seccomp files to write beside the compose file: absolute path -> checked body. */
  seccompFiles: Map<string, string>;
  ceiling: string;
}

/** Renders the compose file; seccompAt says where each granted profile's seccomp file is read from. */
async function renderCompose(ctx: CliContext, dirs: string[], opts: PlanOptions, seccompAt: (profile: string, file: string) => string): Promise<Rendered> {
  const policy = await loadPlanPolicy(ctx, opts);
  const ceiling = policy.ceiling.profile.name;
  const planned = await planAll(ctx, policy, dirs, opts);
  const seccompFiles = new Map<string, string>();
  const services: Array<{ name: string; service: ComposeService }> = [];
  const rows: Rendered['services'] = [];
  for (const { bundle, service, plan } of planned) {
    const spec = plan.spec!;
    const chosen = policy.byName.get(plan.decision.profile)!;
    const file = seccompAt(plan.decision.profile, chosen.seccompFile);
    seccompFiles.set(file, chosen.seccompChecked.body);
    services.push({ name: service, service: composeService({ body: spec.body, profile: ceiling, seccompFile: file }) });
    rows.push({ service, plugin: bundle.manifest.name, image: spec.body.Image, specDigest: spec.digest, profile: plan.decision.profile, seccomp: file });
  }
  const header = [
    `Written by sandboxctl from admin profile ${ceiling}: one service per plugin, each the Engine create body \`sandboxctl plan --json\` prints.`,
    `Create: docker-compose -f THIS --profile ${ceiling} up --no-start; run one: docker-compose -f THIS --profile ${ceiling} run --rm -T SERVICE < directives.jsonl`,
    'Seccomp files are read by docker-compose from the absolute paths below (1.29 opens them relative to its own working directory).',
    ...rows.map((r) => `${r.service}: plugin ${r.plugin}, granted under ${r.profile}, spec ${r.specDigest}`),
  ];
  return { yaml: renderComposeYaml(composeFile(services), header), services: rows, seccompFiles, ceiling };
}

/** `plan --format compose`: the file on stdout; seccomp read from the checked profile files where they are. */
export async function composeForBundles(ctx: CliContext, dirs: string[], opts: PlanOptions): Promise<CommandResult> {
  const r = await renderCompose(ctx, dirs, opts, (_profile, file) => file);
  return { data: { services: r.services }, text: r.yaml, exitCode: ExitCode.ok };
}

async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode: 0o644 });
  await rename(tmp, file);
}

/** `compose export -o DIR`: compose.yaml and the seccomp profiles it names, side by side. */
export async function exportCompose(ctx: CliContext, dirs: string[], opts: PlanOptions & { out: string }): Promise<CommandResult> {
  const outDir = path.resolve(opts.out);
  const r = await renderCompose(ctx, dirs, opts, (profile) => path.join(outDir, SECCOMP_DIR, `${profile}.json`));
  await mkdir(path.join(outDir, SECCOMP_DIR), { recursive: true });
  // the exact bytes that were checked: the profile compose inlines is the one plan digested
  for (const [file, body] of r.seccompFiles) await writeAtomically(file, body);
  const composePath = path.join(outDir, COMPOSE_FILE);
  await writeAtomically(composePath, r.yaml);
  const text = [
    `wrote ${composePath}: ${r.services.length} service${r.services.length === 1 ? '' : 's'} under compose profile ${r.ceiling}`,
    ...r.services.map((s) => `  ${s.service}  ${s.image}  seccomp ${s.seccomp}`),
    `create them: docker-compose -f ${composePath} --profile ${r.ceiling} up --no-start`,
  ].join('\n');
  // the results are the files; what was written is a report about them (stderr), as for `run -o`
  return { data: { file: composePath, profile: r.ceiling, services: r.services }, text, textKind: 'report', exitCode: ExitCode.ok };
}
