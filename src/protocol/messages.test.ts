import { describe, expect, it } from 'vitest';
import { EXAMPLES } from '../../test/fixtures/directive-examples.js';
import { HostMessageSchema, PluginMessageSchema, createMessageSchemas } from './messages.js';

describe('protocol messages', () => {
  it('accepts the host stream', () => {
    const header = { type: 'header', protocol: 1, plugin: { name: 'acme.x', version: '1.2.0' }, config: null, options: { title: 'x' }, count: 2 };
    expect(HostMessageSchema.parse(header)).toEqual(header);
    expect(HostMessageSchema.safeParse({ ...header, protocol: 2 }).success).toBe(false);
    expect(HostMessageSchema.safeParse({ ...header, plugin: { name: '' , version: null } }).success).toBe(false);
    for (const [i, d] of EXAMPLES.entries()) expect(HostMessageSchema.safeParse({ type: 'directive', index: i, directive: d }).success).toBe(true);
    expect(HostMessageSchema.safeParse({ type: 'end' }).success).toBe(true);
    expect(HostMessageSchema.safeParse({ type: 'end', extra: true }).success).toBe(false);
  });

  it('accepts every plugin answer and refuses malformed ones', () => {
    const good = [
      { type: 'keep', from: 0, to: 5 },
      { type: 'modify', index: 3, directive: EXAMPLES[0] },
      { type: 'insert', directive: EXAMPLES[9] },
      { type: 'delete', index: 4 },
      { type: 'error', message: 'bad', source: { filename: 'main.beancount', lineno: 3 }, index: 2 },
      { type: 'error', message: 'bad', source: null, index: null },
      { type: 'done', counts: { kept: 5, modified: 1, inserted: 1, deleted: 1, errors: 2 } },
    ];
    for (const m of good) expect(PluginMessageSchema.parse(m)).toEqual(m);
    const bad = [
      { type: 'keep', from: 2, to: 2 },
      { type: 'keep', from: -1, to: 2 },
      { type: 'keep', from: 0.5, to: 2 },
      { type: 'modify', index: 3 },
      { type: 'insert', directive: { ...EXAMPLES[0], account: 'Nope' } },
      { type: 'delete', index: '4' },
      { type: 'error', message: 'bad' },
      { type: 'done', counts: { kept: 5 } },
      { type: 'done', counts: { kept: 0, modified: 0, inserted: 0, deleted: 0, errors: 0 }, extra: 1 },
      { type: 'header' },
      { type: 'log', message: 'x' },
    ];
    for (const m of bad) expect(PluginMessageSchema.safeParse(m).success, JSON.stringify(m)).toBe(false);
  });

  it('uses the ledger account roots when given', () => {
    const s = createMessageSchemas({ accountRoots: ['Actif', 'Passif', 'Capitaux', 'Revenus', 'Depenses'] });
    const open = { type: 'Open', date: '2024-01-01', meta: {}, account: 'Actif:Banque', currencies: null, booking: null };
    expect(s.Insert.safeParse({ type: 'insert', directive: open }).success).toBe(true);
    expect(PluginMessageSchema.safeParse({ type: 'insert', directive: open }).success).toBe(false);
  });
});
