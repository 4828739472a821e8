// The "loaded" input encoding (docs/protocol.md, "Input encodings"): the loader's pickle of its
// directives, forwarded unread by the host, and references into it. A Python plugin must
// answer exactly as it does to the same input in JSON, whether it keeps, edits in place,
// replaces, deletes or inserts; a pickle of another format and a repeated reference are
// refused before anything is unpickled or run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { Engine } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { Labels } from '../../src/labels.js';
import { DirectiveSchema, type Directive } from '../../src/ledger/directive-schema.js';
import { referenceLines } from '../../src/protocol/loaded-message.js';
import { readsLoaderPickle } from '../../src/run/loaded-input.js';
import { RUNNER_ID_LABEL } from '../../src/run/plugin-image.js';
import { runPlugin } from '../../src/run/run-plugin.js';
import { ROOT } from './helpers/cli.js';
import { cleanupFixtureImages, fixture, limitsFor, quietLogger, specFor } from './helpers/plugin-fixtures.js';
import { FIXTURE_BINDS, jsonLines, runStage } from './helpers/runner-container.js';

const { ledgers: LEDGERS, checks: CHECKS, bundle } = FIXTURE_BINDS;

let engine: Engine;
let image: string;
const runId = newRunId();
let plainLines: string[];
let pickleLines: string[];
let loadedLine: string;
let options: unknown;
let directives: Directive[];

const PLUGINS: Array<{ what: string; cmd: string[]; binds: string[] }> = [
  { what: 'a builtin that inserts (implicit_prices)', cmd: ['plugin', '--module', 'beancount.plugins.implicit_prices'], binds: [] },
  { what: 'a bundle that edits in place, replaces, deletes and inserts (mutating)', cmd: ['plugin', '--entrypoint', 'mutating_pkg', '--name', 'mutating'], binds: [bundle('mutating')] },
  { what: 'a bundle that returns its input (identity)', cmd: ['plugin', '--entrypoint', 'identity.py', '--name', 'identity'], binds: [bundle('identity')] },
];

function header(count: number): string {
  return JSON.stringify({ type: 'header', protocol: 1, plugin: { name: 'p', version: null }, config: null, options, count });
}

/** JSON directives, as the host sends them without the encoding. */
function jsonInput(input: readonly Directive[]): string {
  return [header(input.length), ...input.map((directive, index) => JSON.stringify({ type: 'directive', index, directive })), '{"type":"end"}'].join('\n') + '\n';
}

/** The loader's line, then references into it and, in full, whatever is not the loader's own. */
function loadedInput(input: readonly Directive[], line = loadedLine): string {
  const index = new Map(directives.map((d, i) => [d, i]));
  return `${header(input.length)}\n${line}\n${[...referenceLines(input, index)].join('')}{"type":"end"}\n`;
}

async function plugin(p: (typeof PLUGINS)[number], input: string) {
  return runStage(engine, { image, runId, cmd: p.cmd, binds: p.binds, input });
}

beforeAll(async () => {
  engine = createDockerEngine();
  image = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
  const load = async (extra: string[]) => {
    const res = await runStage(engine, { image, runId, cmd: ['load', '--ledger', '/ledger/all-directives.beancount', ...extra], binds: [LEDGERS] });
    expect(res.exitCode, res.stderr).toBe(0);
    return res.stdout.split('\n').filter(Boolean);
  };
  plainLines = await load([]);
  pickleLines = await load(['--loaded-pickle']);
  loadedLine = pickleLines.find((l) => l.startsWith('{"type":"loaded"'))!;
  const msgs = jsonLines(plainLines.join('\n'));
  options = msgs.find((m) => m.type === 'options')!.options;
  directives = msgs.filter((m) => m.type === 'directive').map((m) => DirectiveSchema.parse(m.directive));
});

afterAll(async () => {
  await cleanupFixtureImages(engine);
  const left = await engine.listContainers({ [Labels.run]: runId });
  expect(left).toEqual([]);
});

describe('the loader with --loaded-pickle', () => {
  it('sends the same lines as without it, plus one "loaded" line just before done', () => {
    expect(pickleLines.filter((l) => l !== loadedLine)).toEqual(plainLines);
    expect(pickleLines.at(-2)).toBe(loadedLine);
    const msg = JSON.parse(loadedLine) as { format: Record<string, unknown>; count: number; data: string };
    expect(msg.count).toBe(directives.length);
    expect(msg.format).toMatchObject({ encoding: 'pickle', pickle: 5, codec: 1 });
    expect(msg.data).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });
});

