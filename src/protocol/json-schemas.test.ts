import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR, protocolJsonSchemas } from './json-schemas.js';

const dir = join(import.meta.dirname, '..', '..', SCHEMA_DIR);

describe('committed JSON Schemas', () => {
  it('match the zod schemas (run `npx vite-node scripts/gen-schemas.ts` when this fails)', () => {
    const want = protocolJsonSchemas();
    const have = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(have).toEqual(Object.keys(want).sort());
    for (const [name, text] of Object.entries(want)) expect(readFileSync(join(dir, name), 'utf8'), name).toBe(text);
  });

  it('are strict: unknown fields are not allowed', () => {
    const keep = JSON.parse(protocolJsonSchemas()['keep.json']!);
    expect(keep.additionalProperties).toBe(false);
    expect(keep.required).toEqual(['type', 'from', 'to']);
  });
});
