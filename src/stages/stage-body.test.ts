import { describe, expect, it } from 'vitest';
import { checkSeccomp } from '../policy/seccomp.js';
import { stageBody } from './stage-body.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const seccomp = checkSeccomp(readFileSync(path.join(__dirname, '..', '..', 'seccomp', 'strict.json'), 'utf8'), 'strict.json');
const base = { imageId: 'sha256:' + 'a'.repeat(64), cmd: ['load', '--ledger', '/ledger/main.beancount'], kind: 'loader' as const, runId: 'r1', memoryBytes: 2 ** 30, timeoutMs: 60_000, seccomp, apparmor: false };

describe('trusted stage containers', () => {
  it('are confined like plugins: no network, read-only root, no capabilities, our seccomp, non-root, caps', () => {
    const b = stageBody({ ...base, ledgerDir: '/home/alice/ledgers', user: '1000:1000' });
    const h = b.HostConfig;
    expect(h.NetworkMode).toBe('none');
    expect(h.ReadonlyRootfs).toBe(true);
    expect(h.CapDrop).toEqual(['ALL']);
    expect(h.CapAdd ?? []).toEqual([]);
    expect(h.Privileged).toBe(false);
    expect(h.SecurityOpt).toContain('no-new-privileges');
    expect(h.SecurityOpt).toContain(`seccomp=${seccomp.body}`);
    expect(h.Memory).toBe(2 ** 30);
    expect(h.MemorySwap).toBe(2 ** 30);
    expect(h.PidsLimit).toBeGreaterThan(0);
    expect(h.Mounts).toEqual([{ Type: 'bind', Source: '/home/alice/ledgers', Target: '/ledger', ReadOnly: true, BindOptions: { Propagation: 'rprivate' } }]);
    expect(b.User).toBe('1000:1000');
    expect(b.Labels?.['io.sandboxctl.kind']).toBe('loader');
  });

  it('mount nothing from the host unless given the ledger directory, and never run as root', () => {
    expect(stageBody(base).HostConfig.Mounts).toEqual([]);
    expect(stageBody(base).User).toBe('65532:65532');
    expect(() => stageBody({ ...base, user: '0:0' })).toThrow();
  });
});
