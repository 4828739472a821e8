import path from 'node:path';

export const AUDIT_LOG_ENV = 'SANDBOXCTL_AUDIT_LOG';
export const ROOT_AUDIT_LOG = '/var/log/sandboxctl/audit.jsonl';

export interface AuditPathInputs {
  /** `--audit-log`, when given. */
  flag?: string | undefined;
  env: Record<string, string | undefined>;
  uid: number;
  home: string;
  /** Relative paths are resolved against this directory. */
  cwd: string;
}

/**
 * Where the audit log lives: `--audit-log` > $SANDBOXCTL_AUDIT_LOG > /var/log/sandboxctl/audit.jsonl
 * for root > $XDG_STATE_HOME/sandboxctl/audit.jsonl (~/.local/state/sandboxctl/audit.jsonl).
 */
export function resolveAuditPath(inputs: AuditPathInputs): { path: string; source: 'flag' | 'env' | 'default' } {
  const { flag, env, uid, home, cwd } = inputs;
  if (flag) return { path: path.resolve(cwd, flag), source: 'flag' };
  const fromEnv = env[AUDIT_LOG_ENV];
  if (fromEnv) return { path: path.resolve(cwd, fromEnv), source: 'env' };
  if (uid === 0) return { path: ROOT_AUDIT_LOG, source: 'default' };
  // XDG_STATE_HOME must be absolute to count (XDG base directory spec)
  const state = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(home, '.local', 'state');
  return { path: path.join(state, 'sandboxctl', 'audit.jsonl'), source: 'default' };
}
