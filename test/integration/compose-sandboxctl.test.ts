// sandboxctl itself run from compose/compose.yaml with the real docker-compose: the strict
// profile's service runs the quickstart ledger through the engine socket and gives the
// same output ledger and the same audit records as the host CLI, writes its output and
// audit log to the volumes, and leaves no container behind. The image is the one
// `sandboxctl images build` makes (by its input tag, so a concurrent build elsewhere
// moving :current does not matter here).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli } from './helpers/cli.js';
import { containersWithLabel, dockerCompose, requireDockerCompose, type ComposeRun } from './helpers/docker-compose.js';

const COMPOSE = path.join(ROOT, 'compose', 'compose.yaml');
const LEDGER_DIR = path.join(ROOT, 'examples', 'quickstart');
const LEDGER = path.join(LEDGER_DIR, 'main.beancount');
const PLUGINS = path.join(LEDGER_DIR, 'plugins');
const PROJECT = `sbxcli${process.pid}`;
const ALL_PROFILES = ['--profile', 'strict', '--profile', 'standard', '--profile', 'nightly'];

let work: string;
let env: NodeJS.ProcessEnv;
let image: string;

const compose = (args: string[], over: NodeJS.ProcessEnv = {}) => dockerCompose(['-p', PROJECT, '-f', COMPOSE, ...args], { env: { ...env, ...over } });

type AuditRecord = Record<string, unknown> & { runId: string; event: string };

async function readAudit(file: string): Promise<AuditRecord[]> {
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
}

// What differs between two runs of the same ledger by nature: when and by whom (time, run
// id, actor, argv, the chain's links) and how long it took. Everything else must match.
const PER_RUN = ['time', 'runId', 'actor', 'argv', 'durationMs', 'usage', 'seq', 'prev', 'hash'];

function comparable(records: AuditRecord[]): string[] {
  return records.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).filter(([k]) => !PER_RUN.includes(k))))).sort();
}

beforeAll(async () => {
  requireDockerCompose();
  const built = await runCli(['images', 'build', '--only', 'sandboxctl', '--json']);
  expect(built.code, built.stderr).toBe(0);
  image = (JSON.parse(built.stdout) as { outcomes: Array<{ name: string; tag: string }> }).outcomes.find((o) => o.name === 'sandboxctl')!.tag;
  work = await mkdtemp(path.join(os.tmpdir(), 'sbx-compose-cli-'));
  env = {
    SANDBOXCTL_IMAGE: image,
    SANDBOXCTL_LEDGER_DIR: LEDGER_DIR,
    SANDBOXCTL_PLUGINS: PLUGINS,
    SANDBOXCTL_AUDIT: path.join(work, 'compose-audit'),
    SANDBOXCTL_OUT: path.join(work, 'compose-out'),
  };
});

afterAll(async () => {
  if (env) await compose([...ALL_PROFILES, 'down', '-v', '--remove-orphans']);
  if (work) await rm(work, { recursive: true, force: true });
});

