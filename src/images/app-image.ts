// sandboxctl's own image (images/sandboxctl/Dockerfile): the installed app and the host's
// Node binary on our base, tagged by a digest of its inputs so an unchanged install is
// not rebuilt. The digest is cheap on purpose (`images build` with nothing changed stays
// fast): app files by content, node_modules by the lock's versions and integrity hashes,
// the Node binary by version, architecture, size and mtime.
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tarFs from 'tar-fs';
import type { Engine, ImageInfo } from '../engine/engine.js';
import { NotReadyError } from '../errors.js';
import { Labels } from '../labels.js';
import type { Logger } from '../logger.js';
import { readContextFiles } from './build-context.js';
import { APP_CURRENT_TAG, APP_IMAGE, appTag, digestFiles, productionPackages, type ContextFile } from './recipes.js';

/** What the app image holds, relative to the install root. */
export const APP_DIRS = ['bin', 'dist', 'profiles', 'seccomp', 'plugins', 'images', 'schemas'] as const;

export interface AppInputs {
  root: string;
  /** The Node binary to copy (the caller's process.execPath). */
  node: { path: string; version: string; arch: string };
}

interface Gathered {
  files: ContextFile[];
  packages: string[];
  digest: string;
}

async function gather(inputs: AppInputs): Promise<Gathered> {
  const { root } = inputs;
  const files: ContextFile[] = [];
  for (const d of APP_DIRS) {
    const found = await readContextFiles(path.join(root, d)).catch((cause: unknown) => {
      throw new NotReadyError(`${path.join(root, d)} cannot be read for the sandboxctl image`, { cause, hint: d === 'dist' ? 'run `npm run build` first' : 'reinstall sandboxctl' });
    });
    files.push(...found.map((f) => ({ ...f, path: `app/${d}/${f.path}` })));
  }
  const dockerfile = await readFile(path.join(root, 'images', APP_IMAGE.dir, 'Dockerfile'));
  files.push({ path: 'Dockerfile', content: dockerfile, mode: 0o644 });
  files.push({ path: 'app/package.json', content: await readFile(path.join(root, 'package.json')), mode: 0o644 });
  const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as Parameters<typeof productionPackages>[0];
  const present: string[] = [];
  const ids: string[] = [];
  for (const p of productionPackages(lock)) {
    // optional packages of other platforms are in the lock but not installed
    if (!(await stat(path.join(root, p.path)).catch(() => undefined))) continue;
    present.push(p.path);
    ids.push(`${p.path}@${p.version} ${p.integrity}`);
  }
  const node = await stat(inputs.node.path);
  const identity = [`node ${inputs.node.version} ${inputs.node.arch} ${node.size} ${node.mtimeMs}`, ...ids].join('\n');
  files.push({ path: 'inputs/identity', content: Buffer.from(identity), mode: 0o644 });
  return { files, packages: present, digest: digestFiles(files) };
}

/** The tag the app image of this install would have on this base. */
export async function appImageTag(inputs: AppInputs, baseImageId: string): Promise<string> {
  return appTag(baseImageId, (await gather(inputs)).digest);
}

/** The build context on disk: the app files as read, the packages and the Node binary copied. */
async function stage(inputs: AppInputs, g: Gathered, dir: string): Promise<void> {
  for (const f of g.files) {
    if (f.path.startsWith('inputs/')) continue;
    const target = path.join(dir, ...f.path.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    // the bytes that were digested, not a second read
    await writeFile(target, f.content, { mode: f.mode & 0o111 ? 0o755 : 0o644 });
  }
  // a nested package is copied with the package it is nested in
  const topLevel = g.packages.filter((p) => !p.slice('node_modules/'.length).includes('/node_modules/'));
  for (const p of topLevel) await cp(path.join(inputs.root, p), path.join(dir, 'app', p), { recursive: true, verbatimSymlinks: true });
  await cp(inputs.node.path, path.join(dir, 'node'));
}

export interface AppBuild {
  tag: string;
  image: ImageInfo;
  built: boolean;
}

/** Builds the app image unless one with its input tag exists; points :current at it either way. */
export async function ensureAppImage(engine: Engine, inputs: AppInputs, base: { tag: string; id: string }, logger: Logger): Promise<AppBuild> {
  const g = await gather(inputs);
  const tag = appTag(base.id, g.digest);
  let image = await engine.inspectImage(tag);
  const built = !image;
  if (!image) {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sandboxctl-app-'));
    try {
      await stage(inputs, g, dir);
      logger.child({ image: 'sandboxctl', tag }).info('building the sandboxctl image (offline: the host Node binary and the installed app)');
      const context = tarFs.pack(dir, {
        map: (h) => ({ ...h, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0) }),
      }) as unknown as NodeJS.ReadableStream;
      image = await engine.buildImage({
        context,
        tag,
        buildArgs: { BASE_IMAGE: base.tag },
        labels: {
          [Labels.managed]: 'true',
          [Labels.kind]: APP_IMAGE.kind,
          [Labels.inputsHash]: g.digest,
          [`${Labels.image}.base`]: base.id,
        },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const current = await engine.inspectImage(APP_CURRENT_TAG);
  if (current?.id !== image.id) await engine.tagImage(image.id, APP_CURRENT_TAG);
  return { tag, image, built };
}
