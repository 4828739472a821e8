// Beancount run in-process, the way users run it today: the reference the parity suite
// compares `sandboxctl run` with. It runs in the Python runner image (Debian's
// python3-beancount 2.3.5), not on the host, so the host needs only Node.js and an engine:
// one container per call, made by us (labelled), removed after it. Inside, one ordinary
// Python process loads the ledger with beancount.loader, plugins and all; nothing of the
// sandbox (no protocol, no stages) is involved. test/reference/in_process.py prints
// {"directive": D} and {"error": {message, source}} lines.
import path from 'node:path';
import { createDockerEngine } from '../../../src/engine/docker-engine.js';
import type { Engine } from '../../../src/engine/engine.js';
import { newRunId } from '../../../src/ids.js';
import { requireRunnerImage } from '../../../src/images/build.js';
import { ROOT } from './cli.js';
import { runStage } from './runner-container.js';

const REFERENCE_DIR = path.join(ROOT, 'test', 'reference');
const HELPERS_DIR = path.join(ROOT, 'test', 'integration', 'helpers');
export const IN_PROCESS = path.join(REFERENCE_DIR, 'in_process.py');

export interface LedgerError {
  message: string;
  source: { filename: string; lineno: number } | null;
}

/** What a ledger comes to: the final directives (protocol JSON) and the errors, in order. */
export interface Outcome {
  directives: Array<Record<string, unknown>>;
  errors: LedgerError[];
}

export interface ReferenceDirs {
  /** Host directories the process reads, mounted read-only at their own paths. */
  read?: string[];
  /** Host directories it writes, mounted read-write at their own paths. */
  write?: string[];
}

let target: Promise<{ engine: Engine; image: string; runId: string }> | undefined;
function reference(): Promise<{ engine: Engine; image: string; runId: string }> {
  target ??= (async () => {
    const engine = createDockerEngine();
    const image = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
    return { engine, image, runId: newRunId() };
  })();
  return target;
}

/** The host user, so what the process writes into the test's directories is the test's own. */
function hostUser(): string | undefined {
  return process.getuid && process.getgid ? `${process.getuid()}:${process.getgid()}` : undefined;
}

/**
 * Runs `python3 -I -B ARGS...` with Debian's Beancount 2.3.5 in a container of the Python
 * runner image (no network, no capabilities); returns its stdout, throws with its stderr
 * when it exits non-zero. Paths keep their host names inside, so errors name the same files.
 */
export async function referencePython(args: string[], dirs: ReferenceDirs = {}): Promise<string> {
  const { engine, image, runId } = await reference();
  const binds = [
    `${REFERENCE_DIR}:${REFERENCE_DIR}:ro`,
    `${HELPERS_DIR}:${HELPERS_DIR}:ro`,
    ...(dirs.read ?? []).map((d) => `${d}:${d}:ro`),
    ...(dirs.write ?? []).map((d) => `${d}:${d}`),
  ];
  const user = hostUser();
  const res = await runStage(engine, {
    image,
    runId,
    entrypoint: ['python3', '-I', '-B'],
    cmd: args,
    binds,
    env: ['BEANCOUNT_DISABLE_LOAD_CACHE=1'],
    ...(user ? { user } : {}),
  });
  if (res.exitCode !== 0) {
    throw new Error(`in-process Beancount (python3 ${args.join(' ').slice(0, 300)}) exited ${res.exitCode} in the runner image:\n${res.stderr.slice(-4000)}`);
  }
  return res.stdout;
}

/** Throws with the fix when Beancount 2.3.5 cannot be run in-process in the runner image. */
export async function requireReferenceBeancount(): Promise<string> {
  let version: string;
  try {
    version = (await referencePython(['-c', 'import beancount; print(beancount.__version__)'])).trim();
  } catch (err) {
    throw new Error(
      `the parity suite runs Beancount in-process in the Python runner image, which failed: ${(err as Error).message}\n` +
        '  fix: node bin/sandboxctl.js images build (the integration global setup does)',
      { cause: err },
    );
  }
  if (version !== '2.3.5') throw new Error(`the Python runner image has Beancount ${version}; the parity suite expects 2.3.5`);
  return version;
}

export async function inProcess(ledger: string): Promise<Outcome> {
  const stdout = await referencePython([IN_PROCESS, ledger], { read: [path.dirname(ledger)] });
  const out: Outcome = { directives: [], errors: [] };
  for (const line of stdout.split('\n')) {
    if (!line) continue;
    const msg = JSON.parse(line) as { directive?: Record<string, unknown>; error?: LedgerError };
    if (msg.directive) out.directives.push(msg.directive);
    else if (msg.error) out.errors.push(msg.error);
    else throw new Error(`in_process.py printed an unexpected line: ${line.slice(0, 200)}`);
  }
  return out;
}
