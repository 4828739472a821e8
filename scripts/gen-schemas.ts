// Writes schemas/protocol/*.json from the zod message schemas. Run: npx vite-node scripts/gen-schemas.ts
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_DIR, protocolJsonSchemas } from '../src/protocol/json-schemas.js';

const root = join(import.meta.dirname, '..');
const dir = join(root, SCHEMA_DIR);
mkdirSync(dir, { recursive: true });
const files = protocolJsonSchemas();
for (const old of readdirSync(dir)) if (old.endsWith('.json') && !(old in files)) rmSync(join(dir, old));
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
process.stderr.write(`wrote ${Object.keys(files).length} schemas to ${SCHEMA_DIR}\n`);
