// Image references for the hardening tests, in one place. The probe image is the base
// image plus a static probe binary (probe.c); it is built per test file and removed after.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Engine, ImageInfo } from '../../../src/engine/engine.js';
import { packContext } from '../../../src/images/build-context.js';
import { baseTag, DEFAULT_BASE, type ContextFile } from '../../../src/images/recipes.js';
import { ourLabels } from '../../../src/labels.js';

/** The sandboxctl base image (the integration global setup builds it). */
export async function baseImage(engine: Engine): Promise<string> {
  const ref = baseTag(DEFAULT_BASE);
  if (await engine.inspectImage(ref)) return ref;
  throw new Error('no base image: run `sandboxctl images build` (the integration global setup does)');
}

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds FROM the base with the static probe at /usr/local/bin/probe. The probe is compiled
 * with the host's gcc when there is one, else in a build stage from Debian's mirror.
 */
export async function buildProbeImage(engine: Engine, runId: string): Promise<ImageInfo> {
  const base = await baseImage(engine);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sbx-probe-'));
  try {
    await copyFile(path.join(import.meta.dirname, 'probe.c'), path.join(dir, 'probe.c'));
    let dockerfile: string;
    if (hasGcc()) {
      execFileSync('gcc', ['-static', '-O2', '-o', path.join(dir, 'probe'), path.join(dir, 'probe.c')], { stdio: 'inherit' });
      dockerfile = `FROM ${base}\nCOPY probe /usr/local/bin/probe\n`;
    } else {
      dockerfile = [
        `FROM ${base} AS build`,
        'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev',
        'COPY probe.c /probe.c',
        'RUN gcc -static -O2 -o /probe /probe.c',
        `FROM ${base}`,
        'COPY --from=build /probe /usr/local/bin/probe',
        '',
      ].join('\n');
    }
    await writeFile(path.join(dir, 'Dockerfile'), dockerfile);
    const names = hasGcc() ? ['Dockerfile', 'probe'] : ['Dockerfile', 'probe.c'];
    const files: ContextFile[] = await Promise.all(
      names.map(async (n) => ({ path: n, content: await readFile(path.join(dir, n)), mode: n === 'probe' ? 0o755 : 0o644 })),
    );
    return await engine.buildImage({ context: packContext(dir, files), tag: `sandboxctl-test/hardening-probe:${runId}`, labels: ourLabels('test', runId) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
