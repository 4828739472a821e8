import path from 'node:path';
import type { Engine, ImageInfo } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { Labels } from '../labels.js';
import { NotReadyError } from '../errors.js';
import { ensureBaseImage } from './base-image.js';
import { ensureAppImage, type AppInputs } from './app-image.js';
import { packContext, readContextFiles } from './build-context.js';
import { DEFAULT_BASE, RUNNERS, baseTag, digestFiles, runnerTag, type BaseRecipe, type RunnerName } from './recipes.js';

export interface ImageStatus {
  name: string;
  tag: string;
  present: boolean;
  id?: string;
  /** Older images of the same kind that are not current (inputs changed since). */
  stale: string[];
}

export interface BuildOutcome {
  name: string;
  tag: string;
  id: string;
  built: boolean;
  how: string;
  seconds: number;
}

export interface ImagesConfig {
  root: string;
  recipe?: BaseRecipe;
}

async function runnerInputs(root: string, runner: RunnerName) {
  const dir = path.join(root, 'images', RUNNERS[runner].dir);
  const files = await readContextFiles(dir);
  if (!files.some((f) => f.path === 'Dockerfile')) {
    throw new NotReadyError(`${dir} has no Dockerfile`, { hint: 'reinstall sandboxctl: its images/ folder is incomplete' });
  }
  return { dir, files, digest: digestFiles(files) };
}

/** Where each image stands now, without building anything (used by doctor and run). */
export async function imageStatus(engine: Engine, cfg: ImagesConfig): Promise<ImageStatus[]> {
  const recipe = cfg.recipe ?? DEFAULT_BASE;
  const tag = baseTag(recipe);
  const base = await engine.inspectImage(tag);
  const out: ImageStatus[] = [{ name: 'base', tag, present: !!base, id: base?.id, stale: [] }];
  for (const runner of Object.keys(RUNNERS) as RunnerName[]) {
    const { digest } = await runnerInputs(cfg.root, runner);
    const rtag = base ? runnerTag(runner, base.id, digest) : `${RUNNERS[runner].repo}:<needs base>`;
    const img = base ? await engine.inspectImage(rtag) : undefined;
    const all = await engine.listImages({ [Labels.managed]: 'true', [Labels.kind]: `runner-${runner}` });
    const stale = all.filter((i) => i.id !== img?.id).map((i) => i.name ?? i.id);
    out.push({ name: `${runner}-runner`, tag: rtag, present: !!img, id: img?.id, stale });
  }
  return out;
}

/** The runner image to run a plugin on; refuses plainly when it is not built. Looks at that runner only. */
export async function requireRunnerImage(engine: Engine, cfg: ImagesConfig, runner: RunnerName): Promise<ImageInfo> {
  const [base, { digest }] = await Promise.all([engine.inspectImage(baseTag(cfg.recipe ?? DEFAULT_BASE)), runnerInputs(cfg.root, runner)]);
  const tag = base ? runnerTag(runner, base.id, digest) : `${RUNNERS[runner].repo}:<needs base>`;
  const img = base ? await engine.inspectImage(tag) : undefined;
  if (!img) {
    throw new NotReadyError(`the ${runner} runner image (${tag}) is not built`, { hint: 'run `sandboxctl images build`' });
  }
  return img;
}

/** Builds the base and every runner whose inputs changed; skips what is current. */
export async function buildImages(
  engine: Engine,
  cfg: ImagesConfig & { allowPull: boolean; pullTimeoutMs?: number; only?: RunnerName[]; app?: AppInputs },
  logger: Logger,
): Promise<BuildOutcome[]> {
  const recipe = cfg.recipe ?? DEFAULT_BASE;
  const outcomes: BuildOutcome[] = [];
  let t0 = Date.now();
  const base = await ensureBaseImage(engine, recipe, logger, { allowPull: cfg.allowPull, pullTimeoutMs: cfg.pullTimeoutMs ?? 20_000 });
  outcomes.push({ name: 'base', tag: base.tag, id: base.image.id, built: base.built, how: base.how, seconds: (Date.now() - t0) / 1000 });

  for (const runner of cfg.only ?? (Object.keys(RUNNERS) as RunnerName[])) {
    t0 = Date.now();
    const { dir, files, digest } = await runnerInputs(cfg.root, runner);
    const tag = runnerTag(runner, base.image.id, digest);
    const existing = await engine.inspectImage(tag);
    if (existing) {
      outcomes.push({ name: `${runner}-runner`, tag, id: existing.id, built: false, how: 'present', seconds: 0 });
      continue;
    }
    const log = logger.child({ image: `${runner}-runner`, tag });
    log.info('building (the first build installs packages from the Debian mirror: about a minute)');
    const image = await engine.buildImage({
      context: packContext(dir, files),
      tag,
      buildArgs: { BASE_IMAGE: base.tag },
      labels: {
        [Labels.managed]: 'true',
        [Labels.kind]: `runner-${runner}`,
        [Labels.inputsHash]: digest,
        [`${Labels.image}.base`]: base.image.id,
      },
      onProgress: ({ line }) => {
        // Docker's step lines say where the build is; the rest is package noise
        if (/^Step \d+\/\d+/.test(line) || /^(Setting up|Unpacking) /.test(line)) log.info(line.slice(0, 200));
      },
    });
    outcomes.push({ name: `${runner}-runner`, tag, id: image.id, built: true, how: 'build', seconds: (Date.now() - t0) / 1000 });
  }
  if (cfg.app) {
    t0 = Date.now();
    const app = await ensureAppImage(engine, cfg.app, { tag: base.tag, id: base.image.id }, logger);
    outcomes.push({ name: 'sandboxctl', tag: app.tag, id: app.image.id, built: app.built, how: app.built ? 'build' : 'present', seconds: (Date.now() - t0) / 1000 });
  }
  return outcomes;
}
