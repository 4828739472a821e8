// plugin.yaml text -> a validated Manifest, or an InvalidInputError naming the file, each
// field, its line, what was expected and what was found. Pure (the fs read is in load.ts).
import { manifestSchema, type Manifest } from './schema.js';
import { parseYamlWith } from './yaml-issues.js';

export const MANIFEST_FILE = 'plugin.yaml';
const HINT = 'schemas/plugin.schema.json lists every field, what it accepts and its default';

export function parseManifest(text: string, file: string): Manifest {
  return parseYamlWith(manifestSchema, text, file, HINT);
}
