// Finds imports that run against the data path (see layers.ts). Pure: it is given each
// file's text, so a unit test can feed it a deliberate reverse import.
import path from 'node:path';

export interface ImportViolation {
  file: string;
  specifier: string;
  from: string;
  to: string;
  reason: string;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?\sfrom\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Relative import specifiers in a module's text (static, re-exports and dynamic). */
export function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2];
    if (spec?.startsWith('.')) out.push(spec);
  }
  return out;
}

/** The layer folder of a path relative to src/ ('.' for files directly under src/). */
export function folderOf(relToSrc: string): string {
  const parts = relToSrc.split('/');
  return parts.length === 1 ? '.' : parts[0]!;
}

export function checkImports(files: ReadonlyMap<string, string>, layers: Readonly<Record<string, number>>): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const [file, text] of files) {
    const from = folderOf(file);
    for (const specifier of importSpecifiers(text)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier));
      if (target.startsWith('..')) {
        violations.push({ file, specifier, from, to: '(outside src)', reason: 'src must not import from outside src' });
        continue;
      }
      const to = folderOf(target);
      if (to === from) continue;
      const rf = layers[from];
      const rt = layers[to];
      if (rf === undefined || rt === undefined) {
        violations.push({ file, specifier, from, to, reason: `folder ${rf === undefined ? from : to} has no layer in layers.ts` });
      } else if (rt >= rf) {
        violations.push({ file, specifier, from, to, reason: `${from} (layer ${rf}) may only import layers below it; ${to} is layer ${rt}` });
      }
    }
  }
  return violations;
}
