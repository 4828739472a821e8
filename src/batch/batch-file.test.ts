import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.js';
import { batchJsonSchemaText, parseBatchFile } from './batch-file.js';

function problems(text: string): string[] {
  try {
    parseBatchFile(text, 'nightly.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return (err as InvalidInputError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the batch file to be refused');
}

describe('the batch file', () => {
  it('fills in the defaults a user leaves out', () => {
    const b = parseBatchFile('ledgers:\n  - books/*/main.beancount\n', 'nightly.yaml');
    expect(b).toMatchObject({ apiVersion: 'sandboxctl/v1', format: 'beancount', deadline: '30m', stageTimeout: '300s', pluginsDirs: [] });
    expect(b.profile).toBeUndefined();
    expect(b.jobs).toBeUndefined();
  });

  it('takes per-ledger settings', () => {
    const b = parseBatchFile(
      ['profile: standard', 'outputDir: /srv/out', 'jobs: 3', 'ledgers:', '  - path: /srv/a.beancount', '    profile: strict', '    deadline: 5m', '  - /srv/b.beancount'].join('\n'),
      'f.yaml',
    );
    expect(b.ledgers).toEqual([{ path: '/srv/a.beancount', profile: 'strict', deadline: '5m' }, '/srv/b.beancount']);
    expect(b.jobs).toBe(3);
  });

  it('names each bad field, its line, what was expected and what was found', () => {
    const issues = problems(['jobs: 0', 'deadline: soon', 'ledgers:', '  - path: a.beancount', '    colour: blue', 'output: "{dir}/{stem}.out"'].join('\n'));
    expect(issues).toEqual([
      expect.stringMatching(/^jobs: line 1: expected >= 1, found 0/),
      expect.stringMatching(/^deadline: line 2: expected a duration such as/),
      expect.stringMatching(/^ledgers\.0\.colour: line 5: unknown key "colour"/),
      expect.stringMatching(/^output: line 6: expected a path pattern whose placeholders are \{dir\}/),
    ]);
  });

  it('refuses a file without ledgers, and output with outputDir', () => {
    expect(problems('profile: strict\n')).toEqual([expect.stringMatching(/^ledgers: .*expected array, found nothing/)]);
    expect(problems('ledgers: []\n')).toEqual([expect.stringMatching(/^ledgers: line 1: expected at least 1 items/)]);
    expect(problems('output: a/{name}\noutputDir: b\nledgers: [x]\n')).toEqual([expect.stringMatching(/^outputDir: .*output or outputDir, not both/)]);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problems('ledgers:\n  - a\n  b: [\n')[0]).toMatch(/line 3/);
  });
});

describe('schemas/batch.schema.json', () => {
  // Fails when the committed file is stale; `npx vitest run --project unit -u src/batch/batch-file.test.ts` rewrites it.
  it('is exactly what the zod schema generates', async () => {
    await expect(batchJsonSchemaText()).toMatchFileSnapshot('../../schemas/batch.schema.json');
  });

  it('tells editors about closed objects, defaults and required fields', () => {
    const s = JSON.parse(batchJsonSchemaText());
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(['ledgers']);
    expect(s.properties.deadline.default).toBe('30m');
    expect(s.properties.ledgers.items.anyOf[1].additionalProperties).toBe(false);
    expect(s.not).toEqual({ required: ['output', 'outputDir'] });
  });
});
