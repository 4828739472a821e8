// What the bench scripts share: the built dist/ modules, and one plugin bundle prepared as
// the CLI prepares it under an admin profile (policy, grant, the plugin's image, its
// container spec). Needs `npm run build`, the engine and the images.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(ROOT, 'dist');

if (!existsSync(path.join(DIST, 'cli', 'index.js'))) {
  console.error('dist/ is missing: run `npm run build` first (and `node bin/sandboxctl.js images build`)');
  process.exit(2);
}

/** A module of dist/, by its path there. */
export const dist = (p) => import(path.join(DIST, p));

const { createDockerEngine } = await dist('engine/docker-engine.js');
const { createLogger } = await dist('logger.js');
const { loadPolicy } = await dist('policy/load-policy.js');
const { hostFacts } = await dist('policy/host-facts.js');
const { preparePlugin } = await dist('pipeline/jsonl-run.js');
const { newRunId } = await dist('ids.js');

/** The engine, a silent logger and the host's facts, once per script. */
export async function benchContext() {
  const engine = createDockerEngine();
  return { engine, logger: createLogger('silent'), host: (await hostFacts(engine)).facts };
}

/** The bundle in `bundleDir` prepared under `profile`: { runId, policy, plugin } (throws on a refusal). */
export async function preparedUnder(ctx, profile, bundleDir) {
  const runId = newRunId(new Date());
  const policy = await loadPolicy({ root: ROOT, env: process.env, profile });
  const step = await preparePlugin(
    { bundleDir, line: { name: path.basename(bundleDir), config: null, filename: null, lineno: null }, position: 0 },
    { engine: ctx.engine, root: ROOT, runId, logger: ctx.logger, policy, host: ctx.host, env: {} },
  );
  if (!step.ok) throw step.error;
  return { runId, policy, plugin: step.plugin };
}
