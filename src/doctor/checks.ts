import type { EngineInfo } from '../engine/types.js';
import type { ImageStatus } from '../images/build.js';

// Pure: the facts doctor gathered -> a verdict per check, each problem with a one-line fix.

export type CheckStatus = 'ok' | 'warn' | 'fail';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface RuntimeProbe {
  runtime: string;
  starts: boolean;
  detail: string;
}

export interface DoctorFacts {
  engine: { reachable: true; info: EngineInfo } | { reachable: false; error: string };
  hostAppArmor: boolean;
  /** Whether the kernel has our plugin profile loaded (only known where AppArmor is enabled). */
  apparmorProfileLoaded: boolean;
  probes: RuntimeProbe[];
  images: ImageStatus[];
  disk: { path: string; freeBytes: number } | undefined;
}

export const MIN_FREE_BYTES = 2 * 1024 ** 3;
const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;

export function evaluate(f: DoctorFacts): Check[] {
  if (!f.engine.reachable) {
    return [
      {
        name: 'engine',
        status: 'fail',
        detail: `no Docker engine answers: ${f.engine.error}`,
        fix: 'run `bash scripts/engine-up.sh` as root, or point DOCKER_HOST at a running engine',
      },
    ];
  }
  const info = f.engine.info;
  const checks: Check[] = [
    { name: 'engine', status: 'ok', detail: `Docker ${info.serverVersion}, API ${info.apiVersion} (${info.os}, kernel ${info.kernelVersion})` },
    {
      name: 'api-version',
      status: info.apiVersion >= '1.41' ? 'ok' : 'fail',
      detail: `server API ${info.apiVersion}; sandboxctl speaks 1.41`,
      ...(info.apiVersion >= '1.41' ? {} : { fix: 'upgrade the engine to Docker 20.10 or later' }),
    },
    { name: 'cgroup', status: 'ok', detail: `cgroup v${info.cgroupVersion} (${info.cgroupDriver} driver)` },
    info.seccomp
      ? { name: 'seccomp', status: 'ok', detail: 'the engine applies seccomp profiles' }
      : { name: 'seccomp', status: 'fail', detail: 'the engine does not support seccomp', fix: 'use a kernel and engine built with seccomp (libseccomp)' },
    !(f.hostAppArmor && info.apparmor)
      ? {
          name: 'apparmor',
          status: 'warn',
          detail: 'AppArmor is absent on this host, so profiles/apparmor/sandboxctl-plugin cannot be applied: profiles with apparmor "if-available" run without it, "required" ones refuse to run',
          fix: 'enable AppArmor in the kernel (apparmor=1 security=apparmor) if your policy requires it',
        }
      : f.apparmorProfileLoaded
        ? { name: 'apparmor', status: 'ok', detail: 'AppArmor is enabled and the sandboxctl-plugin profile is loaded: plugin containers get it' }
        : {
            name: 'apparmor',
            status: 'warn',
            detail: 'AppArmor is enabled but the sandboxctl-plugin profile is not loaded: plugins whose profile asks for AppArmor would fail to start',
            fix: 'load it: apparmor_parser -r profiles/apparmor/sandboxctl-plugin',
          },
  ];
  for (const rt of ['runc', 'runsc']) {
    const registered = info.runtimes.includes(rt);
    const probe = f.probes.find((p) => p.runtime === rt);
    const required = rt === 'runc';
    if (!registered) {
      checks.push({
        name: `runtime-${rt}`,
        status: required ? 'fail' : 'warn',
        detail: `${rt} is not registered with the engine`,
        fix: rt === 'runsc' ? 'run `bash scripts/engine-up.sh` (registers runsc with --platform=ptrace --network=none --oci-seccomp)' : 'reinstall the engine',
      });
    } else if (!probe) {
      checks.push({ name: `runtime-${rt}`, status: 'warn', detail: `${rt} is registered; not probed (no base image yet)`, fix: 'run `sandboxctl images build`' });
    } else if (probe.starts) {
      checks.push({ name: `runtime-${rt}`, status: 'ok', detail: `${rt} is registered and starts a container (${probe.detail})` });
    } else {
      checks.push({
        name: `runtime-${rt}`,
        status: required ? 'fail' : 'warn',
        detail: `${rt} is registered but did not start a container: ${probe.detail}`,
        fix: rt === 'runsc' ? 'check /etc/docker/daemon.json runtimeArgs (--platform=ptrace --network=none --oci-seccomp), then SIGHUP dockerd' : 'check the engine log',
      });
    }
  }
  for (const img of f.images) {
    checks.push(
      img.present
        ? { name: `image-${img.name}`, status: 'ok', detail: `${img.tag} is current${img.stale.length ? ` (${img.stale.length} stale image(s) can go: sandboxctl gc --images)` : ''}` }
        : { name: `image-${img.name}`, status: 'fail', detail: `${img.tag} is not built${img.stale.length ? ` (${img.stale.length} older one(s) present: inputs changed)` : ''}`, fix: 'run `sandboxctl images build`' },
    );
  }
  if (f.disk) {
    const ok = f.disk.freeBytes >= MIN_FREE_BYTES;
    checks.push({
      name: 'disk',
      status: ok ? 'ok' : 'fail',
      detail: `${gib(f.disk.freeBytes)} free under ${f.disk.path}`,
      ...(ok ? {} : { fix: `free at least ${gib(MIN_FREE_BYTES)} under ${f.disk.path} (sandboxctl gc --images removes stale images)` }),
    });
  }
  return checks;
}

export function renderChecks(checks: Check[]): string {
  const mark = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' } as const;
  const lines = checks.map((c) => `[${mark[c.status]}] ${c.name.padEnd(22)} ${c.detail}${c.fix ? `\n       fix: ${c.fix}` : ''}`);
  const failed = checks.filter((c) => c.status === 'fail').length;
  lines.push(failed ? `${failed} problem(s) must be fixed before plugins can run` : 'ready: plugins can run');
  return lines.join('\n');
}
