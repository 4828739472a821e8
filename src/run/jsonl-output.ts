// Output sink: directives as JSON lines, to a file (written whole or not at all: a temp
// file renamed into place once complete) or to a stream (stdout), with backpressure.
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Directive } from '../ledger/directive-schema.js';
import { JsonLinesWriter, type WritableLike } from '../protocol/framing.js';

async function writeAll(out: WritableLike, directives: readonly Directive[], signal?: AbortSignal): Promise<number> {
  const w = new JsonLinesWriter(out, signal);
  let batch = '';
  for (const d of directives) {
    batch += JSON.stringify(d) + '\n';
    if (batch.length >= 64 * 1024) {
      await w.writeRaw(batch);
      batch = '';
    }
  }
  if (batch) await w.writeRaw(batch);
  return w.bytesWritten;
}

/** A complete file written beside its destination, not yet in place. */
export interface StagedFile {
  bytes: number;
  /** Renames it into place. */
  commit(): Promise<void>;
  /** Removes it, when it is not to be placed after all. */
  discard(): Promise<void>;
}

/** Writes the directives to a temp file beside `file`, to be renamed into place (or discarded) later. */
export async function stageDirectivesFile(file: string, directives: readonly Directive[], signal?: AbortSignal): Promise<StagedFile> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const stream = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  const discard = () => rm(tmp, { force: true });
  try {
    const bytes = await writeAll(stream, directives, signal);
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(() => resolve());
    });
    return { bytes, commit: () => rename(tmp, file).catch(async (err: unknown) => { await discard(); throw err; }), discard };
  } catch (err) {
    stream.destroy();
    await discard();
    throw err;
  }
}

/** Writes the file atomically: readers see the old file or the complete new one, never a part. */
export async function writeDirectivesFile(file: string, directives: readonly Directive[], signal?: AbortSignal): Promise<number> {
  const staged = await stageDirectivesFile(file, directives, signal);
  await staged.commit();
  return staged.bytes;
}

/** Writes to an open stream (stdout); it stays open. */
export function writeDirectivesStream(out: NodeJS.WritableStream, directives: readonly Directive[], signal?: AbortSignal): Promise<number> {
  return writeAll(out as unknown as WritableLike, directives, signal);
}
