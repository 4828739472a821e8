// The incremental state of one ledger: what its last successful run consumed (every file
// Beancount read, each plugin's bundle digest and image, the runner image, the profile
// and its seccomp body, sandboxctl's version, the output format) and the digest of the
// output it wrote. Kept next to the outputs in a dot-directory, one JSON file per output,
// replaced atomically. A ledger whose inputs all still match, and whose output is still
// the one written, is skipped.
import { createHash } from 'node:crypto';
import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-file.js';

export const STATE_DIR = '.sandboxctl-state';
export const STATE_VERSION = 1;

export const FingerprintInputs = z.strictObject({
  sandboxctlVersion: z.string(),
  format: z.enum(['beancount', 'jsonl']),
  profileDigest: z.string(),
  runnerImageId: z.string(),
  /** Every file Beancount read (the ledger and its includes), sorted by path. */
  files: z.array(z.strictObject({ path: z.string(), sha256: z.string() })),
  /** Each plugin the ledger runs, in ledger order. */
  plugins: z.array(z.strictObject({ name: z.string(), dir: z.string(), bundleHash: z.string(), imageId: z.string() })),
});
export type FingerprintInputs = z.infer<typeof FingerprintInputs>;

export const LedgerState = z.strictObject({
  v: z.literal(STATE_VERSION),
  ledger: z.string(),
  output: z.string(),
  outputSha256: z.string(),
  fingerprint: z.string(),
  inputs: FingerprintInputs,
  finishedAt: z.string(),
  runId: z.string(),
  batchId: z.string(),
});
export type LedgerState = z.infer<typeof LedgerState>;

/** sha256 over the inputs in a fixed order (pure). */
export function fingerprint(inputs: FingerprintInputs): string {
  const canonical = { ...inputs, files: [...inputs.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
  return `sha256:${createHash('sha256').update(JSON.stringify(FingerprintInputs.parse(canonical))).digest('hex')}`;
}

export function statePath(output: string): string {
  return path.join(path.dirname(output), STATE_DIR, `${path.basename(output)}.json`);
}

/** The state recorded for an output, or undefined when there is none or it cannot be read (then the ledger runs). */
export async function readState(output: string): Promise<LedgerState | undefined> {
  const text = await readFile(statePath(output), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const r = LedgerState.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(state: LedgerState): Promise<void> {
  const file = statePath(state.output);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  await writeFileAtomic(file, JSON.stringify(state, null, 2) + '\n');
}

/**
 * Why a recorded success no longer holds, or null when nothing changed (pure): the current
 * inputs are recomputed by the caller from the state's own file and plugin lists.
 */
export function changeSince(state: LedgerState, now: FingerprintInputs, outputSha256: string | null): string | null {
  if (outputSha256 !== state.outputSha256) return outputSha256 === null ? 'the output is missing' : 'the output was changed since it was written';
  const was = state.inputs;
  if (was.sandboxctlVersion !== now.sandboxctlVersion) return `sandboxctl changed (${was.sandboxctlVersion} -> ${now.sandboxctlVersion})`;
  if (was.format !== now.format) return 'the output format changed';
  if (was.profileDigest !== now.profileDigest) return 'the admin profile changed';
  if (was.runnerImageId !== now.runnerImageId) return 'the runner image changed';
  const files = new Map(now.files.map((f) => [f.path, f.sha256]));
  for (const f of was.files) if (files.get(f.path) !== f.sha256) return `${f.path} changed`;
  for (const [i, p] of was.plugins.entries()) {
    const q = now.plugins[i];
    if (!q || q.name !== p.name || q.dir !== p.dir) return `plugin ${p.name} now resolves to another bundle`;
    if (q.bundleHash !== p.bundleHash) return `plugin ${p.name}'s bundle changed`;
    if (q.imageId !== p.imageId) return `plugin ${p.name}'s image changed`;
  }
  return fingerprint(now) === state.fingerprint ? null : 'the recorded state does not match its own inputs';
}
