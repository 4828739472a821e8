// Installed plugin bundles, found by the name a ledger's `plugin "name"` line uses.
// Search order: --plugins-dir (each given), $SANDBOXCTL_PLUGINS_DIR (colon-separated),
// then the first-party bundles shipped in <install>/plugins. The first bundle of a
// name wins, so an admin can replace a shipped one.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { InvalidInputError } from '../errors.js';
import { MANIFEST_FILE, parseManifest } from '../manifest/parse.js';

export const PLUGINS_DIR_ENV = 'SANDBOXCTL_PLUGINS_DIR';

export interface CatalogueEntry {
  name: string;
  version: string;
  dir: string;
  source: string;
}

export interface Catalogue {
  entries: CatalogueEntry[];
  /** Bundles that could not be read: shown by `plugin list`, fatal only when used. */
  broken: Array<{ dir: string; error: InvalidInputError | Error }>;
  find(name: string): CatalogueEntry | undefined;
}

export function pluginDirs(flag: readonly string[] | undefined, env: NodeJS.ProcessEnv, root: string): string[] {
  const fromEnv = (env[PLUGINS_DIR_ENV] ?? '').split(':').filter(Boolean);
  return [...(flag ?? []), ...fromEnv, path.join(root, 'plugins')].map((d) => path.resolve(d));
}

export async function readCatalogue(dirs: readonly string[]): Promise<Catalogue> {
  const byName = new Map<string, CatalogueEntry>();
  const entries: CatalogueEntry[] = [];
  const broken: Catalogue['broken'] = [];
  for (const base of dirs) {
    let subdirs;
    try {
      subdirs = await readdir(base, { withFileTypes: true });
    } catch {
      continue; // a plugins dir that does not exist holds no plugins
    }
    for (const d of subdirs.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const dir = path.join(base, d.name);
      const file = path.join(dir, MANIFEST_FILE);
      let text;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        continue; // not a bundle
      }
      try {
        const m = parseManifest(text, file);
        const entry = { name: m.name, version: m.version, dir, source: base };
        entries.push(entry);
        if (!byName.has(m.name)) byName.set(m.name, entry);
      } catch (err) {
        broken.push({ dir, error: err as Error });
      }
    }
  }
  return { entries, broken, find: (name) => byName.get(name) };
}
