// Expands a path pattern the way Python's glob(recursive=True) does, which is what
// Beancount uses for `include`: `*`, `?` and `[...]` within one path segment, `**` for any
// number of directories. A segment's wildcard never matches a leading dot, so dot-files
// and dot-directories (where sandboxctl stages outputs and keeps state) are never picked
// up. Regular files only, sorted.
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const MAGIC = /[*?[]/;

export function hasMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

/** One path segment's pattern as a regular expression (pure). */
export function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = segment.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  // a leading wildcard does not match a leading dot (as in the shell and Python)
  return new RegExp(segment.startsWith('.') ? `^${re}$` : `^(?!\\.)${re}$`);
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

async function children(dir: string): Promise<Array<{ name: string; dir: boolean }>> {
  const list = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: Array<{ name: string; dir: boolean }> = [];
  for (const e of list) {
    const full = path.join(dir, e.name);
    // links are followed, as Python's glob follows them
    const isDir = e.isDirectory() || (e.isSymbolicLink() && (await stat(full).then((s) => s.isDirectory(), () => false)));
    out.push({ name: e.name, dir: isDir });
  }
  return out;
}

async function walk(base: string, segments: readonly string[], out: Set<string>): Promise<void> {
  if (segments.length === 0) {
    if (await isFile(base)) out.add(base);
    return;
  }
  const [seg, ...rest] = segments as [string, ...string[]];
  if (seg === '**') {
    await walk(base, rest, out); // zero directories
    for (const c of await children(base)) if (c.dir && !c.name.startsWith('.')) await walk(path.join(base, c.name), segments, out);
    return;
  }
  if (!hasMagic(seg)) return walk(path.join(base, seg), rest, out);
  const re = segmentRegex(seg);
  for (const c of await children(base)) {
    if (!re.test(c.name)) continue;
    if (rest.length === 0 ? !c.dir : c.dir) await walk(path.join(base, c.name), rest, out);
  }
}

/** The regular files a pattern names (relative patterns from `cwd`), sorted; a plain path that is a file names itself. */
export async function expandGlob(pattern: string, cwd: string): Promise<string[]> {
  const abs = path.resolve(cwd, pattern);
  if (!hasMagic(pattern)) return (await isFile(abs)) ? [abs] : [];
  const root = path.parse(abs).root;
  const out = new Set<string>();
  await walk(root, abs.slice(root.length).split(path.sep).filter(Boolean), out);
  return [...out].sort();
}
