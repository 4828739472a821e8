// The ledger's say in sandboxing: `option "plugin_sandbox" "strict"`, `option
// "plugin_timeout" "30"` (seconds), `option "plugin_memory_limit" "64MB"`. A ledger can
// only tighten what the admin allows: a looser request is reported, never silently
// dropped and never honoured. Pure.
import { InvalidInputError, type FieldIssue } from '../errors.js';
import { formatDuration, formatSize, parseDuration, parseSize, sizeBytes, durationMs } from '../manifest/quantity.js';
import { PROFILE_NAME_RE, type Profile } from './profile-schema.js';

export const LEDGER_OPTION = {
  sandbox: 'plugin_sandbox',
  timeout: 'plugin_timeout',
  memory: 'plugin_memory_limit',
} as const;
// Beancount's own plugin_* option, passed through untouched
const BEANCOUNT_PLUGIN_OPTIONS = new Set(['plugin_processing_mode']);

export interface LedgerOptions {
  /** Profile the ledger asks for. */
  sandbox?: string;
  timeoutMs?: number;
  memoryBytes?: number;
}

/** Something a ledger asked for that was not (fully) applied, or that tightened a limit. */
export interface Notice {
  option: string;
  requested: string;
  applied: string;
  reason: string;
}

/** Picks our options out of the ledger's; a bad value is an error, not a default. */
export function parseLedgerOptions(options: Readonly<Record<string, string>>, source = 'ledger options'): LedgerOptions {
  const out: LedgerOptions = {};
  const issues: FieldIssue[] = [];
  for (const [key, value] of Object.entries(options)) {
    if (key === LEDGER_OPTION.sandbox) {
      if (PROFILE_NAME_RE.test(value)) out.sandbox = value;
      else issues.push({ path: key, expected: 'a profile name such as strict', found: JSON.stringify(value), message: `expected a profile name such as strict, found ${JSON.stringify(value)}` });
    } else if (key === LEDGER_OPTION.timeout) {
      const p = parseDuration(value, 's');
      if (p.ok && p.value > 0) out.timeoutMs = p.value;
      else issues.push({ path: key, expected: 'seconds, such as "30" (or "30s", "2m")', found: JSON.stringify(value), message: `expected seconds such as "30", found ${JSON.stringify(value)}` });
    } else if (key === LEDGER_OPTION.memory) {
      const p = parseSize(value);
      if (p.ok && p.value > 0) out.memoryBytes = p.value;
      else issues.push({ path: key, expected: 'a size such as "64MB" or "128Mi"', found: JSON.stringify(value), message: `expected a size such as "64MB", found ${JSON.stringify(value)}` });
    } else if (key.startsWith('plugin_') && !BEANCOUNT_PLUGIN_OPTIONS.has(key)) {
      issues.push({
        path: key,
        expected: Object.values(LEDGER_OPTION).join(' | '),
        found: JSON.stringify(key),
        message: `unknown sandbox option ${JSON.stringify(key)} (check its spelling)`,
      });
    }
  }
  if (issues.length > 0) throw new InvalidInputError(source, issues, { hint: 'fix or remove the option in the ledger' });
  return out;
}

function rankOrder<T extends string>(order: readonly T[], v: T): number {
  return order.indexOf(v);
}

/**
 * Every way `candidate` is looser than `ceiling`. Seccomp files are taken on the admin's
 * ranking (a file cannot be compared syscall by syscall here); everything else is compared.
 */
