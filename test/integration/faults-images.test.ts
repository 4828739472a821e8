// What runs is what was reviewed, even when the engine's images change under sandboxctl:
// a plugin image deleted (or its tag pointed at another image) between runs is rebuilt
// from the checked bundle; a `runtime: image` plugin whose tag moved to other content
// runs the pinned content, and once that is gone it is refused, audited, never substituted.
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tarFs from 'tar-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { newRunId } from '../../src/ids.js';
import { Labels, ourLabels } from '../../src/labels.js';
import { loadBundle } from '../../src/manifest/bundle.js';
import { BUNDLE_DIGEST_LABEL } from '../../src/run/plugin-image.js';
import { ROOT } from './helpers/cli.js';
import { auditRecords, containersCreatedBy, docker, expectChainIntact, expectNoOutput, ledgerRunArgs, sequence, spawnCli } from './helpers/fault-run.js';

const engine = createDockerEngine();
const suffix = Math.random().toString(16).slice(2, 10);
let tmp: string;
const images = new Set<string>();

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'sbx-faults-images-'));
  await chmod(tmp, 0o755);
});
afterAll(async () => {
  // images this file made (ids, or tags of ours); never the runner's own
  for (const ref of images) await docker(['image', 'rm', '-f', ref]).catch(() => undefined);
  await rm(tmp, { recursive: true, force: true });
});

