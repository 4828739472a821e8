import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { buildImages } from '../../src/images/build.js';
import { createLogger } from '../../src/logger.js';
import { findLeftovers } from './helpers/leftovers.js';

const ROOT = path.resolve(__dirname, '..', '..');

// Integration tests need the real engine and current images. Provision them once
// (idempotent: a current image is not rebuilt), and after the suite check that no
// engine object of ours outlived the process that made it.
export async function setup(): Promise<void> {
  const engine = createDockerEngine();
  try {
    await engine.ping();
  } catch {
    execFileSync('bash', [path.join(ROOT, 'scripts', 'engine-up.sh')], { stdio: 'inherit' });
  }
  await buildImages(engine, { root: ROOT, allowPull: false }, createLogger('warn'));
  // the CLI runs from dist/ (bundled as bin/sandboxctl.js loads it): keep it in step with the sources under test
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle-cli.mjs')], { cwd: ROOT, stdio: 'inherit' });
}

export async function teardown(): Promise<void> {
  const left = await findLeftovers(createDockerEngine());
  if (left.length > 0) {
    throw new Error(`engine objects of ours outlived their process:\n${left.map((l) => `  ${l.kind} ${l.id} ${JSON.stringify(l.labels)}`).join('\n')}`);
  }
}