export function looserThan(candidate: Profile, ceiling: Profile): string[] {
  const out: string[] = [];
  const a = candidate.allow;
  const c = ceiling.allow;
  if (candidate.rank > ceiling.rank) out.push(`rank ${candidate.rank} > ${ceiling.rank}`);
  for (const r of a.runtimes) if (!c.runtimes.includes(r)) out.push(`allow.runtimes has ${r}`);
  if (a.ledger === 'read' && c.ledger === 'none') out.push('allow.ledger read');
  if (a.network === 'egress' && c.network === 'none') out.push('allow.network egress');
  const scratch = (s: string) => (s === 'none' ? 0 : sizeBytes(s));
  if (scratch(a.scratchMax) > scratch(c.scratchMax)) out.push(`allow.scratchMax ${a.scratchMax} > ${c.scratchMax}`);
  for (const e of a.env) if (!c.env.includes(e)) out.push(`allow.env has ${e}`);
  for (const e of a.effects) if (!c.effects.includes(e)) out.push(`allow.effects has ${e}`);
  const k = candidate.ceilings;
  const m = ceiling.ceilings;
  if (sizeBytes(k.memory) > sizeBytes(m.memory)) out.push(`ceilings.memory ${k.memory} > ${m.memory}`);
  if (k.cpus > m.cpus) out.push(`ceilings.cpus ${k.cpus} > ${m.cpus}`);
  if (durationMs(k.timeout) > durationMs(m.timeout)) out.push(`ceilings.timeout ${k.timeout} > ${m.timeout}`);
  if (k.pids > m.pids) out.push(`ceilings.pids ${k.pids} > ${m.pids}`);
  if (sizeBytes(k.outputBytes) > sizeBytes(m.outputBytes)) out.push(`ceilings.outputBytes ${k.outputBytes} > ${m.outputBytes}`);
  if (sizeBytes(k.lineBytes) > sizeBytes(m.lineBytes)) out.push(`ceilings.lineBytes ${k.lineBytes} > ${m.lineBytes}`);
  if (k.results > m.results) out.push(`ceilings.results ${k.results} > ${m.results}`);
  if (k.errors > m.errors) out.push(`ceilings.errors ${k.errors} > ${m.errors}`);
  const aa = ['required', 'if-available', 'off'] as const;
  if (rankOrder(aa, candidate.apparmor) > rankOrder(aa, ceiling.apparmor)) out.push(`apparmor ${candidate.apparmor} (admin: ${ceiling.apparmor})`);
  if (ceiling.runtime.prefer === 'runsc' && candidate.runtime.prefer !== 'runsc') out.push('runtime.prefer runc (admin prefers runsc)');
  if (ceiling.runtime.require && !candidate.runtime.require) out.push('runtime.require false');
  if (candidate.builtins === 'session' && ceiling.builtins === 'container') out.push('builtins session (admin: container)');
  return out;
}

export interface ProfileChoice {
  profile: Profile;
  notices: Notice[];
}

/**
 * The profile a plugin runs under: the admin's (the ceiling), or the one the ledger names
 * when it is no looser. `requested` is that profile, loaded by the caller (or undefined
 * when the ledger names one that does not exist: reported, the ceiling applies).
 */
export function chooseProfile(ceiling: Profile, options: LedgerOptions, requested: Profile | undefined): ProfileChoice {
  if (options.sandbox === undefined || options.sandbox === ceiling.name) return { profile: ceiling, notices: [] };
  const notice = (applied: string, reason: string): Notice => ({ option: LEDGER_OPTION.sandbox, requested: options.sandbox!, applied, reason });
  if (!requested) return { profile: ceiling, notices: [notice(ceiling.name, `no profile named ${options.sandbox} is installed; the admin's ${ceiling.name} applies`)] };
  const looser = looserThan(requested, ceiling);
  if (looser.length > 0) {
    return {
      profile: ceiling,
      notices: [notice(ceiling.name, `${requested.name} is looser than the admin's ceiling ${ceiling.name} (${looser.join('; ')}); the ceiling applies`)],
    };
  }
  return { profile: requested, notices: [notice(requested.name, `the ledger chose ${requested.name}, no looser than the admin's ${ceiling.name}`)] };
}

export interface LedgerLimits {
  timeoutMs?: number;
  memoryBytes?: number;
  notices: Notice[];
}

/** The ledger's limits that are tighter than the profile's ceilings; looser ones are reported. */
export function ledgerLimits(profile: Profile, options: LedgerOptions): LedgerLimits {
  const out: LedgerLimits = { notices: [] };
  const ceilMem = sizeBytes(profile.ceilings.memory);
  if (options.memoryBytes !== undefined) {
    if (options.memoryBytes <= ceilMem) out.memoryBytes = options.memoryBytes;
    else
      out.notices.push({
        option: LEDGER_OPTION.memory,
        requested: formatSize(options.memoryBytes),
        applied: formatSize(ceilMem),
        reason: `above profile ${profile.name}'s ceiling; a ledger can only tighten limits`,
      });
  }
  const ceilTime = durationMs(profile.ceilings.timeout);
  if (options.timeoutMs !== undefined) {
    if (options.timeoutMs <= ceilTime) out.timeoutMs = options.timeoutMs;
    else
      out.notices.push({
        option: LEDGER_OPTION.timeout,
        requested: formatDuration(options.timeoutMs),
        applied: formatDuration(ceilTime),
        reason: `above profile ${profile.name}'s ceiling; a ledger can only tighten limits`,
      });
  }
  return out;
}
