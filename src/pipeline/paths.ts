import path from 'node:path';
import type { Directive } from '../ledger/directive-schema.js';

// The loader sees the ledger's directory at /ledger; people and in-process Beancount see
// host paths. Filenames are mapped back once, on the trusted side, right after loading,
// so plugins, errors and output all speak of the files the admin knows.

export type PathMap = (p: string) => string;

export function mountMapper(mount: string, hostDir: string): PathMap {
  const prefix = mount.endsWith('/') ? mount : `${mount}/`;
  return (p) => (p === mount ? hostDir : p.startsWith(prefix) ? path.join(hostDir, p.slice(prefix.length)) : p);
}

function mapMeta<T>(meta: T, map: PathMap): T {
  if (!meta || typeof meta !== 'object') return meta;
  const m = meta as Record<string, unknown>;
  return typeof m.filename === 'string' ? ({ ...m, filename: map(m.filename) } as T) : meta;
}

export function mapDirectivePaths(d: Directive, map: PathMap): Directive {
  const out: Record<string, unknown> = { ...d, meta: mapMeta(d.meta, map) };
  if (Array.isArray(out.postings)) {
    out.postings = (out.postings as Array<Record<string, unknown>>).map((p) => (p.meta ? { ...p, meta: mapMeta(p.meta, map) } : p));
  }
  if (out.type === 'Document' && typeof out.filename === 'string') out.filename = map(out.filename);
  return out as Directive;
}

export function mapOptionPaths(options: Record<string, unknown>, map: PathMap): Record<string, unknown> {
  const out = { ...options };
  if (typeof out.filename === 'string') out.filename = map(out.filename);
  for (const k of ['include', 'documents']) {
    if (Array.isArray(out[k])) out[k] = (out[k] as unknown[]).map((v) => (typeof v === 'string' ? map(v) : v));
  }
  return out;
}