/** A ledger of two transactions that runs one plugin line. */
async function ledgerWith(plugin: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmp, 'ledger-'));
  await chmod(dir, 0o755);
  const file = path.join(dir, 'main.beancount');
  await writeFile(
    file,
    [
      'option "operating_currency" "EUR"',
      `plugin "${plugin}"`,
      '2024-01-01 open Assets:Cash EUR',
      '2024-01-01 open Expenses:Food EUR',
      '2024-01-02 * "Shop" "Lunch"',
      '  Assets:Cash  -10.00 EUR',
      '  Expenses:Food',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  return file;
}

async function run(ledger: string, pluginsDir: string, audit: string, name: string, profile = 'standard') {
  const out = path.join(tmp, `${name}.beancount`);
  const t0 = Date.now();
  const s = spawnCli(ledgerRunArgs(ledger, out, audit, profile, [pluginsDir]));
  const { code } = await s.closed;
  return { code, out, stdout: s.stdout(), stderr: s.stderr(), pid: s.pid, t0, t1: Date.now() };
}

async function imageOf(ref: string): Promise<{ Id: string; RepoTags: string[]; Config: { Labels: Record<string, string> } }> {
  return JSON.parse(await docker(['image', 'inspect', ref]))[0];
}

describe('a built plugin image that changed under sandboxctl', () => {
  it('deleted between two runs: rebuilt from the checked bundle; a tag pointed at another image: rebuilt, never run', async () => {
    const name = `test.faults-rebuilt-${suffix}`;
    const pluginsDir = path.join(tmp, 'plugins');
    const bundle = path.join(pluginsDir, name);
    await mkdir(bundle, { recursive: true });
    await writeFile(path.join(bundle, 'plugin.yaml'), `apiVersion: sandboxctl/v1\nname: ${name}\nversion: 1.0.0\nruntime: python\nentrypoint: plugin.py\ncapabilities:\n  effects: [modify]\n`);
    // tags every transaction, so the output shows that this plugin, and nothing else, ran
    await writeFile(
      path.join(bundle, 'plugin.py'),
      [
        'from beancount.core import data',
        "__plugins__ = ['mark']",
        'def mark(entries, options_map):',
        "    return [e._replace(tags=(e.tags or frozenset()) | {'reviewed'}) if isinstance(e, data.Transaction) else e for e in entries], []",
        '',
      ].join('\n'),
    );
    const digest = (await loadBundle(bundle)).digest;
    const ledger = await ledgerWith(name);
    const audit = path.join(tmp, 'rebuilt-audit.jsonl');
    const imageRan = async () => (await auditRecords(audit)).filter((r) => r.event === 'plugin-run').at(-1)!.imageId as string;

    const first = await run(ledger, pluginsDir, audit, 'first');
    expect(first.code, first.stderr).toBe(0);
    expect(await readFile(first.out, 'utf8')).toMatch(/"Shop" "Lunch" #reviewed/);
    const built = await imageRan();
    images.add(built);
    const tag = (await imageOf(built)).RepoTags[0]!;
    expect(tag).toMatch(new RegExp(`^sandboxctl/plugin-${name.replace(/\./g, '\\.')}:`));

    // deleted: the next run builds it again, from the bundle it checks
    await docker(['image', 'rm', '-f', built]);
    const second = await run(ledger, pluginsDir, audit, 'second');
    expect(second.code, second.stderr).toBe(0);
    expect(await readFile(second.out, 'utf8')).toMatch(/"Shop" "Lunch" #reviewed/);
    const rebuilt = await imageRan();
    images.add(rebuilt);
    const img = await imageOf(rebuilt);
    expect(img.RepoTags).toContain(tag);
    expect(img.Config.Labels[BUNDLE_DIGEST_LABEL]).toBe(digest);

    // the tag now names another image (the runner, which is not this plugin): rebuilt, not run
    const runner = await requireRunnerImage(engine, { root: ROOT }, 'python');
    await docker(['image', 'rm', '-f', rebuilt]);
    await docker(['tag', runner.id, tag]);
    images.add(tag);
    const third = await run(ledger, pluginsDir, audit, 'third');
    expect(third.code, third.stderr).toBe(0);
    expect(await readFile(third.out, 'utf8')).toMatch(/"Shop" "Lunch" #reviewed/);
    const again = await imageRan();
    images.add(again);
    expect(again).not.toBe(runner.id);
    expect((await imageOf(again)).Config.Labels[BUNDLE_DIGEST_LABEL]).toBe(digest);
    expect((await imageOf(tag)).Id).toBe(again);
    // the runner keeps its own tags and lost only the borrowed one
    expect((await imageOf(runner.id)).RepoTags).not.toContain(tag);
    images.delete(tag);

    expect(sequence(await auditRecords(audit))).toEqual([
      ['plugin-run', 'ok', 0], ['run-summary', 'ok', 0],
      ['plugin-run', 'ok', 0], ['run-summary', 'ok', 0],
      ['plugin-run', 'ok', 0], ['run-summary', 'ok', 0],
    ]);
    await expectChainIntact(audit, 6);
  });
});

describe('a `runtime: image` plugin pinned by ID', () => {
  it('whose tag was moved to other content: the pinned content runs; once it is gone, refused with the reason and audited, nothing else run', async () => {
    const runner = await requireRunnerImage(engine, { root: ROOT }, 'python');
    const runId = `test-${newRunId()}`;
    const tag = `sandboxctl-test/faults-pinned:${suffix}`;
    const pinned = await engine.buildImage({
      context: tarFs.pack(path.join(ROOT, 'test', 'fixtures', 'images', 'raw-identity')) as unknown as NodeJS.ReadableStream,
      tag,
      labels: ourLabels('test', runId),
      buildArgs: { BASE: runner.tags[0]! },
    });
    images.add(pinned.id);
    const name = `test.faults-pinned-${suffix}`;
    const pluginsDir = path.join(tmp, 'pinned-plugins');
    await mkdir(path.join(pluginsDir, name), { recursive: true });
    await writeFile(path.join(pluginsDir, name, 'plugin.yaml'), `apiVersion: sandboxctl/v1\nname: ${name}\nversion: 1.0.0\nruntime: image\nimage:\n  id: ${pinned.id}\n`);

    // the tag moves to an image that, were it run, would fail loudly
    const other = path.join(tmp, 'other-image');
    await mkdir(other);
    await writeFile(path.join(other, 'Dockerfile'), `FROM ${runner.tags[0]!}\nUSER 65532:65532\nENTRYPOINT ["sh", "-c", "echo not the reviewed image >&2; exit 7"]\n`);
    const moved = await engine.buildImage({ context: tarFs.pack(other) as unknown as NodeJS.ReadableStream, tag, labels: ourLabels('test', runId) });
    images.add(moved.id);
    expect((await imageOf(tag)).Id).toBe(moved.id);
    expect(moved.id).not.toBe(pinned.id);

    const ledger = await ledgerWith(name);
    const audit = path.join(tmp, 'pinned-audit.jsonl');
    const ok = await run(ledger, pluginsDir, audit, 'pinned-ok', 'permissive');
    expect(ok.code, ok.stderr).toBe(0);
    expect(await readFile(ok.out, 'utf8')).toMatch(/"Shop" "Lunch"/);
    expect((await auditRecords(audit))[0]).toMatchObject({ event: 'plugin-run', imageId: pinned.id });

    // the pinned content is gone; only the tag's new content is left: refused, not substituted
    await docker(['image', 'rm', '-f', pinned.id]);
    const refused = await run(ledger, pluginsDir, audit, 'pinned-gone', 'permissive');
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain(`${name}: no local image has the pinned ID ${pinned.id}`);
    await expectNoOutput(refused.out);
    expect(await containersCreatedBy(refused.pid, refused.t0, refused.t1)).not.toContain('plugin');
    const records = await auditRecords(audit);
    expect(sequence(records.slice(2))).toEqual([
      ['refused', 'violation', null],
      ['run-summary', 'refused', 3],
    ]);
    expect(records[2]).toMatchObject({ plugin: { name }, outcome: { violation: 'image-mismatch' } });
    await expectChainIntact(audit, 4);
    // no container was ever made from the moved tag's image
    const fromMoved = await docker(['ps', '-a', '-q', '--filter', `ancestor=${moved.id}`, '--filter', `label=${Labels.managed}=true`]);
    expect(fromMoved.trim()).toBe('');
  });
});
