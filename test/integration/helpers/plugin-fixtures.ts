// Test plugins under test/fixtures/plugins, built into plugin images on the python
// runner, and run with a hardened container body. Images this file builds are removed
// by cleanupFixtureImages().
import path from 'node:path';
import type { CreateContainerBody, Engine, ImageInfo } from '../../../src/engine/engine.js';
import { requireRunnerImage } from '../../../src/images/build.js';
import { createLogger } from '../../../src/logger.js';
import { loadBundle, type Bundle } from '../../../src/manifest/bundle.js';
import { durationMs } from '../../../src/manifest/quantity.js';
import { ensurePluginImage, type PluginImage } from '../../../src/run/plugin-image.js';
import { runLimits, type RunLimits } from '../../../src/run/run-limits.js';
import { ROOT } from './cli.js';
import type { HostFacts } from '../../../src/policy/grant.js';
import { loadProfile, profileLocations } from '../../../src/policy/load-profile.js';
import type { Profile } from '../../../src/policy/profile-schema.js';
import { resolve } from '../../../src/policy/resolve.js';
import { buildContainerSpec } from '../../../src/blueprint/container-blueprint.js';
import { loadSeccomp } from '../../../src/policy/seccomp-file.js';
import type { CheckedSeccomp } from '../../../src/policy/seccomp.js';

export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'plugins');
export const quietLogger = createLogger(process.env.SANDBOXCTL_TEST_LOG ?? 'silent');

const built = new Set<string>();
let runner: ImageInfo | undefined;

export interface Fixture {
  bundle: Bundle;
  image: PluginImage;
}

export async function fixture(engine: Engine, name: string): Promise<Fixture> {
  runner ??= await requireRunnerImage(engine, { root: ROOT }, 'python');
  const bundle = await loadBundle(path.join(FIXTURES, name));
  const image = await ensurePluginImage({ engine, bundle, runner, logger: quietLogger });
  if (image.built) built.add(image.id);
  return { bundle, image };
}

export async function cleanupFixtureImages(engine: Engine): Promise<void> {
  for (const id of built) await engine.removeImage(id);
  built.clear();
}

const profiles = new Map<string, Promise<{ profile: Profile; seccomp: CheckedSeccomp }>>();
let host: Promise<HostFacts> | undefined;

async function loadPolicy(name: string) {
  const loaded = await loadProfile(name, profileLocations(ROOT, {}));
  return { profile: loaded.profile, seccomp: await loadSeccomp(loaded.seccompFile) };
}

/** The real container body: the bundle's manifest granted by a shipped profile, through the spec builder. */
export async function specFor(engine: Engine, bundle: Bundle, profileName = 'strict'): Promise<CreateContainerBody> {
  if (!profiles.has(profileName)) profiles.set(profileName, loadPolicy(profileName));
  const { profile, seccomp } = await profiles.get(profileName)!;
  host ??= engine.info().then((i) => ({ apparmor: i.apparmor, runtimes: i.runtimes }));
  const decision = resolve({ manifest: bundle.manifest, profile, host: await host });
  if (decision.kind !== 'grant') throw new Error(`test fixture ${bundle.manifest.name} refused: ${JSON.stringify(decision.denials)}`);
  return buildContainerSpec({ grant: decision, image: 'set-by-run', seccomp, labels: {} }).body;
}

export function limitsFor(bundle: Bundle, inputCount: number, over: Partial<RunLimits> = {}): RunLimits {
  return runLimits({ timeoutMs: durationMs(bundle.manifest.resources.timeout), ...over }, inputCount);
}
