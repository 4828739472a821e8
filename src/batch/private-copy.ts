// A root-owned ledger that others may not read is never handed to the sandbox as root:
// the batch (running as root) copies the ledger and the files it includes into a fresh
// directory owned by the sandbox's unprivileged uid, mode 0700 (files 0400), and the
// loader reads that copy as that uid. Other users cannot read the copy; the sandbox sees
// only the include closure, never the rest of the directory. Only files inside the
// ledger's own directory are copied (the loader never sees anything else, copy or not);
// links are resolved and must stay inside it. The copy is removed after the run; a dead
// batch's copies are removed by the next one (the name carries the pid).
import { randomBytes } from 'node:crypto';
import { chown, mkdir, open, readFile, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { expandGlob } from './glob.js';

export const COPY_PREFIX = '.sandboxctl-copy-';
const INCLUDE_RE = /^include[ \t]+"((?:[^"\\\n]|\\.)*)"/gm;

/** The include targets a ledger file names, in order (pure). */
export function includesOf(text: string): string[] {
  return [...text.matchAll(INCLUDE_RE)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
}

function inside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/**
 * The ledger and every file it includes, transitively, that lies inside the ledger's
 * directory (after resolving links), each with its bytes read once.
 */
export async function includeClosure(main: string): Promise<Array<{ rel: string; bytes: Buffer }>> {
  const root = await realpath(path.dirname(main));
  const out = new Map<string, Buffer>();
  const queue = [main];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const real = await realpath(file).catch(() => undefined);
    if (!real || !inside(root, real)) continue;
    const rel = path.relative(root, real);
    if (out.has(rel)) continue;
    const bytes = await readFile(real).catch(() => undefined);
    if (!bytes) continue;
    out.set(rel, bytes);
    for (const target of includesOf(bytes.toString('utf8'))) queue.push(...(await expandGlob(target, path.dirname(file))));
  }
  return [...out].map(([rel, bytes]) => ({ rel, bytes }));
}

export interface PrivateCopy {
  dir: string;
  /** The copy of the main ledger: what the loader loads. */
  ledgerPath: string;
  /** A path inside the copy, as the original's (for diagnostics); other paths unchanged. */
  toOriginal(p: string): string;
  /** Text (a message) with the copy's directory named as the original's. */
  mapText(t: string): string;
  dispose(): Promise<void>;
}

export async function makePrivateCopy(main: string, owner: { uid: number; gid: number }): Promise<PrivateCopy> {
  const root = await realpath(path.dirname(main));
  const files = await includeClosure(main);
  const dir = path.join(root, `${COPY_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  // made 0700 and given to the sandbox's uid before anything is written into it
  await mkdir(dir, { mode: 0o700 });
  try {
    await chown(dir, owner.uid, owner.gid);
    for (const f of files) {
      const target = path.join(dir, f.rel);
      // parents first, each 0700 and given away before anything goes in
      const parents: string[] = [];
      for (let p = path.dirname(target); p !== dir; p = path.dirname(p)) parents.unshift(p);
      for (const p of parents) {
        await mkdir(p, { mode: 0o700 }).then(
          () => chown(p, owner.uid, owner.gid),
          (e: NodeJS.ErrnoException) => {
            if (e.code !== 'EEXIST') throw e;
          },
        );
      }
      const fh = await open(target, 'wx', 0o400);
      try {
        await fh.chown(owner.uid, owner.gid);
        await fh.writeFile(f.bytes);
      } finally {
        await fh.close();
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const mainRel = path.relative(root, await realpath(main));
  return {
    dir,
    ledgerPath: path.join(dir, mainRel),
    toOriginal: (p) => (p === dir ? root : p.startsWith(dir + path.sep) ? path.join(root, p.slice(dir.length + 1)) : p),
    mapText: (t) => t.split(dir).join(root),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
