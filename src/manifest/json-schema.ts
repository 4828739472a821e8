// The manifest's JSON Schema, generated from the zod schema so the two never disagree.
// Editors use schemas/plugin.schema.json to complete and check plugin.yaml.
import { z } from 'zod';
import { manifestSchema } from './schema.js';

export const MANIFEST_SCHEMA_FILE = 'schemas/plugin.schema.json';
export const MANIFEST_SCHEMA_ID = 'https://sandboxctl.dev/schemas/plugin.schema.json';

/** The JSON text committed at schemas/plugin.schema.json (describes what a user writes: defaults optional). */
export function manifestJsonSchemaText(): string {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' });
  // the runtime/entrypoint/image rule lives in a zod refinement; spell it out for editors
  const rule = {
    if: { properties: { runtime: { const: 'image' } }, required: ['runtime'] },
    then: { required: ['image'], not: { anyOf: [{ required: ['entrypoint'] }, { required: ['module'] }] } },
    else: { oneOf: [{ required: ['entrypoint'] }, { required: ['module'] }], not: { required: ['image'] } },
  };
  return JSON.stringify({ ...schema, ...rule, $id: MANIFEST_SCHEMA_ID, title: 'sandboxctl plugin manifest' }, null, 2) + '\n';
}
