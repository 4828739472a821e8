import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deferModule, loadDockerode } from './load-dockerode.js';

const require = createRequire(import.meta.url);
const dir = mkdtempSync(path.join(os.tmpdir(), 'sbx-defer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('deferModule', () => {
  it('loads the real module on the first call only, and forwards this, arguments and result', () => {
    const file = path.join(dir, 'counted.cjs');
    writeFileSync(file, 'globalThis.__sbxLoads = (globalThis.__sbxLoads || 0) + 1;\n' +
      'module.exports = function (a, b) { return { self: this, sum: a + b }; };\n');
    const g = globalThis as { __sbxLoads?: number };
    deferModule(file);
    const fn = require(file) as (this: unknown, a: number, b: number) => { self: unknown; sum: number };
    expect(g.__sbxLoads).toBeUndefined();
    const self = { tag: 1 };
    expect(fn.call(self, 2, 3)).toEqual({ self, sum: 5 });
    expect(fn(4, 5).sum).toBe(9);
    expect(g.__sbxLoads).toBe(1);
  });

  it('leaves a module that is already loaded alone', () => {
    const file = path.join(dir, 'loaded.cjs');
    writeFileSync(file, 'module.exports = function () { return "real"; };\n');
    const real = require(file) as () => string;
    deferModule(file);
    expect(require(file)).toBe(real);
  });
});

describe('loadDockerode', () => {
  it('gives the Docker class without loading the gRPC session or the SSH transport', () => {
    const Docker = loadDockerode();
    expect(typeof Docker).toBe('function');
    expect(typeof new Docker({ socketPath: '/nonexistent.sock' }).createContainer).toBe('function');
    const loaded = Object.keys(require.cache);
    expect(loaded.some((f) => f.includes(`${path.sep}dockerode${path.sep}`))).toBe(true);
    expect(loaded.filter((f) => /[\\/](@grpc|ssh2|protobufjs)[\\/]/.test(f))).toEqual([]);
  });
});
