import { randomBytes } from 'node:crypto';

/** A run id: sortable by time, unique enough to label engine objects. */
export function newRunId(now: Date = new Date()): string {
  return `${now.toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}-${randomBytes(4).toString('hex')}`;
}
