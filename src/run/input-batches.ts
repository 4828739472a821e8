// A plugin's input lines joined into buffers of about STDIN_BATCH_BYTES: one write per batch.
const STDIN_BATCH_BYTES = 64 * 1024;

export function batchLines(lines: Iterable<string>): Buffer[] {
  const chunks: Buffer[] = [];
  let batch = '';
  for (const line of lines) {
    batch += line;
    if (batch.length >= STDIN_BATCH_BYTES) {
      chunks.push(Buffer.from(batch));
      batch = '';
    }
  }
  if (batch) chunks.push(Buffer.from(batch));
  return chunks;
}
