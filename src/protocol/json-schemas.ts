// JSON Schemas for every protocol message, generated from the zod schemas so the two cannot drift.
// Pure: returns file name -> file text; scripts/gen-schemas.ts writes them, a unit test checks they are current.
import { z } from 'zod';
import { LOADED_ENCODING_SCHEMAS } from './loaded-message.js';
import { MESSAGE_SCHEMAS, PROTOCOL_VERSION } from './messages.js';

export const SCHEMA_DIR = 'schemas/protocol';

export function protocolJsonSchemas(): Record<string, string> {
  const out: Record<string, string> = {};
  // the loaded-pickle input encoding's own messages too (docs/protocol.md, Input encodings)
  for (const [name, schema] of Object.entries({ ...MESSAGE_SCHEMAS, ...LOADED_ENCODING_SCHEMAS })) {
    // refinements (calendar dates, sorted tags, keep ranges) cannot be expressed: the patterns still are
    const json = z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<string, unknown>;
    const doc = {
      $id: `urn:sandboxctl:protocol:v${PROTOCOL_VERSION}:${name}`,
      title: `sandboxctl protocol v${PROTOCOL_VERSION}: ${name} message`,
      ...json,
    };
    out[`${name}.json`] = JSON.stringify(doc, null, 2) + '\n';
  }
  return out;
}
