import path from 'node:path';
import type { CreateContainerBody, Engine } from '../../../src/engine/engine.js';
import { ourLabels } from '../../../src/labels.js';
import { ROOT } from './cli.js';

const FIX = path.join(ROOT, 'test', 'fixtures');
/** Read-only binds of the test fixtures: the ledgers at /ledger, the in-container checks at /check, a bundle at /plugin. */
export const FIXTURE_BINDS = {
  ledgers: `${path.join(FIX, 'ledgers')}:/ledger:ro`,
  checks: `${path.join(FIX, 'runner')}:/check:ro`,
  bundle: (name: string) => `${path.join(FIX, 'plugins', name)}:/plugin:ro`,
};

export interface StageRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface StageOptions {
  image: string;
  runId: string;
  cmd: string[];
  entrypoint?: string[];
  /** host:container[:ro] bind mounts */
  binds?: string[];
  input?: string;
  /** NAME=value lines for the container's environment. */
  env?: string[];
  /** uid:gid to run as (default: the image's user). */
  user?: string;
}

/** Runs one runner container to completion with `input` on stdin; always removes it. */
export async function runStage(engine: Engine, o: StageOptions): Promise<StageRun> {
  const c = await engine.createContainer({
    Image: o.image,
    Cmd: o.cmd,
    ...(o.entrypoint ? { Entrypoint: o.entrypoint } : {}),
    ...(o.env ? { Env: o.env } : {}),
    ...(o.user ? { User: o.user } : {}),
    Labels: ourLabels('test', o.runId),
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    HostConfig: { NetworkMode: 'none', Binds: o.binds ?? [], CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'] },
  });
  try {
    const streams = await c.attach();
    let stdout = '';
    let stderr = '';
    streams.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    streams.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const ended = Promise.all([
      new Promise((r) => streams.stdout.on('end', r)),
      new Promise((r) => streams.stderr.on('end', r)),
    ]);
    await c.start();
    await new Promise<void>((resolve, reject) => {
      streams.stdin.on('error', reject);
      streams.stdin.write(o.input ?? '', () => {
        streams.stdin.end();
        resolve();
      });
    });
    const { exitCode } = await c.wait();
    await Promise.race([ended, new Promise((r) => setTimeout(r, 2000))]);
    return { exitCode, stdout, stderr };
  } finally {
    await c.remove();
  }
}

/** JSON lines -> objects (every line must parse). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The loader's output turned into a plugin's input stream. */
export function pluginInput(loaded: Array<Record<string, unknown>>, name: string, config: string | null): string {
  const options = loaded.find((l) => l.type === 'options')!.options;
  const dirs = loaded.filter((l) => l.type === 'directive');
  const header = { type: 'header', protocol: 1, plugin: { name, version: null }, config, options, count: dirs.length };
  return [header, ...dirs, { type: 'end' }].map((m) => JSON.stringify(m)).join('\n') + '\n';
}

/** Runs a container from a full create body to completion with `input` on stdin; always removes it. */
export async function runBody(engine: Engine, body: CreateContainerBody, input = ''): Promise<{ exitCode: number; out: string; err: string }> {
  const handle = await engine.createContainer(body);
  try {
    const s = await handle.attach();
    let out = '';
    let err = '';
    s.stdout.on('data', (b: Buffer) => (out += b.toString()));
    s.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const ended = new Promise<void>((res) => s.stdout.on('end', res));
    await handle.start();
    s.stdin.end(input);
    const { exitCode } = await handle.wait();
    await Promise.race([ended, new Promise((r) => setTimeout(r, 5000))]);
    return { exitCode, out, err };
  } finally {
    await handle.remove();
  }
}