describe('the pickle itself (in-container check)', () => {
  it('unpickles to exactly what the codec decodes from the JSON, is not made past its size bound, and is refused in another format', async () => {
    const res = await runStage(engine, { image, runId, entrypoint: ['python3', '-I', '-B', '/check/loaded_check.py'], cmd: ['/ledger/all-directives.beancount'], binds: [LEDGERS, CHECKS] });
    expect(res.exitCode, res.stderr).toBe(0);
    const [report] = jsonLines(res.stdout);
    expect(report).toMatchObject({ problems: [], shared_meta: [], too_big: null, other_format_refused: true });
    expect(report!.types).toEqual(['Balance', 'Close', 'Commodity', 'Custom', 'Document', 'Event', 'Note', 'Open', 'Pad', 'Price', 'Query', 'Transaction']);
    expect(report!.tolerances as number).toBeGreaterThan(0);
  });
});

describe('a Python plugin given the loader\'s pickle', () => {
  for (const p of PLUGINS) {
    it(`answers as it does to JSON: ${p.what}`, async () => {
      const json = await plugin(p, jsonInput(directives));
      expect(json.exitCode, json.stderr).toBe(0);
      const all = await plugin(p, loadedInput(directives));
      expect(all.exitCode, all.stderr).toBe(0);
      expect(all.stdout).toBe(json.stdout);
      // some directives sent in full (as a previous plugin's output would be), the rest by reference
      const mixed = directives.map((d, i) => (i % 5 === 2 ? (structuredClone(d) as Directive) : d));
      const part = await plugin(p, loadedInput(mixed));
      expect(part.exitCode, part.stderr).toBe(0);
      expect(part.stdout).toBe(json.stdout);
    });
  }

  it('refuses a pickle of another format before reading it (exit 3)', async () => {
    const other = loadedLine.replace(/"python":"[^"]*"/, '"python":"2.7"');
    const res = await plugin(PLUGINS[2]!, loadedInput(directives, other));
    expect(res.exitCode).toBe(3);
    expect(res.stderr).toMatch(/the loaded input is in format .*'python': '2\.7'.* this runner reads/);
    expect(res.stdout).toBe('');
  });

  it('refuses a loaded directive referred to twice (exit 3)', async () => {
    const twice = `${header(4)}\n${loadedLine}\n{"type":"refs","index":0,"from":0,"count":2}\n{"type":"refs","index":2,"from":1,"count":2}\n{"type":"end"}\n`;
    const res = await plugin(PLUGINS[2]!, twice);
    expect(res.exitCode).toBe(3);
    expect(res.stderr).toMatch(/refs 1\+2 go past the header's count or repeat a loaded directive/);
  });
});

describe('runPlugin with the loaded encoding', () => {
  it('sends the pickle and references to a plugin built on the loader\'s image, and gets its input back', async () => {
    const { bundle: b, image: img } = await fixture(engine, 'passthrough');
    const info = await engine.inspectImage(img.id);
    // the image says what it was built on: the loader's own runner image
    expect(readsLoaderPickle({ id: info!.id, runnerId: info!.labels[RUNNER_ID_LABEL] }, image)).toBe(true);
    const input = directives.map((d, i) => (i === 3 ? (structuredClone(d) as Directive) : d));
    const r = await runPlugin({
      engine,
      runId,
      plugin: { name: b.manifest.name, version: b.manifest.version },
      image: img,
      spec: await specFor(engine, b),
      config: null,
      options: options as Record<string, unknown>,
      input,
      loaded: { line: loadedLine, index: new Map(directives.map((d, i) => [d, i])) },
      effects: b.manifest.capabilities.effects,
      limits: limitsFor(b, input.length),
      logger: quietLogger,
    });
    if (!r.ok) throw r.error;
    expect(r.output).toEqual(input);
    expect(r.counts).toEqual({ kept: input.length, modified: 0, inserted: 0, deleted: 0, errors: 0 });
    // the line and references are smaller than the JSON directives
    expect(r.stdinBytes).toBeLessThan(loadedLine.length + 2_000);
  });
});
