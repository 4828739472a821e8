// The python runner tells kept inputs from inputs a plugin edited in place without re-encoding
// the untouched ones (sbx_runner/snapshot.py). These tests run a plugin that edits its inputs in
// place in every way the decoder's mutable parts allow, and one that edits and then undoes,
// and check the host gets a modify with the edited directive for each edit and keeps the rest.
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import type { Directive } from '../../src/ledger/directive-schema.js';
import { sortEntries } from '../../src/ledger/sort.js';
import { PluginMessageSchema, type PluginMessage } from '../../src/protocol/messages.js';
import { ROOT } from './helpers/cli.js';
import { jsonLines, runStage } from './helpers/runner-container.js';

const FIX = path.join(ROOT, 'test', 'fixtures');
const LEDGERS = `${path.join(FIX, 'ledgers')}:/ledger:ro`;
const PLUGIN = `${path.join(FIX, 'plugins', 'in-place')}:/plugin:ro`;

type Meta = Record<string, unknown>;
interface Posting {
  meta: Meta | null;
  flag: string | null;
  units: unknown;
}
interface Dir {
  type: string;
  meta: Meta;
  [field: string]: unknown;
}

const posts = (d: Dir) => d.postings as Posting[];
const pmeta = (d: Dir, i: number) => posts(d)[i]!.meta!;
const tolerances = (d: Dir) => (d.meta.__tolerances__ as { '@tolerances': Record<string, string> })['@tolerances'];
const list = (d: Dir, field: string) => d[field] as unknown[];

/** What each edit of the fixture plugin (in_place.py, same order) does to the protocol JSON;
 * edit j is for copy 4j + 1 of the ledger's directives. */
const EDITS: Array<[type: string, pick: string | null, edit: (d: Dir) => void]> = [
  ['Note', null, (d) => void (d.meta.added = 'yes')],
  ['Note', null, (d) => void (d.meta.by = 'mail')],
  ['Note', null, (d) => void delete d.meta.by],
  // 1010 -> Decimal(1010) and Decimal('2') -> Decimal('2.0') are == in Python but encode differently
  ['Commodity', 'USD', (d) => void (d.meta.lineno = { '@decimal': String(d.meta.lineno) })],
  ['Commodity', 'USD', (d) => void (d.meta.precision = { '@decimal': '2.0' })],
  ['Transaction', 'Groceries \\ weekly', (d) => void (d.meta['amount-meta'] = { '@amount': { number: '12.500', currency: 'USD' } })],
  ['Transaction', 'Groceries \\ weekly', (d) => void (tolerances(d).USD = '0.0050')],
  ['Transaction', 'Groceries \\ weekly', (d) => void delete tolerances(d).CHF],
  ['Transaction', 'Groceries \\ weekly', (d) => void (tolerances(d)['*'] = '0.1')],
  ['Transaction', 'Groceries \\ weekly', (d) => void (pmeta(d, 0).weight = { '@decimal': '0.50' })],
  ['Transaction', 'Groceries \\ weekly', (d) => {
    posts(d)[1]!.meta = { weight: pmeta(d, 0).weight, ...pmeta(d, 1) };
    delete pmeta(d, 0).weight;
  }],
  ['Transaction', 'Only narration', (d) => void posts(d).push(structuredClone(posts(d)[0]!))],
  ['Transaction', 'Only narration', (d) => void posts(d).pop()],
  ['Transaction', 'Only narration', (d) => void (posts(d)[0]!.flag = '!')],
  ['Transaction', 'Buy more at price', (d) => void (posts(d)[1]!.units = { number: '-2600.000', currency: 'USD' })],
  ['Transaction', 'Buy', (d) => void (pmeta(d, 0).lot = 'a')],
  ['Transaction', 'Sell', (d) => void delete pmeta(d, 0).lineno],
  ['Open', 'Assets:Bank:Checking', (d) => void list(d, 'currencies').push('EUR')],
  ['Open', 'Assets:Bank:Checking', (d) => void (d.currencies = list(d, 'currencies').filter((c) => c !== 'CHF'))],
  ['Open', 'Income:Gains', (d) => void (list(d, 'currencies')[0] = 'CHF')],
  ['Custom', null, (d) => void list(d, 'values').push({ value: 'extra', dtype: 'str' })],
  ['Custom', null, (d) => void (list(d, 'values')[2] = { value: { '@decimal': '2.0' }, dtype: 'decimal' })],
  ['Custom', null, (d) => void list(d, 'values').pop()],
];
/** Copies of the ledger's directives, so that the edited ones sit far apart. */
const COPIES = 4 * EDITS.length + 2;

