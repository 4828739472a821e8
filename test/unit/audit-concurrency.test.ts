import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { verifyFile } from '../../src/audit/verify.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WRITER = path.join(ROOT, 'test', 'fixtures', 'audit', 'concurrent-writer.ts');
const VITE_NODE = path.join(ROOT, 'node_modules', '.bin', 'vite-node');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sbx-audit-conc-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function writer(log: string, id: number, count: number, go: string) {
  const child = spawn(VITE_NODE, [WRITER, log, String(id), String(count), go], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => out.includes('ready\n') && resolve());
    child.on('exit', (code) => reject(new Error(`writer ${id} exited ${code} before it was ready: ${err}`)));
  });
  const done = new Promise<number[]>((resolve, reject) => {
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`writer ${id} exited ${code}: ${err}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as number[]);
    });
  });
  return { ready, done };
}

it('several processes appending at once leave one valid chain holding every record', async () => {
  const log = path.join(dir, 'audit.jsonl');
  const go = path.join(dir, 'go');
  const writers = 6;
  const each = 60;
  const procs = Array.from({ length: writers }, (_, k) => writer(log, k + 1, each, go));
  await Promise.all(procs.map((p) => p.ready));
  fs.writeFileSync(go, '');
  const seqs = await Promise.all(procs.map((p) => p.done));

  const verdict = await verifyFile(log);
  expect(verdict).toMatchObject({ ok: true, length: writers * each, headSeq: writers * each });

  // every seq handed out exactly once, and each writer's own records in its own order
  expect(seqs.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: writers * each }, (_, k) => k + 1));
  const records = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  for (let id = 1; id <= writers; id++) {
    const mine = records.filter((r) => r.runId === `w${id}`).map((r) => Number(r.plugin.version));
    expect(mine).toEqual(Array.from({ length: each }, (_, k) => k + 1));
  }
  // the writers really did interleave: a serial run would give each writer one block
  const switches = records.filter((r, k) => k > 0 && r.runId !== records[k - 1].runId).length;
  expect(switches).toBeGreaterThan(writers);
  expect(fs.existsSync(`${log}.lock`)).toBe(false);
}, 120_000);
