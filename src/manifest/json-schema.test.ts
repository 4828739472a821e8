import { describe, expect, it } from 'vitest';
import { manifestJsonSchemaText } from './json-schema.js';

describe('schemas/plugin.schema.json', () => {
  // Fails when the committed file is stale; `npx vitest run --project unit -u src/manifest/json-schema.test.ts` rewrites it.
  it('is exactly what the zod schema generates', async () => {
    await expect(manifestJsonSchemaText()).toMatchFileSnapshot('../../schemas/plugin.schema.json');
  });

  it('tells editors about defaults, closed objects and the runtime rule', () => {
    const s = JSON.parse(manifestJsonSchemaText());
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(expect.arrayContaining(['apiVersion', 'name', 'version', 'runtime']));
    expect(s.properties.capabilities.additionalProperties).toBe(false);
    expect(s.properties.capabilities.properties.network.default).toBe('none');
    expect(s.properties.resources.properties.memory.default).toBe('128Mi');
    expect(s.then.required).toEqual(['image']);
    expect(s.else.oneOf).toEqual([{ required: ['entrypoint'] }, { required: ['module'] }]);
  });
});
