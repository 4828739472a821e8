// Our seccomp allowlists are sized to what the runners need: Python 3.11 + Beancount and
// Node 18, under docker-init, inside each profile's full spec, on runc and on gVisor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { newRunId } from '../../src/ids.js';
import { Labels } from '../../src/labels.js';
import type { HostFacts } from '../../src/policy/grant.js';
import { hostFacts } from '../../src/policy/host-facts.js';
import { ROOT } from './helpers/cli.js';
import { runBody } from './helpers/runner-container.js';
import { ASKS, PROFILES, specFor, type ProfileName } from './hardening/spec-for.js';

const engine = createDockerEngine();
const runId = `test-${newRunId()}`;
let host: HostFacts;
const images: Record<'python' | 'node', string> = { python: '', node: '' };

// A realistic workload: generate a 3-year example ledger in memory, load and book it with
// Beancount's own plugins, use a thread pool, then read JSON lines from stdin.
const PYTHON = `
import io, sys, json, hashlib, random, datetime, concurrent.futures
sys.path.append('/usr/lib/python3/dist-packages')
from beancount.scripts import example
from beancount import loader
random.seed(7)
buf = io.StringIO()
example.write_example_file(datetime.date(1980, 5, 12), datetime.date(2021, 1, 1), datetime.date(2024, 1, 1), True, buf)
text = 'plugin "beancount.plugins.implicit_prices"\\nplugin "beancount.plugins.check_commodity"\\n' + buf.getvalue()
entries, errors, options = loader.load_string(text)
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    digests = list(pool.map(lambda e: hashlib.sha256(repr(e).encode()).hexdigest(), entries[:200]))
lines = [json.loads(l) for l in sys.stdin if l.strip()]
print(json.dumps({'entries': len(entries), 'errors': len(errors), 'threads': len(digests), 'stdin': lines}))
`;

const NODE = `
const crypto = require('node:crypto');
const { Worker } = require('node:worker_threads');
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (buf += d));
process.stdin.on('end', async () => {
  const lines = buf.split('\\n').filter(Boolean).map((l) => JSON.parse(l));
  const worker = await new Promise((resolve, reject) => {
    const w = new Worker('require("node:worker_threads").parentPort.postMessage(6 * 7)', { eval: true });
    w.on('message', resolve);
    w.on('error', reject);
  });
  const big = new Array(1e6).fill(1).reduce((a, b) => a + b, 0);
  await new Promise((r) => setTimeout(r, 20));
  process.stdout.write(JSON.stringify({ worker, big, sha: crypto.createHash('sha256').update(buf).digest('hex').slice(0, 8), stdin: lines }) + '\\n');
});
`;

beforeAll(async () => {
  host = (await hostFacts(engine)).facts;
  images.python = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
  images.node = (await requireRunnerImage(engine, { root: ROOT }, 'node')).id;
});

afterAll(async () => {
  for (const c of await engine.listContainers({ [Labels.run]: runId })) await engine.removeContainer(c.id);
});

const cases = PROFILES.flatMap((p) => (['runc', 'runsc'] as const).map((r) => [p, r] as const));

describe.each(cases)('profile %s on %s', (profile: ProfileName, runtime) => {
  const ask = { ...ASKS[profile], resources: { ...ASKS[profile].resources, memory: '256Mi', timeout: '60s' } };

  it('runs Python 3.11 + Beancount (load, book, plugins, threads, stdin)', async () => {
    const spec = await specFor({ profile, runtime, host, image: images.python, runId, ask, ledgerDir: profile === 'strict' ? undefined : ROOT });
    const r = await runBody(engine, { ...spec.body, Entrypoint: ['python3', '-I', '-S', '-B', '-c', PYTHON], Cmd: [] }, '{"a":1}\n{"b":2}\n');
    expect(r.err).toBe('');
    expect(r.exitCode).toBe(0);
    const res = JSON.parse(r.out);
    expect(res.entries).toBeGreaterThan(1000);
    expect(res).toMatchObject({ errors: 0, threads: 200, stdin: [{ a: 1 }, { b: 2 }] });
  });

  it('runs Node 18 (stdin, crypto, timers, a worker thread)', async () => {
    const spec = await specFor({ profile, runtime, host, image: images.node, runId, ask, ledgerDir: profile === 'strict' ? undefined : ROOT });
    const r = await runBody(engine, { ...spec.body, Entrypoint: ['node', '-e', NODE], Cmd: [] }, '{"a":1}\n');
    expect(r.err).toBe('');
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ worker: 42, big: 1e6, stdin: [{ a: 1 }] });
  });
});
