// Admin profile text -> a validated Profile, or an InvalidInputError naming the file and
// each field. Pure (load-profile.ts does the reading).
import { InvalidInputError } from '../errors.js';
import { parseYaml, zodToFieldIssues } from '../manifest/yaml-issues.js';
import { profileSchema, type Profile } from './profile-schema.js';

export function parseProfile(text: string, file: string): Profile {
  const y = parseYaml(text);
  if (!y.ok) throw new InvalidInputError(file, y.issues, { hint: 'fix the YAML syntax at the line shown' });
  const r = profileSchema.safeParse(y.parsed.value ?? {}, { reportInput: true });
  if (!r.success) {
    throw new InvalidInputError(file, zodToFieldIssues(r.error.issues, y.parsed), {
      cause: r.error,
      hint: 'compare with the shipped profiles/strict.yaml; a profile that fails to load is never replaced by a default',
    });
  }
  return r.data;
}
