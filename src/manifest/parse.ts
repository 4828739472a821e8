// plugin.yaml text -> a validated Manifest, or an InvalidInputError naming the file, each
// field, its line, what was expected and what was found. Pure (the fs read is in load.ts).
import { InvalidInputError } from '../errors.js';
import { manifestSchema, type Manifest } from './schema.js';
import { parseYaml, zodToFieldIssues } from './yaml-issues.js';

export const MANIFEST_FILE = 'plugin.yaml';
const HINT = 'schemas/plugin.schema.json lists every field, what it accepts and its default';

export function parseManifest(text: string, file: string): Manifest {
  const y = parseYaml(text);
  if (!y.ok) throw new InvalidInputError(file, y.issues, { hint: 'fix the YAML syntax at the line shown' });
  const r = manifestSchema.safeParse(y.parsed.value ?? {}, { reportInput: true });
  if (!r.success) throw new InvalidInputError(file, zodToFieldIssues(r.error.issues, y.parsed), { hint: HINT, cause: r.error });
  return r.data;
}
