// Test code never ships: no module of src/ (the tests beside it aside) imports from test/,
// or from anywhere outside src/, so the build (tsconfig.build.json: src only) and the
// published package (package.json `files`) hold nothing of the tests.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importSpecifiers } from '../architecture/import-direction.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');

/** `file -> target` for each relative import of a src module that leaves src/. */
function importsLeavingSrc(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    for (const spec of importSpecifiers(text)) {
      const target = path.resolve(path.dirname(file), spec);
      if (path.relative(SRC, target).startsWith('..')) out.push(`${path.relative(ROOT, file)} -> ${path.relative(ROOT, target)}`);
    }
  }
  return out;
}

function shippedModules(): Map<string, string> {
  const names = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'));
  return new Map(names.map((n) => [path.join(SRC, n), readFileSync(path.join(SRC, n), 'utf8')]));
}

describe('src does not depend on test code', () => {
  it('no shipped module imports from test/ (or anything else outside src/)', () => {
    const modules = shippedModules();
    expect(modules.size).toBeGreaterThan(50);
    expect(importsLeavingSrc(modules)).toEqual([]);
  });

  it('fails on a deliberate import of a test fixture', () => {
    const files = new Map([
      [path.join(SRC, 'policy', 'a.ts'), "import { PROFILE } from '../../test/fixtures/policy-fixtures.js';\nimport { x } from './b.js';\n"],
      [path.join(SRC, 'run', 'b.ts'), "const m = await import('../../test/integration/helpers/cli.js');\n"],
    ]);
    expect(importsLeavingSrc(files)).toEqual(['src/policy/a.ts -> test/fixtures/policy-fixtures.js', 'src/run/b.ts -> test/integration/helpers/cli.js']);
  });

  it('the build compiles src/ without its tests, and the package ships no test folder', () => {
    const build = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as { include: string[]; exclude: string[]; compilerOptions: { rootDir: string } };
    expect(build.include).toEqual(['src']);
    expect(build.exclude).toContain('src/**/*.test.ts');
    expect(build.compilerOptions.rootDir).toBe('src');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
    expect(pkg.files.filter((f) => /test|fixture|bench/.test(f))).toEqual([]);
  });
});
