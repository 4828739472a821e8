import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, shippedProfile } from '../../test/fixtures/policy-fixtures.js';

const FILE = path.join(ROOT, 'profiles', 'apparmor', 'sandboxctl-plugin');
const text = readFileSync(FILE, 'utf8');

function parserPresent(): boolean {
  try {
    execFileSync('apparmor_parser', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('profiles/apparmor/sandboxctl-plugin', () => {
  it('is the profile every shipped admin profile names', () => {
    expect(text).toMatch(/^profile sandboxctl-plugin flags=/m);
    for (const p of ['strict', 'standard', 'permissive'] as const) expect(shippedProfile(p).apparmorProfile).toBe('sandboxctl-plugin');
  });

  it('denies what docker-default allows and plugins never need', () => {
    for (const rule of ['deny capability,', 'deny mount,', 'deny umount,', 'deny pivot_root,', 'deny ptrace,', 'deny network raw,', 'deny network packet,', 'deny /ledger/** wlk,', 'deny /scratch/** x,', 'deny @{PROC}/sysrq-trigger rwklx,']) {
      expect(text).toContain(rule);
    }
  });

  it.runIf(parserPresent())('parses with apparmor_parser (without loading it into a kernel)', () => {
    expect(() => execFileSync('apparmor_parser', ['-Q', '-K', FILE], { stdio: 'pipe' })).not.toThrow();
  });
});
