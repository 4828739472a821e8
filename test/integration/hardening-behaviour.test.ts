// Behaviour inside the sandbox, for each shipped profile on runc and on gVisor (runsc):
// one container per pair runs the static probe (hardening/probe.c), which tries every
// forbidden thing, prints what happened as one JSON line (through attach: the log driver
// is `none`), then allocates memory until the cap kills it. A control run without our
// seccomp profile shows the kernel would have answered differently, i.e. the filter did it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerEngine } from '../../src/engine/docker-engine.js';
import type { CreateContainerBody, ImageInfo } from '../../src/engine/engine.js';
import { newRunId } from '../../src/ids.js';
import { Labels } from '../../src/labels.js';
import type { HostFacts } from '../../src/policy/grant.js';
import { hostFacts } from '../../src/policy/host-facts.js';
import { buildProbeImage } from './hardening/images.js';
import { removeWorkDir } from './helpers/work-dir.js';
import { ASKS, PROFILES, specFor, writableLedgerDir, type ProfileName } from './hardening/spec-for.js';

const engine = createDockerEngine();
const runId = `test-${newRunId()}`;
const RUNTIMES = ['runc', 'runsc'] as const;
let host: HostFacts;
let probe: ImageInfo;
let ledgerDir: string;

/** Syscalls our profiles block, with the errno each must fail with under both runtimes. */
const BLOCKED: Record<string, string> = {
  sys_ptrace: 'EPERM',
  sys_personality: 'EPERM',
  sys_keyctl: 'EPERM',
  sys_add_key: 'EPERM',
  sys_request_key: 'EPERM',
  sys_bpf: 'EPERM',
  sys_userfaultfd: 'EPERM',
  sys_mount: 'EPERM',
  sys_umount2: 'EPERM',
  sys_unshare: 'EPERM',
  sys_setns: 'EPERM',
  sys_perf_event_open: 'EPERM',
  sys_io_uring_setup: 'EPERM',
  sys_io_uring_enter: 'EPERM',
  sys_io_uring_register: 'EPERM',
  sys_process_vm_readv: 'EPERM',
  sys_memfd_create: 'EPERM',
  sys_chroot: 'EPERM',
  sys_pivot_root: 'EPERM',
  sys_kcmp: 'EPERM',
  sys_syslog: 'EPERM',
  sys_acct: 'EPERM',
  sys_mknod: 'EPERM',
  sys_setuid: 'EPERM',
  sys_modify_ldt: 'EPERM',
  sys_clone_newuser: 'EPERM',
  // clone3's flags are out of a filter's reach: it fails with ENOSYS so libc falls back to (filtered) clone
  sys_clone3: 'ENOSYS',
};

/** Without our filter these answer something other than EPERM (measured): so EPERM above is the filter's. */
const FILTER_PROVEN: Record<(typeof RUNTIMES)[number], string[]> = {
  runc: ['sys_ptrace', 'sys_personality', 'sys_keyctl', 'sys_add_key', 'sys_userfaultfd', 'sys_unshare', 'sys_setns', 'sys_perf_event_open', 'sys_io_uring_setup', 'sys_process_vm_readv', 'sys_memfd_create', 'sys_kcmp', 'sys_mknod', 'sys_setuid', 'sys_modify_ldt', 'sys_clone_newuser', 'sys_clone3'],
  runsc: ['sys_ptrace', 'sys_personality', 'sys_keyctl', 'sys_unshare', 'sys_setns', 'sys_io_uring_setup', 'sys_memfd_create', 'sys_mknod', 'sys_setuid', 'sys_clone_newuser'],
};

interface Outcome {
  report: Record<string, string | number>;
  tail: string;
  exitCode: number;
  oomKilled: boolean;
}

async function runProbe(body: CreateContainerBody): Promise<Outcome> {
  const handle = await engine.createContainer(body);
  try {
    const streams = await handle.attach();
    let out = '';
    streams.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const ended = new Promise<void>((res, rej) => {
      streams.stdout.on('end', res);
      streams.stdout.on('error', rej);
    });
    streams.stderr.resume();
    await handle.start();
    streams.stdin.end();
    const { exitCode } = await handle.wait();
    await ended;
    const state = await handle.inspect();
    const [first, ...rest] = out.trim().split('\n');
    return { report: JSON.parse(first ?? '{}'), tail: rest.join('\n'), exitCode, oomKilled: state.oomKilled };
  } finally {
    await handle.remove();
  }
}

beforeAll(async () => {
  host = (await hostFacts(engine)).facts;
  if (!host.runtimes.includes('runsc')) throw new Error('this machine registers runsc (see MACHINE.md); it is missing');
  probe = await buildProbeImage(engine, runId);
  ledgerDir = await writableLedgerDir();
});

afterAll(async () => {
  for (const c of await engine.listContainers({ [Labels.run]: runId })) await engine.removeContainer(c.id);
  if (probe) await engine.removeImage(probe.id);
  if (ledgerDir) await removeWorkDir(ledgerDir);
});

const pidsOf = (p: ProfileName) => ASKS[p].resources!.pids!;

