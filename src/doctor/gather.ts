import { access, readFile, statfs } from 'node:fs/promises';
import type { Engine } from '../engine/engine.js';
import { SandboxctlError } from '../errors.js';
import { imageStatus } from '../images/build.js';
import { ourLabels } from '../labels.js';
import type { DoctorFacts, RuntimeProbe } from './checks.js';

/** Starts a throwaway container on a runtime to see that it really runs something. */
export async function probeRuntime(engine: Engine, image: string, runtime: string, runId: string): Promise<RuntimeProbe> {
  const t0 = Date.now();
  let handle;
  try {
    handle = await engine.createContainer({
      Image: image,
      Cmd: ['/bin/sh', '-c', 'exit 0'],
      Labels: ourLabels('probe', runId, { 'io.sandboxctl.runtime': runtime }),
      NetworkDisabled: true,
      HostConfig: { NetworkMode: 'none', Runtime: runtime, ReadonlyRootfs: true, CapDrop: ['ALL'], SecurityOpt: ['no-new-privileges'], LogConfig: { Type: 'none' } },
    });
    await handle.start();
    const { exitCode } = await handle.wait();
    return { runtime, starts: exitCode === 0, detail: exitCode === 0 ? `${Date.now() - t0} ms` : `exit ${exitCode}` };
  } catch (err) {
    return { runtime, starts: false, detail: (err as Error).message.split('\n')[0] ?? 'failed' };
  } finally {
    await handle?.remove();
  }
}

export async function hostHasAppArmor(): Promise<boolean> {
  try {
    await access('/sys/kernel/security/apparmor');
    return true;
  } catch {
    return false;
  }
}

/** Whether the kernel lists our plugin profile among its loaded AppArmor profiles. */
export async function apparmorProfileLoaded(name = 'sandboxctl-plugin'): Promise<boolean> {
  const list = await readFile('/sys/kernel/security/apparmor/profiles', 'utf8').catch(() => '');
  return list.split('\n').some((l) => l.split(' ')[0] === name);
}

export async function gatherFacts(engine: Engine, root: string, runId: string): Promise<DoctorFacts> {
  const hostAppArmor = await hostHasAppArmor();
  const profileLoaded = hostAppArmor && (await apparmorProfileLoaded());
  let info;
  try {
    info = await engine.info();
  } catch (err) {
    const msg = err instanceof SandboxctlError ? err.message : String((err as Error).message ?? err);
    return { engine: { reachable: false, error: msg }, hostAppArmor, apparmorProfileLoaded: profileLoaded, probes: [], images: [], disk: undefined };
  }
  const images = await imageStatus(engine, { root });
  const base = images.find((i) => i.name === 'base');
  const probes: RuntimeProbe[] = [];
  if (base?.present) {
    for (const rt of ['runc', 'runsc'].filter((r) => info.runtimes.includes(r))) {
      probes.push(await probeRuntime(engine, base.tag, rt, runId));
    }
  }
  let disk;
  try {
    const s = await statfs(info.rootDir);
    disk = { path: info.rootDir, freeBytes: s.bavail * s.bsize };
  } catch {
    // the engine's root dir is not on this host (remote DOCKER_HOST): no disk figure
  }
  return { engine: { reachable: true, info }, hostAppArmor, apparmorProfileLoaded: profileLoaded, probes, images, disk };
}
