#!/usr/bin/env node
// The least a ledger run can take while Beancount runs in a container: the trusted
// session's own container (its spec under PROFILE: seccomp, user, limits, read-only ledger
// mount, labels), created, started, waited for and removed through the Engine API, in which
// one Python process does Beancount's whole work on LEDGER (bench/lib/session-floor.py:
// parse, book, the ledger's plugins, post ops, validation) and, with PRINT=1, prints the result
// as the session does, streamed to OUT. No directive crosses to the host, and nothing is
// validated there or audited; with CHECKS=1 the session's own checks are done too (each
// plugin's effects, the directives' JSON and digests). One invocation is one run, so hyperfine
// times it as it times `sandboxctl run` (bench/ledger-vs-beancount.sh puts it beside the
// standard profile's line).
//
// Usage: node bench/session-floor.mjs LEDGER [--verbose]
//   env PROFILE=standard PRINT=1 CHECKS=0 OUT=/dev/null
//   --verbose: the phases inside the container, and the wall time of the whole, on stderr
//   needs `npm run build`, the engine and the images
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { benchContext, dist, ROOT } from './lib/prepared-plugin.mjs';

const t0 = performance.now();
const ledger = path.resolve(process.argv[2] ?? '');
if (!process.argv[2]) {
  console.error('usage: node bench/session-floor.mjs LEDGER [--verbose]');
  process.exit(2);
}
const verbose = process.argv.includes('--verbose');
const print = process.env.PRINT !== '0';

const { sessionBody } = await dist('pipeline/trusted-session.js');
const { startContainer } = await dist('run/warm-start.js');
const { requireRunnerImage } = await dist('images/build.js');
const { loadPolicy } = await dist('policy/load-policy.js');
const { ledgerReader } = await dist('pipeline/ledger-reader.js');
const { LEDGER_MOUNT } = await dist('stages/stage-body.js');
const { newRunId } = await dist('ids.js');

const ctx = await benchContext();
const [runner, policy, reader] = await Promise.all([
  requireRunnerImage(ctx.engine, { root: ROOT }, 'python'),
  loadPolicy({ root: ROOT, env: process.env, profile: process.env.PROFILE ?? 'standard' }),
  ledgerReader(ledger),
]);
if (!reader.ok) throw reader.error;
const body = sessionBody({
  runId: newRunId(new Date()),
  ledgerPath: ledger,
  imageId: runner.id,
  timeoutMs: 300_000,
  memoryBytes: 2 * 1024 ** 3,
  seccomp: policy.ceiling.seccompChecked,
  apparmor: ctx.host.apparmor,
  user: reader.user,
});
const code = readFileSync(path.join(ROOT, 'bench', 'lib', 'session-floor.py'), 'utf8');
body.Entrypoint = ['python3', '-I', '-S', '-B', '-c', code];
body.Cmd = [`${LEDGER_MOUNT}/${path.basename(ledger)}`, print ? 'print' : 'none', process.env.CHECKS === '1' ? 'checks' : 'none'];

const w = await startContainer(ctx.engine, body);
// interrupted: the container is removed at once, which ends the run below
let interrupted;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    interrupted = sig;
    w.handle.remove().catch(() => undefined);
  });
}
let stderr = '';
try {
  w.streams.stdin.end();
  w.streams.stderr.on('data', (b) => (stderr += b));
  const written = finished(w.streams.stdout.pipe(createWriteStream(process.env.OUT ?? '/dev/null')));
  const { exitCode } = await w.handle.wait();
  await written;
  if (exitCode !== 0 && !interrupted) throw new Error(`the container exited ${exitCode}:\n${stderr.slice(-2000)}`);
} finally {
  for (const s of [w.streams.stdout, w.streams.stderr]) s.destroy();
  await w.handle.remove();
}
if (interrupted) process.exit(interrupted === 'SIGINT' ? 130 : 143);
if (verbose) {
  const last = stderr.trim().split('\n').pop();
  console.error(`${last}\nwhole command: ${Math.round(performance.now() - t0)} ms (from this script's first line; Node's start not counted)`);
}