function pick(d: Dir): string | null {
  const field = ({ Commodity: 'currency', Transaction: 'narration', Open: 'account' } as Record<string, string>)[d.type];
  return field ? (d[field] as string) : null;
}

let engine: Engine;
let image: string;
let options: unknown;
/** The ledger's directives, copy k with k * 1000 added to every lineno and k years to every date. */
let inputs: Dir[];
const runId = newRunId();

function stream(config: string): string {
  const header = { type: 'header', protocol: 1, plugin: { name: 'in_place', version: null }, config, options, count: inputs.length };
  const lines = [header, ...inputs.map((directive, index) => ({ type: 'directive', index, directive })), { type: 'end' }];
  return lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
}

async function runPlugin(config: string): Promise<PluginMessage[]> {
  const res = await runStage(engine, {
    image,
    runId,
    cmd: ['plugin', '--entrypoint', 'in_place.py', '--name', 'in_place'],
    binds: [PLUGIN],
    input: stream(config),
  });
  expect(res.exitCode, res.stderr).toBe(0);
  const msgs = jsonLines(res.stdout).map((m) => PluginMessageSchema.parse(m));
  expect(msgs.at(-1)?.type).toBe('done');
  return msgs;
}

/** Input indices kept, from keep ranges. */
function kept(msgs: PluginMessage[]): number[] {
  return msgs.flatMap((m) => (m.type === 'keep' ? Array.from({ length: m.to - m.from }, (_, i) => m.from + i) : []));
}

beforeAll(async () => {
  engine = createDockerEngine();
  image = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
  const res = await runStage(engine, { image, runId, cmd: ['load', '--ledger', '/ledger/all-directives.beancount'], binds: [LEDGERS] });
  expect(res.exitCode, res.stderr).toBe(0);
  const loaded = jsonLines(res.stdout);
  options = loaded.find((l) => l.type === 'options')!.options;
  const dirs = loaded.filter((l) => l.type === 'directive').map((l) => l.directive as Dir);
  inputs = [];
  for (let k = 0; k < COPIES; k++) {
    for (const d of dirs) {
      const copy = structuredClone(d);
      copy.date = `${Number((copy.date as string).slice(0, 4)) + k}${(copy.date as string).slice(4)}`;
      copy.meta.lineno = (copy.meta.lineno as number) + 1000 * k;
      for (const p of (copy.postings as Posting[] | undefined) ?? []) {
        if (p.meta && typeof p.meta.lineno === 'number') p.meta.lineno += 1000 * k;
      }
      inputs.push(copy);
    }
  }
  // in Beancount's order, which the runner sorts the plugin's output into
  inputs = sortEntries(inputs as unknown as Directive[]) as unknown as Dir[];
});

describe('python runner: effects of in-place edits', () => {
  it('reports each in-place edit as a modify carrying the edited directive, and keeps the rest', async () => {
    const expected = new Map<number, Dir>();
    for (const [j, [type, which, edit]] of EDITS.entries()) {
      const copy = 4 * j + 1;
      const index = inputs.findIndex((d) => d.type === type && pick(d) === which && Math.floor((d.meta.lineno as number) / 1000) === copy);
      expect(index, `${type} ${which} copy ${copy}`).toBeGreaterThanOrEqual(0);
      const d = structuredClone(inputs[index]!);
      edit(d);
      expected.set(index, d);
    }
    // far apart: the runner checks inputs in blocks (of 32), and must find each edit on its own
    const at = [...expected.keys()].sort((a, b) => a - b);
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThan(64);

    const msgs = await runPlugin('mutate');
    const modified = new Map(msgs.flatMap((m) => (m.type === 'modify' ? [[m.index, m.directive] as const] : [])));
    expect([...modified.keys()].sort((a, b) => a - b)).toEqual(at);
    for (const [index, d] of expected) expect(modified.get(index), `input ${index}`).toEqual(d);
    expect(msgs.filter((m) => m.type === 'insert' || m.type === 'delete')).toEqual([]);
    const keep = kept(msgs);
    expect(keep.length + modified.size).toBe(inputs.length);
    expect(new Set([...keep, ...modified.keys()]).size).toBe(inputs.length);
    expect(msgs.at(-1)).toEqual({ type: 'done', counts: { kept: inputs.length - EDITS.length, modified: EDITS.length, inserted: 0, deleted: 0, errors: 0 } });
  });

  it('keeps every input when the plugin undoes its in-place edits before returning', async () => {
    const msgs = await runPlugin('untouched');
    expect(msgs).toEqual([
      { type: 'keep', from: 0, to: inputs.length },
      { type: 'done', counts: { kept: inputs.length, modified: 0, inserted: 0, deleted: 0, errors: 0 } },
    ]);
  });
});
