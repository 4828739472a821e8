// Human quantities in manifests, profiles and ledger options: sizes ('128Mi', '64MB')
// and durations ('30s', '2m'). Pure. Binary suffixes (Ki, Mi, Gi) are powers of 1024,
// decimal ones (K/KB, M/MB, G/GB) powers of 1000, as Kubernetes reads them.

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  K: 1e3,
  KB: 1e3,
  M: 1e6,
  MB: 1e6,
  G: 1e9,
  GB: 1e9,
  Ki: 1024,
  KiB: 1024,
  Mi: 1024 ** 2,
  MiB: 1024 ** 2,
  Gi: 1024 ** 3,
  GiB: 1024 ** 3,
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*(B|K|KB|M|MB|G|GB|Ki|KiB|Mi|MiB|Gi|GiB)?$/;
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;

/** What a size looks like, for error messages and the JSON Schema. */
export const SIZE_EXPECTED = "a size such as '128Mi', '64MB', '1Gi' or a number of bytes";
export const DURATION_EXPECTED = "a duration such as '500ms', '30s', '2m' or '1h'";

export type Parsed = { ok: true; value: number } | { ok: false; error: string };

/** Parses a size to whole bytes. */
export function parseSize(input: string | number): Parsed {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? { ok: true, value: input } : { ok: false, error: `expected ${SIZE_EXPECTED}, found ${input}` };
  }
  const m = SIZE_PATTERN.exec(input.trim());
  if (!m) return { ok: false, error: `expected ${SIZE_EXPECTED}, found ${JSON.stringify(input)}` };
  const value = Math.floor(Number(m[1]) * SIZE_UNITS[m[2] ?? '']!);
  if (!Number.isSafeInteger(value)) return { ok: false, error: `size ${JSON.stringify(input)} is too large` };
  return { ok: true, value };
}

/** Parses a duration to whole milliseconds. A bare number needs a unit unless `bareUnit` says which. */
export function parseDuration(input: string | number, bareUnit?: 's' | 'ms'): Parsed {
  let text = typeof input === 'number' ? String(input) : input.trim();
  if (bareUnit && /^\d+(?:\.\d+)?$/.test(text)) text += bareUnit;
  const m = DURATION_PATTERN.exec(text);
  if (!m) return { ok: false, error: `expected ${DURATION_EXPECTED}, found ${JSON.stringify(input)}` };
  const value = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
  if (!Number.isSafeInteger(value)) return { ok: false, error: `duration ${JSON.stringify(input)} is too large` };
  return { ok: true, value };
}

/** Parses a size that is already known to be valid (schema-checked); throws otherwise. */
export function sizeBytes(input: string | number): number {
  const p = parseSize(input);
  if (!p.ok) throw new TypeError(p.error);
  return p.value;
}

export function durationMs(input: string | number): number {
  const p = parseDuration(input);
  if (!p.ok) throw new TypeError(p.error);
  return p.value;
}

/** Renders bytes the way a reviewer reads them ('64Mi', '64MB', '1000B'). */
export function formatSize(bytes: number): string {
  const units: Array<[string, number]> = [['Gi', 1024 ** 3], ['GB', 1e9], ['Mi', 1024 ** 2], ['MB', 1e6], ['Ki', 1024], ['KB', 1e3]];
  for (const [unit, n] of units) if (bytes > 0 && bytes % n === 0) return `${bytes / n}${unit}`;
  return `${bytes}B`;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
