// Who the loader reads a ledger as: its owner (so a ledger in a private directory loads),
// never root. A root-owned ledger is read as the sandbox's own user, which needs it to be
// readable by others; when it is not, `run` refuses and `batch` loads a private copy
// (src/batch/private-copy.ts).
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

/** The unprivileged uid:gid the sandbox's containers run as. */
export const SANDBOX_UID = 65532;
export const SANDBOX_USER = `${SANDBOX_UID}:${SANDBOX_UID}`;

export type LedgerReader = { ok: true; user: string } | { ok: false; error: UsageError };

export async function ledgerReader(ledgerPath: string): Promise<LedgerReader> {
  const st = await stat(ledgerPath);
  if (st.uid !== 0 && st.gid !== 0) return { ok: true, user: `${st.uid}:${st.gid}` };
  const dir = await stat(path.dirname(ledgerPath));
  if ((dir.mode & 0o005) !== 0o005 || (st.mode & 0o004) === 0) {
    const error = new UsageError(`${ledgerPath} is owned by root and not readable by others; the sandbox never reads it as root`, {
      hint: `make it readable (chmod o+rx ${path.dirname(ledgerPath)} && chmod o+r ${ledgerPath}), keep ledgers owned by a non-root user, or run it with \`sandboxctl batch\` (which loads a private copy)`,
    });
    return { ok: false, error };
  }
  return { ok: true, user: SANDBOX_USER };
}
