// `sandboxctl compose export` against the real docker-compose and engine, for each shipped
// admin profile: the container docker-compose creates from the exported file has the
// HostConfig of the body `sandboxctl plan --json` prints (compared whole with a container
// the engine creates from that body, and field by field with the body itself), and it
// behaves as the sandbox must: the root fs write fails, there is no network, blocked
// syscalls fail with EPERM, and it is OOM-killed past its cap. The plugin is a Python
// bundle (its image built by the export, on our runner); for the behaviour checks the
// test runs the compose service with python3 as its entrypoint on the bundle's probe.py.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { CreateContainerBody } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { Labels, ourLabels } from '../../src/labels.js';
import { ASKS, PROFILES, writableLedgerDir, type ProfileName } from './hardening/spec-for.js';
import { ROOT, runCli } from './helpers/cli.js';
import { containersWithLabel, dockerCompose, dockerInspect, requireDockerCompose } from './helpers/docker-compose.js';
import { removeWorkDir } from './helpers/work-dir.js';

const engine = createDockerEngine();
const runId = `test-${newRunId()}`;
const PROBE = path.join(ROOT, 'test', 'fixtures', 'compose', 'probe.py');
const pluginImages = new Set<string>();
let ledgerDir: string;
let work: string;

const project = (p: ProfileName) => `sbxcompose${runId.replace(/[^a-z0-9]/g, '')}${p}`;

// Engine fields where one side sends an empty list or map and the other none: both mean
// "nothing" to the daemon (compose sends Binds [], PortBindings {}, VolumesFrom [] and no
// Devices; the body has Devices [] and Mounts [], which the engine stores as absent). The only
// other difference allowed is the seccomp profile's JSON text, which compose re-serialises
// (json.dumps) after reading the file: it is compared parsed.
const EMPTY_EQUIVALENT = ['Binds', 'PortBindings', 'VolumesFrom', 'Devices', 'Mounts'];

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);
}

/** SecurityOpt with the seccomp JSON parsed, so the same profile compares equal however it was spaced. */
function securityOpt(opts: string[] | null): unknown[] {
  return (opts ?? []).map((o) => (o.startsWith('seccomp=') ? { seccomp: JSON.parse(o.slice('seccomp='.length)) } : o));
}

function comparable(hc: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...hc, SecurityOpt: securityOpt(hc.SecurityOpt as string[] | null) };
  for (const k of EMPTY_EQUIVALENT) if (isEmpty(out[k])) out[k] = null;
  // docker-compose 1.29 does not keep the order of a service's volumes (it varies run to run);
  // the two ledger mounts have distinct targets, neither inside the other, so order changes nothing
  const mounts = out.Mounts as Array<{ Target: string }> | null;
  if (mounts) out.Mounts = [...mounts].sort((a, b) => a.Target.localeCompare(b.Target));
  // the engine reports a log driver with no options as Config {}
  const log = out.LogConfig as { Type: string; Config?: object } | undefined;
  if (log && isEmpty(log.Config)) out.LogConfig = { Type: log.Type };
  return out;
}

async function writeBundle(profile: ProfileName): Promise<string> {
  const dir = path.join(work, `bundle-${profile}`);
  await mkdir(dir, { recursive: true });
  const ask = ASKS[profile];
  await writeFile(path.join(dir, 'probe.py'), await readFile(PROBE));
  await writeFile(
    path.join(dir, 'plugin.yaml'),
    stringify({ apiVersion: 'sandboxctl/v1', name: `test.compose-${profile}`, version: '1.0.0', runtime: 'python', entrypoint: 'probe.py', capabilities: ask.capabilities, resources: ask.resources }),
  );
  return dir;
}

beforeAll(async () => {
  requireDockerCompose();
  ledgerDir = await writableLedgerDir();
  work = await mkdtemp(path.join(os.tmpdir(), 'sbx-compose-export-'));
});

afterAll(async () => {
  for (const p of PROFILES) {
    const file = path.join(work ?? '/nonexistent', p, 'compose.yaml');
    await dockerCompose(['-p', project(p), '-f', file, '--profile', p, 'down', '--remove-orphans']).catch(() => undefined);
    for (const id of containersWithLabel(`com.docker.compose.project=${project(p)}`)) execFileSync('docker', ['rm', '-f', id]);
  }
  for (const c of await engine.listContainers({ [Labels.run]: runId })) await engine.removeContainer(c.id);
  for (const id of pluginImages) await engine.removeImage(id);
  if (ledgerDir) await removeWorkDir(ledgerDir);
  if (work) await rm(work, { recursive: true, force: true });
});

