// The CLI as bin/sandboxctl.js runs it: dist/ (compiled by tsc) bundled into dist/bundle/.
// Loading dist/'s modules one by one costs every command about 300 files (ours, zod's
// modules, yaml's) before it starts; the bundle is a handful of files, one per group of
// commands (each command's handler is imported when chosen, so a `run` never parses
// batch, compose or image-build code). dist/'s modules stay as they are for whatever
// imports them (tests, bench scripts).
//
// Not bundled, loaded from node_modules as before:
// - dockerode: required lazily (src/engine/load-dockerode.ts defers its gRPC and SSH parts
//   through Node's CommonJS cache; ssh2 carries optional native code);
// - pino: its transports (the audit log's shipping, $SANDBOXCTL_AUDIT_SHIP) run in worker
//   threads that load pino's and thread-stream's own files, and resolve their targets
//   from the caller's location.
import { build } from 'esbuild';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = path.join(ROOT, 'dist', 'cli', 'index.js');
// at the depth of dist/cli/: the CLI finds the install root two folders up from its module
const OUT_DIR = path.join(ROOT, 'dist', 'bundle');
const EXTERNAL = ['dockerode', 'pino'];

if (!existsSync(ENTRY)) {
  console.error(`${path.relative(ROOT, ENTRY)} is missing: compile first (npm run build does both)`);
  process.exit(1);
}
rmSync(OUT_DIR, { recursive: true, force: true });

const result = await build({
  absWorkingDir: ROOT,
  entryPoints: { sandboxctl: ENTRY },
  outdir: OUT_DIR,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  chunkNames: 'chunk-[hash]',
  // the CommonJS packages bundled (commander, yaml, tar-fs) require Node's built-in modules
  banner: { js: "import { createRequire as __sandboxctlCreateRequire } from 'node:module';\nconst require = __sandboxctlCreateRequire(import.meta.url);" },
  metafile: true,
  logLevel: 'warning',
});

// Only compiled src/ (never its tests) and installed packages go in: what dist/ and the package ship.
const stray = Object.keys(result.metafile.inputs).filter((f) => !(f.startsWith('node_modules/') || (f.startsWith('dist/') && !/\.test\.js$/.test(f) && !f.startsWith('dist/bundle/'))));
if (stray.length > 0) {
  rmSync(OUT_DIR, { recursive: true, force: true });
  console.error(`the CLI bundle would take in files that dist/ does not ship:\n  ${stray.join('\n  ')}`);
  process.exit(1);
}
