// Keeps the head and the tail of a stream that may be huge (a plugin's stderr), and
// counts the rest: memory stays bounded whatever the plugin writes.

export interface CapturedText {
  /** What was kept: the head, a marker of what was dropped, the tail. */
  text: string;
  totalBytes: number;
  truncated: boolean;
}

export class HeadTailCapture {
  private readonly head: Buffer;
  private headLen = 0;
  private readonly tail: Buffer;
  private tailStart = 0;
  private tailLen = 0;
  total = 0;

  constructor(maxBytes: number) {
    const half = Math.max(1, Math.floor(maxBytes / 2));
    this.head = Buffer.alloc(half);
    this.tail = Buffer.alloc(Math.max(1, maxBytes - half));
  }

  push(chunk: Buffer): void {
    this.total += chunk.length;
    let c = chunk;
    if (this.headLen < this.head.length) {
      const n = Math.min(c.length, this.head.length - this.headLen);
      c.copy(this.head, this.headLen, 0, n);
      this.headLen += n;
      c = c.subarray(n);
    }
    if (c.length === 0) return;
    // ring buffer of the last bytes
    const cap = this.tail.length;
    if (c.length >= cap) c = c.subarray(c.length - cap);
    for (let off = 0; off < c.length; ) {
      const pos = (this.tailStart + this.tailLen) % cap;
      const n = Math.min(c.length - off, cap - pos);
      c.copy(this.tail, pos, off, off + n);
      off += n;
      const overflow = this.tailLen + n - cap;
      if (overflow > 0) {
        this.tailStart = (this.tailStart + overflow) % cap;
        this.tailLen = cap;
      } else this.tailLen += n;
    }
  }

  private tailBytes(): Buffer {
    const cap = this.tail.length;
    if (this.tailStart + this.tailLen <= cap) return this.tail.subarray(this.tailStart, this.tailStart + this.tailLen);
    return Buffer.concat([this.tail.subarray(this.tailStart), this.tail.subarray(0, (this.tailStart + this.tailLen) % cap)]);
  }

  result(): CapturedText {
    const head = this.head.subarray(0, this.headLen).toString('utf8');
    const tail = this.tailBytes().toString('utf8');
    const dropped = this.total - this.headLen - this.tailLen;
    const text = dropped > 0 ? `${head}\n[... ${dropped} bytes not kept ...]\n${tail}` : head + tail;
    return { text, totalBytes: this.total, truncated: dropped > 0 };
  }

  /** The last lines of what was kept, at most maxChars, for error messages. */
  lastLines(maxLines = 20, maxChars = 2000): string {
    const t = this.result().text.replace(/\s+$/, '');
    const lines = t.split('\n').slice(-maxLines).join('\n');
    return lines.length > maxChars ? lines.slice(lines.length - maxChars) : lines;
  }
}
