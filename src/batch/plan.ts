// From what the admin wrote (command-line paths and globs, or a batch file) to one job per
// ledger: its absolute path, profile, plugin folders, output file and deadline. Globs are
// expanded here; everything else is pure. A ledger named twice runs once (its first entry
// wins); two ledgers that would write one output, or an output that is a ledger, stop the
// batch before anything runs.
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { durationMs } from '../manifest/quantity.js';
import { DEFAULT_OUTPUT_PATTERN, outputDirPattern, type BatchFile } from './batch-file.js';
import { expandGlob, hasMagic } from './glob.js';

export interface LedgerSource {
  pattern: string;
  profile?: string;
  output?: string;
  deadlineMs?: number;
  pluginsDirs?: string[];
}

export interface BatchSettings {
  /** Relative paths (ledgers, outputs, folders) are resolved from here. */
  baseDir: string;
  profile?: string;
  profilesDir?: string;
  pluginsDirs: string[];
  output: string;
  format: 'beancount' | 'jsonl';
  jobs?: number;
  deadlineMs: number;
  stageTimeoutMs: number;
  reportDir?: string;
  ledgers: LedgerSource[];
}

export interface LedgerJob {
  /** Position in the batch, as the report lists it. */
  index: number;
  ledger: string;
  profile?: string;
  pluginsDirs: string[];
  output: string;
  deadlineMs: number;
}

/** The settings a batch file says, its relative paths taken from the file's own directory. */
export function settingsFromFile(b: BatchFile, file: string): BatchSettings {
  const baseDir = path.dirname(path.resolve(file));
  return {
    baseDir,
    profile: b.profile,
    profilesDir: b.profilesDir && path.resolve(baseDir, b.profilesDir),
    pluginsDirs: b.pluginsDirs.map((d) => path.resolve(baseDir, d)),
    output: b.outputDir ? outputDirPattern(b.outputDir) : (b.output ?? DEFAULT_OUTPUT_PATTERN),
    format: b.format,
    jobs: b.jobs,
    deadlineMs: durationMs(b.deadline),
    stageTimeoutMs: durationMs(b.stageTimeout),
    reportDir: b.reportDir && path.resolve(baseDir, b.reportDir),
    ledgers: b.ledgers.map((e) =>
      typeof e === 'string'
        ? { pattern: e }
        : {
            pattern: e.path,
            profile: e.profile,
            output: e.output,
            deadlineMs: e.deadline === undefined ? undefined : durationMs(e.deadline),
            pluginsDirs: e.pluginsDirs?.map((d) => path.resolve(baseDir, d)),
          },
    ),
  };
}

/** A ledger's output file from a pattern (pure). */
export function outputPath(pattern: string, ledger: string, baseDir: string): string {
  const dir = path.dirname(ledger);
  const base = path.basename(ledger);
  const vars: Record<string, string> = { dir, base, name: base.replace(/\.beancount$/, ''), parent: path.basename(dir) };
  return path.resolve(baseDir, pattern.replace(/\{(dir|name|base|parent)\}/g, (_, k: string) => vars[k]!));
}

/** How many ledgers run at once by default: one per core, at most one per 2 GiB of memory (a loader may use that much). */
export function defaultJobs(cores = os.availableParallelism(), memoryBytes = os.totalmem()): number {
  return Math.max(1, Math.min(cores, Math.floor(memoryBytes / 2 ** 31)));
}

export async function planJobs(s: BatchSettings): Promise<LedgerJob[]> {
  // every match first: a glob such as */*.beancount also matches the outputs of the
  // batch's own ledgers ({dir}/{name}.out.beancount), which are not ledgers to run
  const matched: Array<{ src: LedgerSource; ledger: string; glob: boolean }> = [];
  for (const src of s.ledgers) {
    const files = await expandGlob(src.pattern, s.baseDir);
    if (files.length === 0) {
      throw new UsageError(`no ledger file matches ${src.pattern}`, { hint: `check the path (relative paths are from ${s.baseDir}); a glob's wildcards never match names that start with a dot` });
    }
    for (const ledger of files) matched.push({ src, ledger, glob: hasMagic(src.pattern) });
  }
  const outputsOfMatched = new Set(matched.map((m) => outputPath(m.src.output ?? s.output, m.ledger, s.baseDir)));
  const jobs: LedgerJob[] = [];
  const seen = new Set<string>();
  const outputs = new Map<string, string>();
  for (const { src, ledger, glob } of matched) {
    if (seen.has(ledger) || (glob && outputsOfMatched.has(ledger))) continue;
    seen.add(ledger);
    const output = outputPath(src.output ?? s.output, ledger, s.baseDir);
    const other = outputs.get(output);
    if (other) throw new UsageError(`${other} and ${ledger} would both write ${output}`, { hint: 'use {parent} or {dir} in the output pattern so each ledger has its own output' });
    outputs.set(output, ledger);
    jobs.push({ index: jobs.length, ledger, profile: src.profile ?? s.profile, pluginsDirs: [...(src.pluginsDirs ?? []), ...s.pluginsDirs], output, deadlineMs: src.deadlineMs ?? s.deadlineMs });
  }
  for (const j of jobs) {
    const writer = outputs.get(j.ledger);
    if (writer !== undefined) throw new UsageError(`${j.ledger} is both a ledger and the output of ${writer}: inputs are never modified`, { hint: 'use an output pattern that does not name a ledger of the batch, e.g. {dir}/{name}.out.beancount' });
  }
  return jobs;
}
