// What both kinds of run (a ledger, a directive file) do the same way at their edges.
export { sha256File } from '../../pipeline/file-digest.js';
export { auditRunFailure, pingOrAudit } from '../../pipeline/run-end-audit.js';
