import os from 'node:os';
import fs from 'node:fs/promises';
import { AuditWriteError } from '../errors.js';
import { resolveAuditPath } from './location.js';
import { buildRecordBody, type Actor, type AuditEntry } from './record.js';
import { AuditSink, type SinkOptions } from './sink.js';

export { resolveAuditPath, AUDIT_LOG_ENV, ROOT_AUDIT_LOG } from './location.js';
export type { AuditEntry, AuditRecord, Actor, AuditEvent, OutcomeStatus } from './record.js';

/** Names a JSON file of pino transport options that receive a copy of every record. */
export const AUDIT_SHIP_ENV = 'SANDBOXCTL_AUDIT_SHIP';

export interface OpenAuditLogOptions extends SinkOptions {
  /** Who is running sandboxctl; see currentActor(). */
  actor: Actor;
  /** The command line, recorded in every record. */
  argv: string[];
  /** @default () => new Date() */
  clock?: () => Date;
}

export interface AuditLog {
  readonly path: string;
  /** Resolves once the record is on disk (fsynced); rejects with AuditWriteError otherwise. */
  append(entry: AuditEntry): Promise<{ seq: number; hash: string }>;
  /** Flushes the shipping transport; the file itself needs no closing. */
  close(): Promise<void>;
}

/**
 * Opens the audit log for one invocation. Fails with AuditWriteError at once when the log
 * cannot be written or its last record is damaged, so no plugin runs unaudited.
 */
export async function openAuditLog(path: string, opts: OpenAuditLogOptions): Promise<AuditLog> {
  const sink = new AuditSink(path, opts);
  try {
    await sink.check();
  } catch (err) {
    await sink.close();
    throw err;
  }
  const clock = opts.clock ?? (() => new Date());
  // appends from one process go one at a time, in call order
  let queue: Promise<unknown> = Promise.resolve();
  return {
    path,
    append(entry) {
      const next = queue.then(() =>
        sink.append((tail) =>
          buildRecordBody(entry, { seq: tail.seq + 1, prev: tail.prev, time: clock(), actor: opts.actor, argv: opts.argv }),
        ),
      );
      queue = next.catch(() => undefined);
      return next;
    },
    close: () => sink.close(),
  };
}

/** Where this process's audit log is: `--audit-log` > $SANDBOXCTL_AUDIT_LOG > the default for this user. */
export function auditPathFor(flag: string | undefined, env: Record<string, string | undefined>) {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  return resolveAuditPath({ flag, env, uid, home: os.homedir(), cwd: process.cwd() });
}

/** The user behind this process; under sudo, the invoking user is kept too. */
export function currentActor(env: Record<string, string | undefined> = process.env): Actor {
  let user = env.USER ?? env.LOGNAME ?? 'unknown';
  let uid: number | null = typeof process.getuid === 'function' ? process.getuid() : null;
  try {
    const info = os.userInfo();
    user = info.username;
    uid = info.uid;
  } catch {
    // no passwd entry (common in containers): keep what the environment says
  }
  return { user, uid, host: os.hostname(), sudoUser: env.SUDO_USER ?? null };
}

/** Reads the shipping transport options named by $SANDBOXCTL_AUDIT_SHIP, if set. */
export async function loadShipOptions(env: Record<string, string | undefined>): Promise<SinkOptions['ship']> {
  const file = env[AUDIT_SHIP_ENV];
  if (!file) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new AuditWriteError(`cannot read the audit shipping config ${file} (from ${AUDIT_SHIP_ENV})`, {
      cause: err,
      hint: 'it must be a JSON file of pino transport options, e.g. {"targets":[{"target":"pino-socket","options":{...}}]}',
    });
  }
  if (parsed === null || typeof parsed !== 'object' || !('target' in parsed || 'targets' in parsed)) {
    throw new AuditWriteError(`the audit shipping config ${file} has neither "target" nor "targets"`, {
      hint: 'it must be a JSON file of pino transport options, e.g. {"targets":[{"target":"pino-socket","options":{...}}]}',
    });
  }
  return parsed as SinkOptions['ship'];
}

/**
 * The one call the run path makes per invocation: resolves the log's path (flag > env >
 * default), the actor and the shipping transports, then opens the log (failing fast).
 */
export async function openInvocationAuditLog(opts: {
  flag?: string | undefined;
  env: Record<string, string | undefined>;
  argv: string[];
  clock?: () => Date;
}): Promise<AuditLog> {
  const { path } = auditPathFor(opts.flag, opts.env);
  const ship = await loadShipOptions(opts.env);
  return openAuditLog(path, {
    actor: currentActor(opts.env),
    argv: opts.argv,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(ship ? { ship } : {}),
  });
}