describe.each(PROFILES.flatMap((p) => RUNTIMES.map((r) => [p, r] as const)))('profile %s on %s', (profile, runtime) => {
  let o: Outcome;
  beforeAll(async () => {
    const ledger = profile === 'strict' ? undefined : ledgerDir;
    // the probe also tries the ledger directory's host path, granted or not
    const spec = await specFor({ profile, runtime, host, image: probe.id, runId, ledgerDir: ledger, command: ['probe', 'mem', ledgerDir] });
    expect(spec.body.HostConfig.Runtime).toBe(runtime);
    expect(spec.applied.ledgerMounts).toEqual(profile === 'strict' ? [] : ['/ledger', ledgerDir]);
    o = await runProbe(spec.body);
  });

  it('runs the plugin as non-root with no capabilities, under seccomp', () => {
    expect(o.report).toMatchObject({ uid: 65532, euid: 65532, gid: 65532, cap_eff: '0000000000000000', cap_prm: '0000000000000000', cap_bnd: '0000000000000000', seccomp_mode: '2' });
    // gVisor does not show NoNewPrivs in /proc/self/status; runc must
    if (runtime === 'runc') expect(o.report.no_new_privs).toBe('1');
  });

  it('cannot write to the root filesystem, /tmp, /dev/shm or /etc/hosts', () => {
    for (const k of ['write_rootfs', 'write_tmp', 'write_dev_shm', 'write_etc_hosts']) expect([k, o.report[k]]).toEqual([k, expect.stringMatching(/^(EROFS|EACCES)$/)]);
    // a world-writable directory of the image: only the read-only root refuses the write
    expect(o.report.write_var_tmp).toBe('EROFS');
  });

  it('reads the ledger only when granted, and can never write to it', () => {
    if (profile === 'strict') {
      expect(o.report.read_ledger).toBe('ENOENT');
    } else {
      expect(o.report.read_ledger).toBe('ok');
      // the files are world-writable on the host: only the read-only mount stops these
      expect(o.report.write_ledger_existing).toBe('EROFS');
      expect(o.report.write_ledger_new).toBe('EROFS');
    }
  });

  it('sees the ledger at its own host path only when granted, and can never write to it there either', () => {
    if (profile === 'strict') {
      // not mounted: the path does not exist in the container
      expect(o.report).toMatchObject({ read_ledger_host: 'ENOENT', write_ledger_host_new: 'ENOENT', write_ledger_host_existing: 'ENOENT' });
    } else {
      expect(o.report.read_ledger_host).toBe('ok');
      expect(o.report.write_ledger_host_existing).toBe('EROFS');
      expect(o.report.write_ledger_host_new).toBe('EROFS');
    }
  });

  it('writes to its scratch tmpfs but cannot execute from it', () => {
    expect(o.report.write_scratch).toBe('ok');
    expect(o.report.exec_scratch).toBe('EACCES');
  });

  it('has no network: no interface but lo, and connecting outside fails', () => {
    expect(o.report.interfaces_besides_lo).toBe(0);
    for (const k of ['tcp4_connect', 'udp4_connect', 'tcp6_connect']) expect([k, o.report[k]]).toEqual([k, expect.not.stringMatching(/^(ok|ETIMEDOUT)$/)]);
    if (profile === 'strict') {
      // strict: socket() only for AF_UNIX
      expect(o.report).toMatchObject({ tcp4_socket: 'EPERM', udp4_socket: 'EPERM', tcp6_socket: 'EPERM', netlink_socket: 'EPERM', unix_socket: 'ok' });
    }
    expect(o.report.packet_socket).toBe('EPERM');
    expect(o.report.netlink_socket).toBe(profile === 'permissive' ? 'ok' : 'EPERM');
  });

  it('fails every blocked syscall with EPERM (clone3: ENOSYS), and still forks', () => {
    for (const [k, errno] of Object.entries(BLOCKED)) expect([k, o.report[k]]).toEqual([k, errno]);
    expect(o.report.fork).toBe('ok');
  });

  it('holds a fork bomb at the pids cap', () => {
    expect(o.report.fork_stop).toBe('EAGAIN');
    expect(o.report.fork_children).toBeLessThan(pidsOf(profile));
    expect(o.report.fork_children).toBeGreaterThan(pidsOf(profile) - 8);
  });

  it('is OOM-killed past its memory cap, and the engine reports it', () => {
    expect(o.tail).not.toMatch(/survived/);
    expect(o.exitCode).toBe(137);
    expect(o.oomKilled).toBe(true);
  });
});

describe.each(RUNTIMES)('control on %s: the same container without our seccomp profile', (runtime) => {
  it('answers the blocked syscalls differently, so the EPERMs above are the filter', async () => {
    const spec = await specFor({ profile: 'strict', runtime, host, image: probe.id, runId, command: ['probe', 'nomem'] });
    const body = structuredClone(spec.body);
    body.HostConfig.SecurityOpt = body.HostConfig.SecurityOpt!.map((s) => (s.startsWith('seccomp=') ? 'seccomp=unconfined' : s));
    const o = await runProbe(body);
    expect(o.report.seccomp_mode).toBe('0');
    for (const k of FILTER_PROVEN[runtime]) expect([k, o.report[k]]).toEqual([k, expect.not.stringMatching(/^EPERM$/)]);
    // and AF_INET sockets open (they only fail to connect: no network)
    expect(o.report.tcp4_socket).toBe('ok');
  });
});
