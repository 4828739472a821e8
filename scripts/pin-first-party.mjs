#!/usr/bin/env node
// Prints src/policy/first-party-bundles.ts from the bundles in plugins/: run it (after
// `npm run build`) when a first-party bundle changes, and review the diff. The unit test
// src/policy/first-party-bundles.test.ts fails until the pins match the folder.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { loadBundle } = await import(path.join(root, 'dist', 'manifest', 'bundle.js'));
const dir = path.join(root, 'plugins');
const rows = [];
for (const d of (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
  const b = await loadBundle(path.join(dir, d.name));
  rows.push(`  '${b.manifest.name}': '${b.digest}',`);
}
process.stdout.write(`// The first-party bundles shipped in plugins/, each pinned by its digest (every file,
// plugin.yaml included): only these bytes, from the install's plugins/ folder, are
// Beancount builtins that a profile may run in the trusted session (isolation.ts).
// Made by scripts/pin-first-party.mjs; checked against plugins/ by its unit test.
export const FIRST_PARTY_BUNDLES: Readonly<Record<string, string>> = Object.freeze({
${rows.join('\n')}
});
`);
