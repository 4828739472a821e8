import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkImports, importSpecifiers } from '../architecture/import-direction.js';
import { LAYERS } from '../architecture/layers.js';

const SRC = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string, base = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir)) {
    const abs = path.join(dir, name);
    const rel = base ? `${base}/${name}` : name;
    if (statSync(abs).isDirectory()) for (const [k, v] of sourceFiles(abs, rel)) out.set(k, v);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.set(rel, readFileSync(abs, 'utf8'));
  }
  return out;
}

describe('import direction', () => {
  it('src imports only along the data path', () => {
    expect(checkImports(sourceFiles(SRC), LAYERS)).toEqual([]);
  });

  it('fails on a deliberate reverse import', () => {
    const files = new Map([
      ['engine/engine.ts', "import { x } from '../pipeline/run-ledger.js';\n"],
      ['ledger/diagnostic.ts', "import type { y } from '../cli/render.js';\n"],
      ['policy/load-policy.ts', "import { z } from '../blueprint/seccomp.js';\n"],
      ['run/chain.ts', "export { w } from '../run/limits.js';\nconst m = await import('../pipeline/execute.js');\n"],
      ['pipeline/a.ts', "import { v } from '../stages/stage-body.js';\nimport { u } from './b.js';\n"],
    ]);
    const found = checkImports(files, LAYERS).map((v) => `${v.file} -> ${v.to}`);
    expect(found).toEqual(['engine/engine.ts -> pipeline', 'ledger/diagnostic.ts -> cli', 'policy/load-policy.ts -> blueprint', 'run/chain.ts -> pipeline']);
  });

  it('refuses same-rank imports between different folders and unknown folders', () => {
    const files = new Map([
      ['run/a.ts', "import { s } from '../stages/stage-body.js';\n"],
      ['mystery/a.ts', "import { e } from '../errors.js';\n"],
    ]);
    expect(checkImports(files, LAYERS).map((v) => v.reason)).toEqual([
      'run (layer 70) may only import layers below it; stages is layer 70',
      'folder mystery has no layer in layers.ts',
    ]);
  });

  it('reads static, type-only, re-export, multi-line and dynamic imports', () => {
    const text = "import {\n  a,\n  b,\n} from './x.js';\nimport type { T } from '../y.js';\nexport * from './z.js';\nimport pino from 'pino';\nconst m = import('./lazy.js');\n";
    expect(importSpecifiers(text)).toEqual(['./x.js', '../y.js', './z.js', './lazy.js']);
  });
});

describe('docs/architecture.md', () => {
  const doc = readFileSync(path.resolve(SRC, '../docs/architecture.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `src\/([a-z-]*)\/?` \| (\d+) \|/gm)].map((m) => [m[1] || '.', Number(m[2])] as const);

  it('its folder table lists every folder of src with its layer, and nothing else', () => {
    const folders = readdirSync(SRC).filter((n) => statSync(path.join(SRC, n)).isDirectory()).sort();
    expect(rows.map(([f]) => f).filter((f) => f !== '.').sort()).toEqual(folders);
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(LAYERS).filter(([f]) => f === '.' || folders.includes(f))));
  });
});