interface Probe {
  report: Record<string, string | number>;
  exitCode: number;
  oomKilled: boolean;
  stderr: string;
}

describe.each(PROFILES)('admin profile %s, exported to docker-compose', (profile) => {
  let planned: CreateContainerBody;
  let composed: Record<string, any>;
  let reference: Record<string, any>;
  let outcome: Probe;
  let file: string;
  let probeRun: Record<string, any>;
  const service = `test.compose-${profile}`;

  beforeAll(async () => {
    const bundle = await writeBundle(profile);
    const ledger = profile === 'strict' ? [] : ['--ledger-dir', ledgerDir];
    const plan = await runCli(['plan', '--json', '--profile', profile, ...ledger, bundle]);
    expect(plan.code, plan.stderr).toBe(0);
    planned = JSON.parse(plan.stdout).plans[0].spec.body;

    const out = path.join(work, profile);
    const exp = await runCli(['compose', 'export', '-o', out, '--profile', profile, ...ledger, bundle], { env: { TZ: 'UTC' } });
    expect(exp.code, exp.stderr).toBe(0);
    file = path.join(out, 'compose.yaml');

    const up = await dockerCompose(['-p', project(profile), '-f', file, '--profile', profile, 'up', '--no-start']);
    expect(up.code, up.stderr).toBe(0);
    const ids = containersWithLabel(`com.docker.compose.project=${project(profile)}`);
    expect(ids).toHaveLength(1);
    composed = dockerInspect(ids)[0]!;
    pluginImages.add(composed.Image);

    // the same body through the engine client sandboxctl uses, on the image compose runs, labelled as this test's
    const handle = await engine.createContainer({ ...planned, Image: composed.Image, Labels: ourLabels('test', runId) });
    reference = dockerInspect([handle.id])[0]!;
    await handle.remove();

    // the service run by docker-compose with the probe as its program (log driver none: compose attaches)
    const name = `${project(profile)}-probe`;
    const run = await dockerCompose(['-p', project(profile), '-f', file, '--profile', profile, 'run', '-T', '--name', name, '--entrypoint', 'python3', service, '/plugin/probe.py', ledgerDir]);
    const [ran] = containersWithLabel(`com.docker.compose.project=${project(profile)}`).length > 1 ? dockerInspect([name]) : [];
    if (!ran) throw new Error(`docker-compose run made no container (exit ${run.code}):\n${run.stderr}`);
    probeRun = ran;
    outcome = { report: JSON.parse(run.stdout.trim().split('\n')[0] || '{}'), exitCode: run.code ?? -1, oomKilled: ran.State.OOMKilled, stderr: run.stderr };
    execFileSync('docker', ['rm', name]);
  });

  it('writes the seccomp profile beside the compose file and names it by absolute path', async () => {
    const text = await readFile(file, 'utf8');
    expect(text).toContain(`profiles:\n      - ${profile}`);
    const seccompFile = path.join(path.dirname(file), 'seccomp', `${profile}.json`);
    expect(text).toContain(`seccomp:${seccompFile}`);
    const opt = planned.HostConfig.SecurityOpt!.find((o) => o.startsWith('seccomp='))!;
    expect(await readFile(seccompFile, 'utf8')).toBe(opt.slice('seccomp='.length));
  });

  it('creates a container whose HostConfig equals, whole, the one the engine makes from the plan body', () => {
    expect(comparable(composed.HostConfig)).toEqual(comparable(reference.HostConfig));
  });

  it('holds every HostConfig field of the plan body, value for value', () => {
    const hc = comparable(composed.HostConfig);
    const want = comparable(planned.HostConfig as Record<string, unknown>);
    for (const [k, v] of Object.entries(want)) expect([k, hc[k]]).toEqual([k, v]);
    expect(composed.HostConfig.Runtime).toBe(profile === 'strict' ? 'runsc' : 'runc');
  });

  it('runs the probe with the same HostConfig: docker-compose run keeps the service\'s hardening', () => {
    expect(comparable(probeRun.HostConfig)).toEqual(comparable(composed.HostConfig));
  });

  it('has the body\'s user, command, stdin, working dir, the plugin image by ID, and our labels', () => {
    expect(composed.Config).toMatchObject({ User: planned.User, Cmd: planned.Cmd, WorkingDir: planned.WorkingDir, OpenStdin: true, Tty: false });
    expect(composed.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(composed.Config.Image).toBe(composed.Image);
    expect(composed.Config.Labels).toMatchObject({ [Labels.managed]: 'true', [Labels.kind]: 'plugin', [Labels.plugin]: `test.compose-${profile}` });
  });

  it('runs as non-root with no capabilities under seccomp, and cannot write its root filesystem', () => {
    expect(outcome.report, outcome.stderr).toMatchObject({ uid: 65532, euid: 65532, cap_eff: '0000000000000000', seccomp_mode: '2' });
    expect(outcome.report.write_rootfs).toMatch(/^(EROFS|EACCES)$/);
    // world-writable in the image: only the read-only root refuses it
    expect(outcome.report.write_var_tmp).toBe('EROFS');
    expect(outcome.report.write_scratch).toBe('ok');
  });

  it('reads the ledger only where granted, and never writes it', () => {
    if (profile === 'strict') expect(outcome.report.read_ledger).toBe('ENOENT');
    else expect(outcome.report).toMatchObject({ read_ledger: 'ok', write_ledger_existing: 'EROFS', write_ledger_new: 'EROFS', read_ledger_host: 'ok', write_ledger_host_existing: 'EROFS' });
  });

  it('has no network', () => {
    expect(outcome.report.interfaces_besides_lo).toBe(0);
    for (const k of ['tcp4_connect', 'udp4_connect']) expect([k, outcome.report[k]]).toEqual([k, expect.not.stringMatching(/^(ok|ETIMEDOUT)$/)]);
  });

  it('fails blocked syscalls with EPERM', () => {
    // without our profile (Docker's default, runc) these answer ESRCH, ok and EFAULT: EPERM here is our filter
    for (const k of ['sys_ptrace', 'sys_personality', 'sys_memfd_create', 'sys_unshare', 'sys_setns', 'sys_keyctl', 'sys_mount', 'sys_bpf']) expect([k, outcome.report[k]]).toEqual([k, 'EPERM']);
  });

  it('is OOM-killed past its memory cap', () => {
    expect(outcome.exitCode).toBe(137);
    expect(outcome.oomKilled).toBe(true);
  });

  it('leaves nothing behind after docker-compose down', async () => {
    const down = await dockerCompose(['-p', project(profile), '-f', file, '--profile', profile, 'down']);
    expect(down.code, down.stderr).toBe(0);
    expect(containersWithLabel(`com.docker.compose.project=${project(profile)}`)).toEqual([]);
  });
});

describe('refusals', () => {
  it('refuses to export a refused plugin, with every reason, and writes nothing', async () => {
    const dir = path.join(work, 'bundle-greedy');
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'plugin.yaml'),
      stringify({ apiVersion: 'sandboxctl/v1', name: 'test.compose-greedy', version: '1.0.0', runtime: 'python', entrypoint: 'probe.py', capabilities: { ledger: 'read', network: 'egress' }, resources: { memory: '4Gi' } }),
    );
    await writeFile(path.join(dir, 'probe.py'), await readFile(PROBE));
    const out = path.join(work, 'refused');
    for (const args of [['compose', 'export', '-o', out], ['plan', '--format', 'compose']]) {
      const r = await runCli([...args, '--profile', 'strict', dir]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      for (const reason of ['ledger', 'network', 'memory']) expect(r.stderr).toContain(reason);
    }
    await expect(readFile(path.join(out, 'compose.yaml'))).rejects.toThrow(/ENOENT/);
  });

  it('takes --format text, json or compose only, and not --json with compose', async () => {
    const bundle = await writeBundle('strict');
    const bogus = await runCli(['plan', '--format', 'yaml', bundle]);
    expect([bogus.code, bogus.stderr]).toEqual([2, expect.stringContaining('use --format text, json or compose')]);
    const both = await runCli(['plan', '--json', '--format', 'compose', bundle]);
    expect([both.code, both.stderr]).toEqual([2, expect.stringContaining('--json and --format compose')]);
    const json = await runCli(['plan', '--format', 'json', bundle]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).plans[0].spec.body.HostConfig.Runtime).toBe('runsc');
  });

  it('asks for --ledger-dir when a plugin is granted ledger read, instead of guessing a directory', async () => {
    const r = await runCli(['compose', 'export', '-o', path.join(work, 'no-ledger'), '--profile', 'standard', await writeBundle('standard')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('granted ledger read');
    expect(r.stderr).toContain('--ledger-dir');
  });
});
