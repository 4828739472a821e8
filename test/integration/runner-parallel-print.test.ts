// The trusted session's parallel print (sbx_runner/parallel_print.py): workers forked before
// finalize print slices of its input, and their text is the very bytes of the sequential print.
// An in-container check forces workers onto small ledgers of mixed directive types, cut at
// every boundary between two directives, and checks the fallbacks (finalize changed a
// directive, a worker failed or was killed), that every worker is reaped and that none writes
// to the session's channel; then a 3-year bean-example ledger goes through the session's
// finalize request as it is, the session deciding on workers itself. It runs in the runner
// image as it is, then under the session's own confinement (the admin profile's seccomp, its
// cgroup limits, read-only root) on runc and on gVisor.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildContainerSpec } from '../../src/blueprint/container-blueprint.js';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { CreateContainerBody, Engine } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { requireRunnerImage } from '../../src/images/build.js';
import { ourLabels } from '../../src/labels.js';
import type { HostFacts } from '../../src/policy/grant.js';
import { hostFacts } from '../../src/policy/host-facts.js';
import { loadPolicy } from '../../src/policy/load-policy.js';
import { stageGrant } from '../../src/stages/stage-body.js';
import { ROOT } from './helpers/cli.js';
import { FIXTURE_BINDS, jsonLines, runBody, runStage } from './helpers/runner-container.js';

const FIX = path.join(ROOT, 'test', 'fixtures');
const CHECK = ['python3', '-I', '-B', '/check/parallel_print_check.py'];
const LEDGERS = ['/ledger/all-directives.beancount', '/ledger/finalize.beancount'];

let engine: Engine;
let image: string;
let host: HostFacts;
const runId = newRunId();

type Report = Record<string, any>;

beforeAll(async () => {
  engine = createDockerEngine();
  image = (await requireRunnerImage(engine, { root: ROOT }, 'python')).id;
  host = (await hostFacts(engine)).facts;
});

/** What every run of the check must report, wherever it runs. */
function expectSameBytes(report: Report) {
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  const all = report.ledgers['all-directives.beancount'];
  // every directive type, and workers cut between many pairs of them
  expect(all.types).toHaveLength(12);
  expect(all.boundaries).toBe(all.entries - 1);
  expect(all.boundary_type_pairs).toBeGreaterThanOrEqual(12);
  for (const [, , forked, used, same] of all.forced) {
    expect(same).toBe(true);
    expect(used).toBe(forked);
  }
  expect(all.channel_untouched).toBe(true);
  // the session's finalize request: its bytes with workers are its bytes without
  expect(all.session).toMatchObject({ same_bytes: true, finalize_unchanged: true });
  // a failing balance check: finalize replaced a directive, so the workers' text was dropped
  expect(report.ledgers['finalize.beancount'].session).toMatchObject({ same_bytes: true, used: 0, finalize_unchanged: false });
  // a small ledger prints in the session, as it always did
  expect(report.plan.workers_for_100).toBe(0);
  // a 3-year bean-example ledger through the finalize request as it is: the session decides, the bytes are the same
  expect(report.example.entries).toBeGreaterThan(1000);
  expect(report.example).toMatchObject({ same_bytes: true, used: report.example.forked });
}

/** The trusted session's container body (stageGrant, as sessionBody builds it), running the check instead. */
async function sessionLikeBody(profile: 'strict' | 'standard', runtime: 'runc' | 'runsc'): Promise<{ body: CreateContainerBody; cpus: number }> {
  const seccomp = (await loadPolicy({ root: ROOT, env: {}, profile })).ceiling.seccompChecked;
  const ledgerDir = path.join(FIX, 'ledgers');
  const grant = { ...stageGrant({ kind: 'loader', ledgerDir, memoryBytes: 2 * 1024 ** 3, timeoutMs: 120_000, apparmor: host.apparmor }), ociRuntime: runtime };
  const { body } = buildContainerSpec({ grant, image, seccomp, labels: ourLabels('test', runId), command: LEDGERS, ledgerDir });
  const check = { Type: 'bind' as const, Source: path.join(FIX, 'runner'), Target: '/check', ReadOnly: true };
  return { body: { ...body, Entrypoint: CHECK, HostConfig: { ...body.HostConfig, Mounts: [...(body.HostConfig.Mounts ?? []), check] } }, cpus: grant.limits.cpus };
}

describe("python runner: the session's parallel print", () => {
  it('prints the same bytes with workers as without, falls back, reaps every worker and keeps off the channel', async () => {
    const res = await runStage(engine, { image, runId, entrypoint: CHECK, cmd: LEDGERS, binds: [FIXTURE_BINDS.ledgers, FIXTURE_BINDS.checks] });
    expect(res.exitCode, res.stderr).toBe(0);
    const [report] = jsonLines(res.stdout) as Report[];
    expectSameBytes(report!);
    // no CPU quota here: with two cores or more, the session forks for the example on its own
    if (availableParallelism() >= 2) expect(report!.example.forked).toBeGreaterThanOrEqual(2);
  });

  const cases = (['strict', 'standard'] as const).flatMap((p) => (['runc', 'runsc'] as const).map((r) => [p, r] as const));
  it.each(cases)("does so under the session's confinement: profile %s on %s", async (profile, runtime) => {
    if (runtime === 'runsc' && !host.runtimes.includes('runsc')) return;
    const { body, cpus } = await sessionLikeBody(profile, runtime);
    const res = await runBody(engine, body);
    expect(res.exitCode, res.err).toBe(0);
    const [report] = jsonLines(res.out) as Report[];
    expectSameBytes(report!);
    const plan = report!.plan;
    if (runtime === 'runc') {
      // the cgroup is read: the session's CPU quota, and its 2 GiB memory limit less what it uses
      expect(plan.cpus).toBe(Math.min(cpus, availableParallelism()));
      expect(plan.room).toBeGreaterThan(0);
      expect(plan.room).toBeLessThan(2 * 1024 ** 3);
      // with fewer than 2 CPUs the workers would only take turns with the session: none
      expect(plan.workers_for_30000 > 0).toBe(Math.round(plan.cpus) >= 2);
      expect(report!.example.forked > 0).toBe(Math.round(plan.cpus) >= 2);
    } else {
      // gVisor shows no cgroup: the memory limit is unknown, and then the session never forks on its own
      expect(plan.room).toBeNull();
      expect(plan.workers_for_30000).toBe(0);
      expect(report!.example.forked).toBe(0);
    }
  });
});
