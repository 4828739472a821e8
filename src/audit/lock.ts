import fs from 'node:fs/promises';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { AuditWriteError } from '../errors.js';

export interface LockOptions {
  /** How long to wait for another writer before giving up. @default 10000 */
  timeoutMs?: number;
  /** A lock from another host older than this is taken to be abandoned. @default 60000 */
  staleMs?: number;
}

interface LockInfo {
  pid: number;
  host: string;
  since: string;
  token: string;
}

/**
 * Cross-process exclusive lock: a `<log>.lock` file created atomically with link(2), so it
 * never exists without its owner's pid/host inside. A lock whose process is gone (same host)
 * or that is older than staleMs (another host sharing the file system) is broken.
 */
export async function acquireLock(lockPath: string, opts: LockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const staleMs = opts.staleMs ?? 60_000;
  const host = os.hostname();
  const info: LockInfo = { pid: process.pid, host, since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const tmp = `${lockPath}.${info.token}.tmp`;
  const started = Date.now();
  try {
    await fs.writeFile(tmp, JSON.stringify(info), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    // a full disk can take the file and refuse its bytes: leave nothing behind
    await fs.unlink(tmp).catch(() => undefined);
    throw lockError(lockPath, `cannot create the lock file next to the log: ${(err as Error).message}`, err);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.link(tmp, lockPath);
        // the lock's age, seen from other hosts, counts from now, not from when we started waiting
        const now = new Date();
        await fs.utimes(lockPath, now, now).catch(() => undefined);
        return async () => {
          // remove the lock only while it is still ours (a stale-breaker may have replaced it)
          const now = await readLock(lockPath);
          if (now?.info?.token === info.token) await fs.unlink(lockPath).catch(() => undefined);
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw lockError(lockPath, `cannot take the lock: ${(err as Error).message}`, err);
        }
      }
      const held = await readLock(lockPath);
      if (held && isStale(held, host, staleMs)) {
        await breakStale(lockPath, held.ino);
        continue;
      }
      if (Date.now() - started > timeoutMs) {
        const who = held?.info ? `pid ${held.info.pid} on ${held.info.host} since ${held.info.since}` : 'an unknown process';
        throw new AuditWriteError(`timed out after ${timeoutMs} ms waiting for the audit log lock ${lockPath}, held by ${who}`, {
          hint: `another sandboxctl is writing the audit log; if none is running, remove ${lockPath}`,
          details: { lockPath, holder: held?.info ?? null },
        });
      }
      // jittered back-off: writers hold the lock for a few milliseconds
      await new Promise((r) => setTimeout(r, 2 + Math.random() * Math.min(50, 5 + attempt)));
    }
  } finally {
    await fs.unlink(tmp).catch(() => undefined);
  }
}

async function readLock(lockPath: string): Promise<{ info: LockInfo | null; ino: number; mtimeMs: number } | null> {
  try {
    const st = await fs.stat(lockPath);
    const text = await fs.readFile(lockPath, 'utf8');
    let info: LockInfo | null = null;
    try {
      const v = JSON.parse(text) as Partial<LockInfo>;
      if (typeof v.pid === 'number' && typeof v.host === 'string') info = v as LockInfo;
    } catch {
      // unreadable content: judged by age alone
    }
    return { info, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch {
    return null; // released between our attempt and the read
  }
}

function isStale(held: { info: LockInfo | null; mtimeMs: number }, host: string, staleMs: number): boolean {
  if (held.info && held.info.host === host) return !pidAlive(held.info.pid);
  return Date.now() - held.mtimeMs > staleMs;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Move the stale lock aside and delete it only if it is the same file we judged stale;
// a lock another process created in the meantime is put back.
async function breakStale(lockPath: string, ino: number): Promise<void> {
  const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return; // someone else broke it first
  }
  const st = await fs.stat(aside).catch(() => null);
  if (st && st.ino !== ino) await fs.link(aside, lockPath).catch(() => undefined);
  await fs.unlink(aside).catch(() => undefined);
}

function lockError(lockPath: string, what: string, cause: unknown): AuditWriteError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  return new AuditWriteError(`audit log lock ${lockPath}: ${what}`, {
    cause,
    hint:
      code === 'ENOSPC'
        ? 'the disk holding the audit log is full; free space and run again'
        : 'the directory holding the audit log must be writable by this user; choose another with --audit-log or SANDBOXCTL_AUDIT_LOG',
    details: { lockPath, errno: code ?? null },
  });
}
