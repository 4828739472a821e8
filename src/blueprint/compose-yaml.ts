// A compose file as YAML text, led by comment lines saying where it came from. Pure.
import { stringify } from 'yaml';
import type { ComposeFile } from './compose-service.js';

export function renderComposeYaml(file: ComposeFile, header: readonly string[]): string {
  const comments = header.map((l) => `# ${l}`.trimEnd()).join('\n');
  // lineWidth 0: a long seccomp path or label is never folded onto a second line
  // YAML 1.1 rules, as docker-compose's PyYAML reads them: a value like 1:30 (base 60 there) is quoted
  const body = stringify(file, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });
  return `${comments}${comments ? '\n' : ''}${body}`;
}
