import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8' }).trim();
}

describe('sandboxctl doctor --json', () => {
  it('reports the engine, runtimes and images as the engine itself does', async () => {
    const res = await runCli(['doctor', '--json']);
    const report = JSON.parse(res.stdout);
    const info = report.facts.engine.info;

    expect(info.serverVersion).toBe(docker('version', '--format', '{{.Server.Version}}'));
    expect(info.apiVersion).toBe(docker('version', '--format', '{{.Server.APIVersion}}'));
    expect(info.cgroupVersion).toBe(docker('info', '--format', '{{.CgroupVersion}}'));
    const runtimes = Object.keys(JSON.parse(docker('info', '--format', '{{json .Runtimes}}'))).sort();
    expect(info.runtimes).toEqual(runtimes);
    const secopts: string[] = JSON.parse(docker('info', '--format', '{{json .SecurityOptions}}'));
    expect(info.seccomp).toBe(secopts.some((o) => o.includes('seccomp')));
    expect(info.apparmor).toBe(secopts.some((o) => o.includes('apparmor')));

    // each image doctor calls current is one the engine has, under that exact tag and id
    for (const img of report.facts.images) {
      const inspected = (() => {
        try {
          return docker('image', 'inspect', '--format', '{{.Id}}', img.tag);
        } catch {
          return undefined;
        }
      })();
      expect(img.present, img.tag).toBe(inspected !== undefined);
      if (img.present) expect(img.id).toBe(inspected);
    }

    // every registered runtime was really started; runc must work here
    for (const rt of runtimes.filter((r) => r === 'runc' || r === 'runsc')) {
      const probe = report.facts.probes.find((p: { runtime: string }) => p.runtime === rt);
      expect(probe, rt).toBeDefined();
      expect(probe.starts, `${rt}: ${probe.detail}`).toBe(true);
    }
    const apparmorCheck = report.checks.find((c: { name: string }) => c.name === 'apparmor');
    expect(apparmorCheck.status).toBe(info.apparmor ? 'ok' : 'warn');
    expect(res.code).toBe(report.ok ? 0 : 7);
  });

  it('says the engine is unavailable, with a fix, when nothing answers', async () => {
    const res = await runCli(['doctor', '--json'], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(res.code).toBe(5);
    const report = JSON.parse(res.stdout);
    expect(report.checks[0]).toMatchObject({ name: 'engine', status: 'fail' });
    expect(report.checks[0].fix).toMatch(/engine-up\.sh/);
  });
});
