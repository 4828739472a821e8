#!/usr/bin/env node
// What one plugin container costs, create to exit, under an OCI runtime (gVisor's runsc by
// default): the host CPU time the whole sandbox used (its cgroup's cpuacct.usage: runsc's
// sandbox, gofer and ptrace stubs are all in it) and the wall time of the runner's process,
// for a builtin plugin in the Python runner and the quickstart's JavaScript plugin in the
// Node runner, each on the quickstart ledger's directives. Images are compared run by run
// (interleaved), so a busy machine slows all of them alike.
//
// Usage: node bench/runner-start-cost.mjs
//   env RUNS=7 RUNTIME=runsc SECCOMP=strict|default PYTHON_IMAGES="sandboxctl/python-runner:A sandboxctl/python-runner:B"
//       NODE_IMAGES="sandboxctl/node-runner:A ..." (default: the images of this checkout)
//   needs `npm run build`, the engine, the images, and cgroup v1 (/sys/fs/cgroup/cpuacct/docker)
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.RUNS ?? 7);
const RUNTIME = process.env.RUNTIME ?? 'runsc';
// the strict profile's seccomp filter (under runc, `docker run` with it cannot set up the
// user: SECCOMP=default keeps Docker's own there)
const SECCOMP = process.env.SECCOMP === 'default' ? null : path.join(ROOT, 'seccomp', 'strict.json');
const CLI = path.join(ROOT, 'bin', 'sandboxctl.js');
const QUICKSTART = path.join(ROOT, 'examples', 'quickstart');

function docker(args, input) {
  const r = spawnSync('docker', args, { input, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`docker ${args.slice(0, 3).join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

function currentImages() {
  const out = execFileSync(process.execPath, [CLI, 'images', 'build', '--only', 'python', 'node', '--json'], { encoding: 'utf8' });
  const tags = [...out.matchAll(/sandboxctl\/(python|node)-runner:[0-9a-f]+/g)].map((m) => m[0]);
  return { python: tags.filter((t) => t.includes('python-runner')).slice(0, 1), node: tags.filter((t) => t.includes('node-runner')).slice(0, 1) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const work = mkdtempSync(path.join(os.tmpdir(), 'sbx-runner-start-'));
try {
  chmodSync(work, 0o755);
  const found = process.env.PYTHON_IMAGES && process.env.NODE_IMAGES ? null : currentImages();
  const pythonImages = process.env.PYTHON_IMAGES?.split(/\s+/).filter(Boolean) ?? found.python;
  const nodeImages = process.env.NODE_IMAGES?.split(/\s+/).filter(Boolean) ?? found.node;

  // the quickstart ledger's directives, loaded by the (first) Python runner, as a plugin's input
  cpSync(path.join(QUICKSTART, 'main.beancount'), path.join(work, 'main.beancount'));
  chmodSync(path.join(work, 'main.beancount'), 0o644);
  const loaded = docker(['run', '--rm', '--network', 'none', '-v', `${work}:/ledger:ro`, pythonImages[0], 'load', '--ledger', '/ledger/main.beancount'])
    .trim().split('\n').map((l) => JSON.parse(l));
  const options = loaded.find((l) => l.type === 'options').options;
  const directives = loaded.filter((l) => l.type === 'directive');
  const input = (name, config) => [{ type: 'header', protocol: 1, plugin: { name, version: null }, config, options, count: directives.length }, ...directives, { type: 'end' }]
    .map((m) => JSON.stringify(m)).join('\n') + '\n';
  writeFileSync(path.join(work, 'python.jsonl'), input('beancount.plugins.implicit_prices', null));
  writeFileSync(path.join(work, 'node.jsonl'), input('acme.payee-case', null));
  cpSync(path.join(QUICKSTART, 'plugins', 'acme.payee-case'), path.join(work, 'payee-case'), { recursive: true });

  const cases = [
    ...pythonImages.map((image) => ({ label: `python ${image}`, image, input: 'python.jsonl', cmd: ['plugin', '--module', 'beancount.plugins.implicit_prices'] })),
    ...nodeImages.map((image) => ({ label: `node   ${image}`, image, input: 'node.jsonl', cmd: ['plugin', '--bundle', '/work/payee-case', '--entrypoint', 'index.mjs'] })),
  ];

  /** One container: the image's own entrypoint, timed by the shell around it, then parked so its cgroup can be read. */
  function once(c) {
    const entrypoint = JSON.parse(docker(['inspect', c.image, '--format', '{{json .Config.Entrypoint}}']));
    const quoted = [...entrypoint, ...c.cmd].map((a) => `'${a}'`).join(' ');
    const script = `t0=$(date +%s%N); ${quoted} < /work/${c.input} > /dev/null 2>/tmp/err; s=$?; t1=$(date +%s%N); echo "END $s $(( (t1 - t0) / 1000000 ))"; exec sleep 60`;
    const seccomp = SECCOMP ? ['--security-opt', `seccomp=${SECCOMP}`] : [];
    const id = docker(['run', '-d', '--runtime', RUNTIME, '--network', 'none', '--security-opt', 'no-new-privileges', ...seccomp,
      '-v', `${work}:/work:ro`, '--entrypoint', '/bin/sh', c.image, '-c', script]).trim();
    try {
      for (let i = 0; i < 1200; i++) {
        const m = /END (\d+) (\d+)/.exec(docker(['logs', id]));
        if (m) {
          if (m[1] !== '0') throw new Error(`${c.label}: the runner exited ${m[1]}`);
          const cpu = Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8')) / 1e6;
          return { cpu, wall: Number(m[2]) };
        }
        spawnSync('sleep', ['0.05']);
      }
      throw new Error(`${c.label}: no end in a minute`);
    } finally {
      docker(['rm', '-f', id]);
    }
  }

  console.log(`one plugin container under ${RUNTIME} (${SECCOMP ? 'strict' : "Docker's default"} seccomp), ${RUNS} runs each, interleaved; ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const results = new Map(cases.map((c) => [c, []]));
  once(cases[0]); // warm-up: the engine and the page cache
  for (let r = 0; r < RUNS; r++) for (const c of cases) results.get(c).push(once(c));
  for (const [c, rs] of results) {
    console.log(`  ${c.label.padEnd(50)} sandbox CPU median ${median(rs.map((x) => x.cpu)).toFixed(0).padStart(5)} ms   runner wall median ${median(rs.map((x) => x.wall)).toFixed(0).padStart(5)} ms`);
  }
  console.log(`load average at the end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
