// Checks a Docker-format seccomp profile before it goes to the engine, and returns the
// exact body sent (the daemon takes the JSON body, not a path) with its digest. Pure.
// The engine silently runs WITHOUT seccomp when given `{}`, so an empty, permissive or
// malformed profile is refused here, never passed on.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { zodToFieldIssues } from '../manifest/yaml-issues.js';

/** Syscalls no sandboxctl profile may allow, whatever the admin writes. */
export const ALWAYS_DENIED = [
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'personality', 'keyctl', 'add_key', 'request_key',
  'bpf', 'userfaultfd', 'mount', 'umount', 'umount2', 'pivot_root', 'chroot', 'unshare', 'setns',
  'perf_event_open', 'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'init_module', 'finit_module',
  'delete_module', 'kexec_load', 'kexec_file_load', 'reboot', 'swapon', 'swapoff', 'open_by_handle_at',
  'name_to_handle_at', 'fsopen', 'fsmount', 'fsconfig', 'move_mount', 'open_tree', 'fspick', 'mount_setattr',
  'acct', 'quotactl', 'syslog', 'iopl', 'ioperm', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex',
  'sethostname', 'setdomainname', 'kcmp', 'pidfd_getfd', 'lookup_dcookie', 'vhangup', 'uselib', 'nfsservctl',
] as const;

// CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET
export const CLONE_NAMESPACE_FLAGS = 0x7e020000;

const DENY_ACTIONS = ['SCMP_ACT_ERRNO', 'SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_TRAP'] as const;
const ALLOWING = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);
const ARCH = z.string().regex(/^SCMP_ARCH_[A-Z0-9_]+$/, { error: 'expected an architecture such as SCMP_ARCH_X86_64' });

const argSchema = z.strictObject({
  index: z.number().int().min(0).max(5),
  value: z.number().int().min(0),
  valueTwo: z.number().int().min(0).optional(),
  op: z.enum(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']),
});

const syscallSchema = z.strictObject({
  names: z.array(z.string().regex(/^[a-z0-9_]+$/, { error: 'expected a syscall name' })).min(1),
  action: z.enum([...DENY_ACTIONS, 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']),
  errnoRet: z.number().int().min(1).max(4095).optional(),
  args: z.array(argSchema).max(6).optional(),
  comment: z.string().optional(),
  includes: z.record(z.string(), z.unknown()).optional(),
  excludes: z.record(z.string(), z.unknown()).optional(),
});

export const seccompSchema = z
  .strictObject({
    comment: z.string().optional(),
    defaultAction: z.enum(DENY_ACTIONS, { error: 'expected a denying defaultAction (SCMP_ACT_ERRNO or a kill); an allowing default is no filter' }),
    defaultErrnoRet: z.number().int().min(1).max(4095).optional(),
    architectures: z.array(ARCH).min(1).optional(),
    archMap: z.array(z.strictObject({ architecture: ARCH, subArchitectures: z.array(ARCH) })).min(1).optional(),
    syscalls: z.array(syscallSchema).min(1, { error: 'expected at least one syscall rule' }),
  })
  .superRefine((p, ctx) => {
    if (p.architectures && p.archMap) ctx.addIssue({ code: 'custom', path: ['archMap'], input: 'both', message: 'give architectures or archMap, not both' });
    if (!p.architectures && !p.archMap) ctx.addIssue({ code: 'custom', path: ['archMap'], input: undefined, message: 'expected architectures or archMap' });
    p.syscalls.forEach((rule, i) => {
      if (!ALLOWING.has(rule.action)) return;
      for (const name of rule.names) {
        if ((ALWAYS_DENIED as readonly string[]).includes(name)) {
          ctx.addIssue({ code: 'custom', path: ['syscalls', i, 'names'], input: name, message: `${name} must never be allowed in a plugin sandbox` });
        }
        // clone may only be allowed with every namespace flag masked out
        const masked = rule.args?.some((a) => a.index === 0 && a.op === 'SCMP_CMP_MASKED_EQ' && (a.value & CLONE_NAMESPACE_FLAGS) === CLONE_NAMESPACE_FLAGS && a.valueTwo === 0);
        if (name === 'clone' && !masked) {
          ctx.addIssue({ code: 'custom', path: ['syscalls', i, 'args'], input: rule.args, message: 'clone must be allowed only with CLONE_NEW* flags masked to 0 (SCMP_CMP_MASKED_EQ on arg 0)' });
        }
        if (name === 'clone3') {
          ctx.addIssue({ code: 'custom', path: ['syscalls', i, 'names'], input: name, message: 'clone3 cannot be filtered by flags; fail it (SCMP_ACT_TRACE gives ENOSYS) so libc falls back to clone' });
        }
      }
    });
  });

export type SeccompProfile = z.output<typeof seccompSchema>;

export interface CheckedSeccomp {
  /** The file it came from (for messages and the audit). */
  source: string;
  /** The exact JSON sent to the engine in `seccomp=<body>`. */
  body: string;
  /** sha256:<hex> of body. */
  digest: string;
  profile: SeccompProfile;
}

export function checkSeccomp(text: string, source: string): CheckedSeccomp {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new InvalidInputError(source, [{ path: '', expected: 'JSON', found: 'unparseable text', message: (cause as Error).message }], { cause });
  }
  const r = seccompSchema.safeParse(raw, { reportInput: true });
  if (!r.success) {
    throw new InvalidInputError(source, zodToFieldIssues(r.error.issues), {
      cause: r.error,
      hint: 'a seccomp profile must deny by default and list what it allows; an empty profile would silently turn seccomp off',
    });
  }
  const body = JSON.stringify(r.data);
  return { source, body, digest: `sha256:${createHash('sha256').update(body).digest('hex')}`, profile: r.data };
}

/** Whether a rule set allows `name` with no argument conditions (for reports and tests). */
export function allowsUnconditionally(p: SeccompProfile, name: string): boolean {
  return p.syscalls.some((s) => ALLOWING.has(s.action) && s.names.includes(name) && !s.args?.length);
}
