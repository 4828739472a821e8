import { safeText } from '../safe-text.js';
import type { ChainVerdict } from './hash-chain.js';
import type { OpenedLine } from './hash-chain.js';
import type { AuditRecord } from './record.js';

// Records hold text that came from plugins and ledgers: everything shown passes through safeText.
const t = (s: string | null | undefined): string => (s == null ? '-' : safeText(s));
const short = (h: string | null | undefined): string => (h ? t(h.replace(/^sha256:/, '').slice(0, 12)) : '-');

export function bytes(n: number | null | undefined): string {
  if (n == null) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) (v /= 1024), u++;
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

export function millis(ms: number | null | undefined): string {
  if (ms == null) return '-';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function outcome(r: AuditRecord): string {
  const o = r.outcome;
  const parts: string[] = [o.status];
  if (o.violation) parts.push(`(${t(o.violation)})`);
  if (o.exitCode != null) parts.push(`exit ${o.exitCode}`);
  return parts.join(' ');
}

function pluginName(r: AuditRecord): string {
  if (!r.plugin) return '-';
  return `${t(r.plugin.name)}${r.plugin.version ? `@${t(r.plugin.version)}` : ''}`;
}

/** One line per record, for `audit tail`. */
export function formatRecordLine(r: AuditRecord): string {
  return [
    `#${r.seq}`,
    t(r.time),
    t(r.runId),
    r.event,
    pluginName(r),
    outcome(r),
    millis(r.durationMs),
    `${t(r.actor.user)}@${t(r.actor.host)}`,
  ].join('  ');
}

/** The full record, for `audit show`. */
export function formatRecordDetail(r: AuditRecord): string {
  const rows: Array<[string, string]> = [];
  const row = (k: string, v: string) => rows.push([k, v]);
  row('run', t(r.runId));
  row('actor', `${t(r.actor.user)} (uid ${r.actor.uid ?? '?'}) on ${t(r.actor.host)}${r.actor.sudoUser ? ` via sudo from ${t(r.actor.sudoUser)}` : ''}`);
  row('command', r.argv.map((a) => t(a)).join(' '));
  if (r.ledger) row('ledger', `${t(r.ledger.path)} (sha256 ${short(r.ledger.sha256)})`);
  if (r.plugin) row('plugin', `${pluginName(r)} (bundle ${short(r.plugin.bundleHash)})`);
  if (r.imageId) row('image', short(r.imageId));
  if (r.profile) row('profile', t(r.profile));
  if (r.capabilities.granted.length) {
    row('granted', r.capabilities.granted.map((g) => `${t(g.capability)}=${t(JSON.stringify(g.value))}`).join(', '));
  }
  for (const d of r.capabilities.denied) {
    row('denied', `${t(d.capability)}: requested ${t(d.requested)}, allowed ${t(d.allowed)} (${t(d.reason)})`);
  }
  if (r.specDigest || r.seccompDigest || r.runtime) {
    row(
      'sandbox',
      `spec ${short(r.specDigest)}, seccomp ${short(r.seccompDigest)}, runtime ${t(r.runtime)}, apparmor ${
        r.apparmorApplied == null ? '-' : r.apparmorApplied ? 'applied' : 'not applied'
      }`,
    );
  }
  if (r.limits) {
    const l = r.limits;
    const known = [
      l.memoryBytes != null ? `memory ${bytes(l.memoryBytes)}` : '',
      l.nanoCpus != null ? `cpus ${l.nanoCpus / 1e9}` : '',
      l.pids != null ? `pids ${l.pids}` : '',
      l.timeoutMs != null ? `timeout ${millis(l.timeoutMs)}` : '',
      l.outputBytes != null ? `output ${bytes(l.outputBytes)}` : '',
    ];
    const other = Object.entries(l)
      .filter(([k]) => !['memoryBytes', 'nanoCpus', 'pids', 'timeoutMs', 'outputBytes'].includes(k))
      .map(([k, v]) => `${t(k)} ${t(String(v))}`);
    row('limits', [...known, ...other].filter(Boolean).join(', ') || '-');
  }
  if (r.usage || r.durationMs != null) {
    const unmeasured = r.usage?.unavailable ? ` (not measured: ${t(r.usage.unavailable)})` : '';
    row('usage', `peak memory ${bytes(r.usage?.peakMemoryBytes)}, cpu ${r.usage?.cpuNanos == null ? '-' : millis(r.usage.cpuNanos / 1e6)}, duration ${millis(r.durationMs)}${unmeasured}`);
  }
  row('outcome', `${outcome(r)}${r.outcome.message ? `: ${t(r.outcome.message)}` : ''}`);
  if (r.io) {
    row('io', `in ${r.io.inputCount} (${short(r.io.inputDigest)}), out ${r.io.outputCount} (${short(r.io.outputDigest)})`);
  }
  if (r.effects) {
    const e = r.effects;
    row('effects', `kept ${e.kept}, modified ${e.modified}, inserted ${e.inserted}, deleted ${e.deleted}`);
  }
  if (r.validationErrors.count) {
    row('validation', `${r.validationErrors.count} error${r.validationErrors.count === 1 ? '' : 's'}`);
    for (const m of r.validationErrors.first) row('', `- ${t(m)}`);
    if (r.validationErrors.count > r.validationErrors.first.length) row('', `- ... ${r.validationErrors.count - r.validationErrors.first.length} more`);
  }
  row('hash', `${r.hash} (prev ${short(r.prev)})`);
  const width = Math.max(...rows.map(([k]) => k.length));
  return [`#${r.seq}  ${t(r.time)}  ${r.event}  ${outcome(r)}`, ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join('\n');
}

/** A line that did not open (damaged), shown in place of its record. */
export function formatDamaged(line: number, opened: Extract<OpenedLine, { ok: false }>): string {
  const where = line > 0 ? `line ${line}` : `line ${-line} from the end`;
  return `${where}: damaged record (${opened.kind}${opened.seq == null ? '' : `, seq ${opened.seq}`}): ${t(opened.message)}`;
}

/** `audit verify`'s human summary. */
export function formatVerdict(file: string, v: ChainVerdict): string {
  if (v.ok) {
    return v.length === 0
      ? `${t(file)}: intact, empty (head ${v.head})`
      : `${t(file)}: intact, ${v.length} record${v.length === 1 ? '' : 's'}, head ${v.headSeq}:${v.head}\n` +
          `  publish this head elsewhere; later, \`sandboxctl audit verify --expect-head ${v.headSeq}:${v.head}\` proves the log was not cut or rewritten since`;
  }
  const p = v.problem;
  return [
    `${t(file)}: NOT intact: ${p.kind} at line ${p.line}${p.seq == null ? '' : ` (seq ${p.seq})`}`,
    `  ${t(p.message)}`,
    `  the first ${v.length} record${v.length === 1 ? '' : 's'} verify (up to hash ${v.head})`,
  ].join('\n');
}
