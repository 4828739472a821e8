// Every command pays for what src/cli/index.ts loads before the command line is parsed:
// the command modules declare options only, and each imports its handler when chosen
// (`await import(...)`). This keeps that set small: a static import of a handler, the
// pipeline, zod or yaml from a command module would put it back on every command's start.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

// `import x from`, `import { a } from`, `import 'x'`, `export { a } from`: not `import type`, not `import(...)`
const STATIC = /(?:^|\n)\s*(?:import(?!\s+type\s)(?:\s[^;]*?\sfrom)?|export(?!\s+type\s)\s[^;]*?\sfrom)\s*['"]([^'"]+)['"]/g;

/** Specifiers a module's text loads when it is evaluated. */
function staticImports(text: string): string[] {
  return [...text.matchAll(STATIC)].map((m) => m[1]!);
}

/** What loading `entry` (relative to src/) loads with it: src modules and packages. */
function staticClosure(entry: string, read: (rel: string) => string): { modules: string[]; packages: string[] } {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const visit = (rel: string) => {
    if (modules.has(rel)) return;
    modules.add(rel);
    for (const spec of staticImports(read(rel))) {
      if (spec.startsWith('.')) visit(path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec)).replace(/\.js$/, '.ts'));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  };
  visit(entry);
  return { modules: [...modules].sort(), packages: [...packages].sort() };
}

const readSrc = (rel: string) => {
  const file = path.join(SRC, rel);
  if (!existsSync(file)) throw new Error(`${rel} is imported but does not exist`);
  return readFileSync(file, 'utf8');
};

describe('CLI start-up', () => {
  it('before a command is chosen, loads the command declarations, errors and the renderer, and of packages only commander', () => {
    const { modules, packages } = staticClosure('cli/index.ts', readSrc);
    expect(modules.filter((m) => !/^cli\/commands\/[a-z-]+\.ts$/.test(m))).toEqual(['cli/index.ts', 'cli/render.ts', 'errors.ts', 'safe-text.ts']);
    expect(packages).toEqual(['commander']);
  });

  it('reads static imports and leaves out type-only and dynamic ones', () => {
    const text = [
      "import { Command } from 'commander';",
      "import type { Logger } from '../logger.js';",
      "import {\n  a,\n  type B,\n} from './a.js';",
      "import './side-effect.js';",
      "export { c } from './c.js';",
      "export type { D } from './d.js';",
      "const h = await import('../handlers/run.js');",
    ].join('\n');
    expect(staticImports(text)).toEqual(['commander', './a.js', './side-effect.js', './c.js']);
  });

  it('fails on a command module that imports its handler statically', () => {
    const files: Record<string, string> = {
      'cli/index.ts': "import { registerRun } from './commands/run.js';\n",
      'cli/commands/run.ts': "import { runLedgerCommand } from '../handlers/ledger-run-handler.js';\n",
      'cli/handlers/ledger-run-handler.ts': "import { z } from 'zod';\n",
    };
    expect(staticClosure('cli/index.ts', (rel) => files[rel]!)).toEqual({
      modules: ['cli/commands/run.ts', 'cli/handlers/ledger-run-handler.ts', 'cli/index.ts'],
      packages: ['zod'],
    });
  });
});
