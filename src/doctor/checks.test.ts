import { describe, expect, it } from 'vitest';
import { evaluate, type DoctorFacts } from './checks.js';

const info = {
  serverVersion: '20.10.24', apiVersion: '1.41', minApiVersion: '1.12', os: 'Debian', kernelVersion: '6',
  cgroupVersion: '1', cgroupDriver: 'cgroupfs', storageDriver: 'overlay2', securityOptions: ['name=seccomp,profile=default'],
  seccomp: true, apparmor: false, runtimes: ['io.containerd.runc.v2', 'runc', 'runsc'], defaultRuntime: 'runc', rootDir: '/var/lib/docker',
};
const facts = (over: Partial<DoctorFacts> = {}): DoctorFacts => ({
  engine: { reachable: true, info },
  hostAppArmor: false,
  apparmorProfileLoaded: false,
  probes: [{ runtime: 'runc', starts: true, detail: '1 ms' }, { runtime: 'runsc', starts: true, detail: '2 ms' }],
  images: [{ name: 'base', tag: 'b', present: true, id: 'x', stale: [] }],
  disk: { path: '/var/lib/docker', freeBytes: 50 * 1024 ** 3 },
  ...over,
});

describe('doctor checks', () => {
  it('passes a ready host, reporting absent AppArmor as a warning', () => {
    const c = evaluate(facts());
    expect(c.filter((x) => x.status === 'fail')).toEqual([]);
    expect(c.find((x) => x.name === 'apparmor')?.status).toBe('warn');
  });
  it('fails with a fix for each missing required thing', () => {
    const c = evaluate(facts({
      images: [{ name: 'python-runner', tag: 't', present: false, stale: [] }],
      probes: [{ runtime: 'runc', starts: false, detail: 'exit 1' }],
      disk: { path: '/', freeBytes: 10 },
    }));
    const failed = c.filter((x) => x.status === 'fail').map((x) => x.name);
    expect(failed).toEqual(['runtime-runc', 'image-python-runner', 'disk']);
    for (const x of c.filter((x) => x.status === 'fail')) expect(x.fix).toBeTruthy();
  });
  it('says whether our AppArmor profile can be applied', () => {
    const on = { ...info, apparmor: true };
    expect(evaluate(facts()).find((x) => x.name === 'apparmor')?.detail).toMatch(/cannot be applied/);
    const notLoaded = evaluate(facts({ hostAppArmor: true, engine: { reachable: true, info: on } })).find((x) => x.name === 'apparmor');
    expect(notLoaded).toMatchObject({ status: 'warn', fix: expect.stringMatching(/apparmor_parser -r/) });
    const loaded = evaluate(facts({ hostAppArmor: true, apparmorProfileLoaded: true, engine: { reachable: true, info: on } })).find((x) => x.name === 'apparmor');
    expect(loaded?.status).toBe('ok');
  });
  it('reports an unreachable engine as the only check', () => {
    const c = evaluate(facts({ engine: { reachable: false, error: 'ENOENT' } }));
    expect(c).toHaveLength(1);
    expect(c[0]).toMatchObject({ name: 'engine', status: 'fail' });
  });
  it('treats a missing runsc as a warning, a missing runc as a failure', () => {
    const c = evaluate(facts({ engine: { reachable: true, info: { ...info, runtimes: [] } }, probes: [] }));
    expect(c.find((x) => x.name === 'runtime-runsc')?.status).toBe('warn');
    expect(c.find((x) => x.name === 'runtime-runc')?.status).toBe('fail');
  });
});