describe('sandboxctl run from docker-compose, strict profile', () => {
  let host: Awaited<ReturnType<typeof runCli>>;
  let composed: ComposeRun;

  beforeAll(async () => {
    const hostOut = path.join(work, 'host-out.beancount');
    host = await runCli(['run', LEDGER, '-o', hostOut], {
      env: { SANDBOXCTL_PROFILE: 'strict', SANDBOXCTL_PLUGINS_DIR: PLUGINS, SANDBOXCTL_AUDIT_LOG: path.join(work, 'host-audit.jsonl') },
    });
    expect(host.code, host.stderr).toBe(0);
    // the command the README gives, plus -o into the outputs volume
    composed = await compose(['--profile', 'strict', 'run', '--rm', 'sandboxctl', 'run', LEDGER, '-o', '/out/main.out.beancount']);
  });

  it('exits 0 and writes the same output ledger as the host CLI, into the outputs volume', async () => {
    expect(composed.code, composed.stderr).toBe(0);
    const fromCompose = await readFile(path.join(work, 'compose-out', 'main.out.beancount'), 'utf8');
    expect(fromCompose).toBe(await readFile(path.join(work, 'host-out.beancount'), 'utf8'));
    expect(fromCompose).toContain('#large');
  });

  it('writes the same audit records as the host CLI, to the audit volume, in a chain that verifies', async () => {
    const mine = await readAudit(path.join(work, 'compose-audit', 'audit.jsonl'));
    const theirs = await readAudit(path.join(work, 'host-audit.jsonl'));
    expect(mine.map((r) => r.event).sort()).toEqual(theirs.map((r) => r.event).sort());
    expect(mine.filter((r) => r.event === 'plugin-run')).toHaveLength(4);
    expect(comparable(mine)).toEqual(comparable(theirs));
    // the strict ceiling held: gVisor for every plugin
    for (const r of mine.filter((x) => x.event === 'plugin-run')) expect([r.profile, r.runtime]).toEqual(['strict', 'runsc']);
    const verify = await runCli(['audit', 'verify', '--audit-log', path.join(work, 'compose-audit', 'audit.jsonl')]);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it('leaves no container behind: neither its own nor the ones it made through the socket', async () => {
    expect(containersWithLabel(`com.docker.compose.project=${PROJECT}`)).toEqual([]);
    const runIds = new Set((await readAudit(path.join(work, 'compose-audit', 'audit.jsonl'))).map((r) => r.runId));
    expect(runIds.size).toBe(1);
    for (const id of runIds) expect(containersWithLabel(`io.sandboxctl.run=${id}`)).toEqual([]);
  });
});

describe('the README\'s command, as written', () => {
  it('prints the same ledger on stdout as the host CLI, and leaves no container', async () => {
    const audit = path.join(work, 'stdout-audit');
    const composed = await compose(['--profile', 'strict', 'run', '--rm', 'sandboxctl', 'run', LEDGER], { SANDBOXCTL_AUDIT: audit });
    expect(composed.code, composed.stderr).toBe(0);
    const host = await runCli(['run', LEDGER], { env: { SANDBOXCTL_PROFILE: 'strict', SANDBOXCTL_PLUGINS_DIR: PLUGINS, SANDBOXCTL_AUDIT_LOG: path.join(work, 'stdout-host-audit.jsonl') } });
    expect(host.code, host.stderr).toBe(0);
    expect(composed.stdout).toBe(host.stdout);
    expect(composed.stdout).toContain('option "title" "Quickstart household"');
    expect(containersWithLabel(`com.docker.compose.project=${PROJECT}`)).toEqual([]);
    for (const id of new Set((await readAudit(path.join(audit, 'audit.jsonl'))).map((r) => r.runId))) expect(containersWithLabel(`io.sandboxctl.run=${id}`)).toEqual([]);
  });
});

describe('the other profiles of compose/compose.yaml', () => {
  it('standard: the sandboxctl-standard service plans under the standard ceiling', async () => {
    const r = await compose(['--profile', 'standard', 'run', '--rm', 'sandboxctl-standard', 'plan', '--json', '/etc/sandboxctl/plugins/acme.tag-large']);
    expect(r.code, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { plans: Array<{ decision: { ceilingProfile: string; kind: string } }> };
    expect(plan.plans[0]!.decision).toMatchObject({ kind: 'grant', ceilingProfile: 'standard' });
  });

  it('nightly: runs `sandboxctl batch` over the mounted ledgers into the outputs volume; the next night skips what did not change', async () => {
    const first = await compose(['--profile', 'nightly', 'run', '--rm', 'nightly']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^batch \S+: .*\b1 ok\b/m);
    const nightly = path.join(work, 'compose-out', 'nightly');
    const outputs = (await readdir(nightly, { recursive: true })).filter((f) => f.endsWith('.out.beancount'));
    expect(outputs).toHaveLength(1);
    expect(await readFile(path.join(nightly, outputs[0]!), 'utf8')).toContain('#large');
    expect((await readdir(path.join(nightly, 'reports'))).sort()).toEqual(['report.html', 'report.json']);
    const report = JSON.parse(await readFile(path.join(nightly, 'reports', 'report.json'), 'utf8')) as { ledgers: Array<{ status: string }> };
    expect(report.ledgers.map((l) => l.status)).toEqual(['ok']);
    const second = await compose(['--profile', 'nightly', 'run', '--rm', 'nightly']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/\b1 skipped\b/);
    expect(containersWithLabel(`com.docker.compose.project=${PROJECT}`)).toEqual([]);
  });

  it('refuses to start without the ledgers folder, naming the variable', async () => {
    const r = await dockerCompose(['-p', PROJECT, '-f', COMPOSE, '--profile', 'strict', 'config'], { env: { ...env, SANDBOXCTL_LEDGER_DIR: '' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('SANDBOXCTL_LEDGER_DIR');
  });
});
