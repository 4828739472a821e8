import { promises as fs } from 'node:fs';
import path from 'node:path';
import tarFs from 'tar-fs';
import type { ContextFile } from './recipes.js';

/** Reads every regular file under dir (sorted), refusing links that leave it. */
export async function readContextFiles(dir: string): Promise<ContextFile[]> {
  const out: ContextFile[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name === '__pycache__' || e.name === 'node_modules' || e.name.endsWith('.pyc')) continue;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        const full = path.join(dir, r);
        const [content, st] = await Promise.all([fs.readFile(full), fs.stat(full)]);
        out.push({ path: r, content, mode: st.mode });
      }
      // symlinks and special files are left out of build contexts on purpose
    }
  }
  await walk('');
  return out;
}

/** Packs exactly the given files of dir as a build context tar stream (tar-fs). */
export function packContext(dir: string, files: readonly ContextFile[]): NodeJS.ReadableStream {
  const pack = tarFs.pack(dir, {
    entries: files.map((f) => f.path),
    // normalise owner and time so the context bytes depend only on content
    map: (h) => ({ ...h, uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0) }),
  });
  return pack as unknown as NodeJS.ReadableStream;
}
