import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.js';
import { SAMPLE_DIRECTIVES } from '../../test/fixtures/run/sample-directives.js';
import { parseDirectiveLines } from './jsonl-input.js';

async function* text(s: string): AsyncGenerator<string> {
  yield s;
}

async function problems(s: string, maxLine?: number): Promise<InvalidInputError> {
  const err = await parseDirectiveLines(text(s), 'in.jsonl', maxLine).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(InvalidInputError);
  return err as InvalidInputError;
}

describe('parseDirectiveLines', () => {
  it('reads every directive type, with or without a final newline', async () => {
    const body = SAMPLE_DIRECTIVES.map((d) => JSON.stringify(d)).join('\n');
    expect(await parseDirectiveLines(text(body + '\n'), 'in.jsonl')).toEqual(SAMPLE_DIRECTIVES);
    expect(await parseDirectiveLines(text(body), 'in.jsonl')).toEqual(SAMPLE_DIRECTIVES);
  });

  it('reports every bad line with its number, and skips none', async () => {
    const good = JSON.stringify(SAMPLE_DIRECTIVES[0]);
    const badDate = JSON.stringify({ ...SAMPLE_DIRECTIVES[0], date: '2024-13-01' });
    const proto = good.replace('"meta":{', '"meta":{"__proto__":{"x":1},');
    const err = await problems([good, '{not json', badDate, good, proto, '[1]'].join('\n') + '\n');
    expect(err.issues.map((i) => i.path)).toEqual(['line 2', 'line 3', 'line 5', 'line 6']);
    expect(err.issues[0]!.message).toMatch(/not valid JSON/);
    expect(err.issues[1]!.message).toMatch(/date/);
    expect(err.issues[2]!.message).toMatch(/__proto__/);
    expect(err.message).toMatch(/in\.jsonl: 4 problems/);
    expect(err.exitCode).toBe(2);
  });

  it('reports an empty line', async () => {
    const good = JSON.stringify(SAMPLE_DIRECTIVES[0]);
    expect((await problems(`${good}\n\n${good}\n`)).issues[0]).toMatchObject({ path: 'line 2', message: expect.stringMatching(/empty line/) });
  });

  it('stops at a line over the size limit, naming it', async () => {
    const good = JSON.stringify(SAMPLE_DIRECTIVES[0]);
    const err = await problems(`${good}\n${'x'.repeat(5000)}\n`, 1000);
    expect(err.issues).toEqual([{ path: 'line 2', message: expect.stringMatching(/longer than 1000 bytes/) }]);
  });
});
