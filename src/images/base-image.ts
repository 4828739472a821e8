import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NotReadyError } from '../errors.js';
import type { Engine, ImageInfo } from '../engine/engine.js';
import type { Logger } from '../logger.js';
import { Labels } from '../labels.js';
import { baseTag, type BaseRecipe } from './recipes.js';
import { packContext, readContextFiles } from './build-context.js';

export interface BaseResult {
  tag: string;
  image: ImageInfo;
  built: boolean;
  how: 'present' | 'pulled' | 'debootstrap';
}

function imageLabels(recipe: BaseRecipe): Record<string, string> {
  return { [Labels.managed]: 'true', [Labels.kind]: 'base-image', [Labels.inputsHash]: baseTag(recipe).split(':')[1] ?? '' };
}

/** Runs a command, streaming its output lines to the logger; rejects with the tail on failure. */
function runLogged(cmd: string, args: string[], logger: Logger, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    let last = 0;
    const onData = (buf: Buffer) => {
      for (const line of buf.toString('utf8').split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        // one progress line every 2 s at most: a long step must not look hung, nor flood
        if (Date.now() - last > 2000) {
          last = Date.now();
          logger.info({ step: what }, line.slice(0, 200));
        }
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => reject(new NotReadyError(`${what}: cannot run ${cmd}`, { cause: err, hint: `install ${cmd} (apt-get install -y ${cmd})` })));
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new NotReadyError(`${what} failed (exit ${code}):\n${tail.join('\n')}`, { hint: 'check the network path to the Debian mirror (SANDBOXCTL_DEBIAN_MIRROR)' }));
    });
  });
}

/** Tries a registry pull with a deadline; a 'no' or a time-out both mean: make it locally. */
async function tryPull(ref: string, logger: Logger, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('docker', ['pull', '--quiet', ref], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', () => resolve(false));
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) logger.info({ ref, reason: err.trim().split('\n').pop() }, 'no registry answers; making the base image locally');
      resolve(code === 0);
    });
  });
}

/**
 * The base image: present already, else pulled when a registry answers, else made
 * from a Debian rootfs with debootstrap and imported (how air-gapped sites get it).
 */
export async function ensureBaseImage(
  engine: Engine,
  recipe: BaseRecipe,
  logger: Logger,
  opts: { allowPull: boolean; pullTimeoutMs: number },
): Promise<BaseResult> {
  const tag = baseTag(recipe);
  const present = await engine.inspectImage(tag);
  if (present) return { tag, image: present, built: false, how: 'present' };

  if (opts.allowPull && (await tryPull(recipe.pullRef, logger, opts.pullTimeoutMs))) {
    // re-tagging a pulled image cannot add our labels; a one-line build FROM it does
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sandboxctl-base-'));
    try {
      await writeFile(path.join(dir, 'Dockerfile'), `FROM ${recipe.pullRef}\n`);
      const files = await readContextFiles(dir);
      const image = await engine.buildImage({ context: packContext(dir, files), tag, labels: imageLabels(recipe) });
      return { tag, image, built: true, how: 'pulled' };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  if (process.getuid?.() !== 0) {
    throw new NotReadyError('making the base image with debootstrap needs root', {
      hint: 'run `sandboxctl images build` as root once, or load a base image made elsewhere',
    });
  }
  const work = await mkdtemp(path.join(os.tmpdir(), 'sandboxctl-rootfs-'));
  const rootfs = path.join(work, 'rootfs');
  try {
    logger.info({ suite: recipe.suite, variant: recipe.variant }, 'making the base root filesystem with debootstrap (about a minute)');
    await runLogged('debootstrap', [`--variant=${recipe.variant}`, recipe.suite, rootfs, recipe.mirror], logger, 'debootstrap');
    logger.info({ tag }, 'importing the root filesystem');
    // GNU tar keeps hard links, devices and ownership exactly; this is a rootfs, not a build context
    const tar = spawn('tar', ['-C', rootfs, '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const changes = [
      ...Object.entries(imageLabels(recipe)).map(([k, v]) => `LABEL ${k}=${v}`),
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'CMD ["/bin/bash"]',
    ];
    const image = await engine.importImage(tar.stdout, tag, changes);
    return { tag, image, built: true, how: 'debootstrap' };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
