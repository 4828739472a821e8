import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.js';
import { ALWAYS_DENIED, CLONE_NAMESPACE_FLAGS, allowsUnconditionally, checkSeccomp } from './seccomp.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const shipped = (name: string) => {
  const file = path.join(ROOT, 'seccomp', `${name}.json`);
  return checkSeccomp(readFileSync(file, 'utf8'), file);
};
const issues = (text: string) => {
  try {
    checkSeccomp(text, 'x.json');
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return (e as InvalidInputError).issues;
  }
  throw new Error('expected refusal');
};
const base = { defaultAction: 'SCMP_ACT_ERRNO', archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: [] }] };

describe('checkSeccomp', () => {
  it('refuses the empty profile that would silently disable seccomp', () => {
    expect(issues('{}').map((i) => i.path)).toEqual(expect.arrayContaining(['defaultAction', 'syscalls']));
    expect(issues('').map((i) => i.expected)).toEqual(['JSON']);
  });
  it('refuses an allowing or logging default', () => {
    for (const a of ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']) {
      expect(issues(JSON.stringify({ ...base, defaultAction: a, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }))).toEqual([
        expect.objectContaining({ path: 'defaultAction', message: expect.stringMatching(/an allowing default is no filter/) }),
      ]);
    }
  });
  it('refuses malformed entries, both architectures and archMap, and unknown keys', () => {
    const found = issues(
      JSON.stringify({
        ...base,
        architectures: ['SCMP_ARCH_X86_64'],
        syscalls: [{ names: [], action: 'SCMP_ACT_ALLOW' }, { name: 'read', action: 'ALLOW' }, { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 9, value: 1, op: 'EQ' }] }],
      }),
    ).map((i) => i.path);
    expect(found).toEqual(
      expect.arrayContaining(['syscalls.0.names', 'syscalls.1.names', 'syscalls.1.action', 'syscalls.1.name', 'syscalls.2.args.0.index', 'syscalls.2.args.0.op']),
    );
    expect(issues(JSON.stringify({ ...base, architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] })).map((i) => i.path)).toEqual(['archMap']);
  });
  it('refuses a profile allowing any always-denied syscall, or clone without the namespace mask, or clone3', () => {
    const allow = (names: string[], args?: unknown) => JSON.stringify({ ...base, syscalls: [{ names, action: 'SCMP_ACT_ALLOW', ...(args ? { args } : {}) }] });
    expect(issues(allow(['read', 'ptrace', 'unshare'])).map((i) => i.message)).toEqual([
      'ptrace must never be allowed in a plugin sandbox, found "ptrace"',
      'unshare must never be allowed in a plugin sandbox, found "unshare"',
    ]);
    expect(issues(allow(['clone']))[0]?.message).toMatch(/CLONE_NEW\* flags masked/);
    expect(issues(allow(['clone'], [{ index: 0, value: 0x20000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }]))[0]?.message).toMatch(/CLONE_NEW\* flags masked/);
    expect(issues(allow(['clone3']))[0]?.message).toMatch(/clone3 cannot be filtered/);
  });
  it('returns the exact body and a digest of it', () => {
    const c = checkSeccomp(JSON.stringify({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] }), 'x.json');
    expect(JSON.parse(c.body)).toEqual({ ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] });
    expect(c.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe.each(['strict', 'standard', 'permissive'])('seccomp/%s.json', (name) => {
  const c = shipped(name);
  it('denies by default with EPERM and uses archMap only', () => {
    expect(c.profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(c.profile.defaultErrnoRet).toBe(1);
    expect(c.profile.architectures).toBeUndefined();
    expect(c.profile.archMap?.map((a) => a.architecture)).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']);
    // no 32-bit sub-architectures: int 0x80 syscalls would bypass name-based rules
    expect(c.profile.archMap?.every((a) => a.subArchitectures.length === 0)).toBe(true);
  });
  it('is stricter than Docker\'s default: none of the always-denied syscalls, clone masked, clone3 failed', () => {
    for (const s of ALWAYS_DENIED) expect(c.profile.syscalls.some((r) => r.names.includes(s))).toBe(false);
    for (const s of ['memfd_create', 'mknod', 'mknodat', 'setuid', 'setgid', 'setgroups', 'capset', 'chown', 'fchown', 'seccomp', 'mlock', 'shmget', 'msgget', 'semget', 'setpriority', 'migrate_pages', 'move_pages', 'mbind', 'set_mempolicy', 'modify_ldt']) {
      expect(c.profile.syscalls.some((r) => r.names.includes(s)), s).toBe(false);
    }
    const clone = c.profile.syscalls.filter((r) => r.names.includes('clone'));
    expect(clone).toEqual([expect.objectContaining({ action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] })]);
    expect(c.profile.syscalls.filter((r) => r.names.includes('clone3'))).toEqual([expect.objectContaining({ action: 'SCMP_ACT_TRACE' })]);
  });
  it('allows socket() only per address family, never unconditionally', () => {
    expect(allowsUnconditionally(c.profile, 'socket')).toBe(false);
    const families = c.profile.syscalls.filter((r) => r.names.includes('socket')).map((r) => r.args?.[0]);
    const expected = { strict: [1], standard: [1, 2, 10], permissive: [1, 2, 10, 16] }[name]!;
    expect(families).toEqual(expected.map((v) => ({ index: 0, value: v, op: 'SCMP_CMP_EQ' })));
  });
});
