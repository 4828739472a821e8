// Beancount run in-process on the host (Debian's python3-beancount 2.3.5): the reference
// the parity suite compares `sandboxctl run` with. test/reference/in_process.py prints
// {"directive": D} and {"error": {message, source}} lines.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './cli.js';

const exec = promisify(execFile);

/** The host's Debian Python, where apt put beancount (not whatever python3 is first on PATH). */
export const HOST_PYTHON = process.env.SANDBOXCTL_HOST_PYTHON ?? '/usr/bin/python3';
export const IN_PROCESS = path.join(ROOT, 'test', 'reference', 'in_process.py');

export interface LedgerError {
  message: string;
  source: { filename: string; lineno: number } | null;
}

/** What a ledger comes to: the final directives (protocol JSON) and the errors, in order. */
export interface Outcome {
  directives: Array<Record<string, unknown>>;
  errors: LedgerError[];
}

/** Throws with the fix when the host cannot run Beancount in-process. */
export async function requireHostBeancount(): Promise<string> {
  try {
    const { stdout } = await exec(HOST_PYTHON, ['-c', 'import beancount; print(beancount.__version__)']);
    const version = stdout.trim();
    if (version !== '2.3.5') throw new Error(`found Beancount ${version}, expected 2.3.5`);
    return version;
  } catch (err) {
    throw new Error(
      `the parity suite needs Beancount 2.3.5 on the host (${HOST_PYTHON}): ${(err as Error).message}\n` +
        '  fix: bash scripts/host-beancount.sh (apt-get install python3-beancount beancount)',
      { cause: err },
    );
  }
}

export async function inProcess(ledger: string): Promise<Outcome> {
  let stdout: string;
  try {
    ({ stdout } = await exec(HOST_PYTHON, [IN_PROCESS, ledger], { maxBuffer: 1 << 30, env: { ...process.env, BEANCOUNT_DISABLE_LOAD_CACHE: '1' } }));
  } catch (err) {
    const e = err as Error & { stderr?: string; code?: number };
    throw new Error(`in-process Beancount failed on ${ledger} (exit ${e.code}):\n${e.stderr ?? e.message}`, { cause: err });
  }
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
