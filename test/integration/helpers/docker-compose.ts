// docker-compose (Debian's 1.29.2, installed by .ci/run) for the compose tests: run it,
// and require it plainly, so a machine without it fails the test instead of skipping it.
import { execFileSync, spawn } from 'node:child_process';

export interface ComposeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Throws when docker-compose is missing, with how to install it. */
export function requireDockerCompose(): string {
  try {
    return execFileSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).trim();
  } catch (cause) {
    throw new Error('docker-compose is not installed: `apt-get install -y docker-compose` (.ci/run does it); the compose tests need the real one', { cause });
  }
}

export function dockerCompose(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {}): Promise<ComposeRun> {
  return new Promise((resolve, reject) => {
    // compose 1.29 gives up on an engine call after 60 s by default; a loaded shared machine can take longer
    const child = spawn('docker-compose', args, { cwd: opts.cwd, env: { COMPOSE_HTTP_TIMEOUT: '300', ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** `docker inspect` of containers, as the engine reports them (whole objects). */
export function dockerInspect(ids: string[]): Array<Record<string, any>> {
  if (ids.length === 0) return [];
  return JSON.parse(execFileSync('docker', ['inspect', ...ids], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as Array<Record<string, any>>;
}

/** Container ids with a label (all states). */
export function containersWithLabel(label: string): string[] {
  return execFileSync('docker', ['ps', '-aq', '--no-trunc', '--filter', `label=${label}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}
