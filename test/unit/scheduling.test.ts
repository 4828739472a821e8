// The scheduling files admins install: the systemd service and timer pass
// `systemd-analyze verify` without a single warning, the timer fires nightly, and the cron
// line in docs/scheduling.md parses as cron(5) reads /etc/cron.d. All three run the
// command `sandboxctl batch` really accepts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/commands/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const UNITS = path.join(ROOT, 'scripts', 'systemd');
const SERVICE = readFileSync(path.join(UNITS, 'sandboxctl-batch.service'), 'utf8');
const TIMER = readFileSync(path.join(UNITS, 'sandboxctl-batch.timer'), 'utf8');
const DOC = readFileSync(path.join(ROOT, 'docs', 'scheduling.md'), 'utf8');
const INSTALLED_BIN = '/usr/local/bin/sandboxctl';
const COMMAND = `${INSTALLED_BIN} batch --file /etc/sandboxctl/batch.yaml`;

function analyzePresent(): boolean {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `key=value` lines of one section of a unit file, in order. */
function section(text: string, name: string): Array<[string, string]> {
  const body = text.split(/^\[/m).find((s) => s.startsWith(`${name}]`)) ?? '';
  return body.split('\n').slice(1).filter((l) => /^[A-Za-z]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}

function value(text: string, sectionName: string, key: string): string | undefined {
  return section(text, sectionName).find(([k]) => k === key)?.[1];
}

describe('sandboxctl batch as the units and the cron line call it', () => {
  it('runs the command and flag the CLI has', () => {
    const program = new Command();
    registerCommands(program, () => {});
    const batch = program.commands.find((c) => c.name() === 'batch');
    expect(batch, 'sandboxctl batch is registered').toBeDefined();
    expect(batch!.options.map((o) => o.long)).toContain('--file');
    expect(value(SERVICE, 'Service', 'ExecStart')).toBe(COMMAND);
  });
});

describe.runIf(analyzePresent() || process.env.CI === 'true')('systemd units', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sbx-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /**
   * verify refuses an ExecStart whose program is missing, and /usr/local/bin/sandboxctl is not
   * installed here: the copy verified names this checkout's bin instead, the one change made.
   */
  function verify(service: string, timer: string): { status: number | null; output: string } {
    const sub = mkdtempSync(path.join(dir, 'v-'));
    const bin = path.join(ROOT, 'bin', 'sandboxctl.js');
    const copy = service.replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${bin} `);
    expect(copy.split('\n').filter((l, i) => l !== service.split('\n')[i])).toEqual([`ExecStart=${bin} batch --file /etc/sandboxctl/batch.yaml`]);
    writeFileSync(path.join(sub, 'sandboxctl-batch.service'), copy);
    writeFileSync(path.join(sub, 'sandboxctl-batch.timer'), timer);
    const r = spawnSync('systemd-analyze', ['verify', path.join(sub, 'sandboxctl-batch.service'), path.join(sub, 'sandboxctl-batch.timer')], { encoding: 'utf8' });
    return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
  }

  it('pass systemd-analyze verify with no warning at all', () => {
    expect(verify(SERVICE, TIMER)).toEqual({ status: 0, output: '' });
  });

  it('a misspelt key or a bad calendar is reported (the check above can fail)', () => {
    const bad = verify(SERVICE.replace('ProtectHome=read-only', 'ProtectHme=read-only'), TIMER.replace(/^OnCalendar=.*$/m, 'OnCalendar=nightly-ish'));
    expect(bad.output).toContain("Unknown key 'ProtectHme'");
    expect(bad.output).toContain('Failed to parse calendar specification');
  });

  it('the service is a oneshot with the hardening that leaves the engine reachable', () => {
    const s = Object.fromEntries(section(SERVICE, 'Service'));
    expect(s).toMatchObject({ Type: 'oneshot', NoNewPrivileges: 'yes', ProtectHome: 'read-only', ProtectSystem: 'full', KillMode: 'mixed' });
    // the Docker socket is AF_UNIX; a private /tmp would hide from dockerd the paths sandboxctl names
    expect(s.RestrictAddressFamilies!.split(' ')).toContain('AF_UNIX');
    expect(s.PrivateTmp).toBeUndefined();
    expect(s.PrivateNetwork).toBeUndefined();
    expect(s.MemoryDenyWriteExecute).toBeUndefined();
  });

  it('the timer fires once a night, persistently, spread out', () => {
    expect(Object.fromEntries(section(TIMER, 'Timer'))).toMatchObject({ Persistent: 'true', RandomizedDelaySec: '30min', Unit: 'sandboxctl-batch.service' });
    expect(value(TIMER, 'Install', 'WantedBy')).toBe('timers.target');
    const out = execFileSync('systemd-analyze', ['calendar', '--iterations=3', value(TIMER, 'Timer', 'OnCalendar')!], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    const times = [...out.matchAll(/(?:Next elapse|Iter\. #\d): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/g)].map((m) => Date.parse(`${m[1]!.replace(' ', 'T')}Z`));
    expect(times).toHaveLength(3);
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual([86_400_000, 86_400_000]);
    expect(new Date(times[0]!).getUTCHours()).toBe(2);
  });
});

// ---- cron(5), as Debian's cron reads /etc/cron.d: five time fields, the user, the command

const FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as string[] },
  { name: 'hour', min: 0, max: 23, names: [] },
  { name: 'day of month', min: 1, max: 31, names: [] },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

interface CronJob { times: string[]; user: string; command: string }

/** Parses a cron.d file; throws on the first line cron would refuse, naming it. */
function parseCronD(text: string): CronJob[] {
  if (!text.endsWith('\n')) throw new Error('a cron.d file must end with a newline (cron ignores its last line otherwise)');
  const jobs: CronJob[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || /^[A-Za-z_][A-Za-z0-9_]*\s*=/.test(line)) return;
    const parts = line.split(/\s+/);
    if (parts[0]!.startsWith('@')) throw new Error(`line ${i + 1}: use the five fields, not ${parts[0]}`);
    if (parts.length < 7) throw new Error(`line ${i + 1}: expected 5 time fields, a user and a command, got ${parts.length} fields`);
    FIELDS.forEach((f, n) => checkField(parts[n]!, f, i + 1));
    const command = line.replace(/^(\S+\s+){6}/, '');
    if (/(^|[^\\])%/.test(command)) throw new Error(`line ${i + 1}: an unescaped % in a cron command is a newline`);
    jobs.push({ times: parts.slice(0, 5), user: parts[5]!, command });
  });
  return jobs;
}

function checkField(field: string, f: (typeof FIELDS)[number], line: number): void {
  const num = (s: string): number => {
    const byName = f.names.indexOf(s.toLowerCase());
    const v = byName >= 0 ? byName + (f.name === 'month' ? 1 : 0) : /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(v >= f.min && v <= f.max)) throw new Error(`line ${line}: ${f.name} ${s} is not within ${f.min}-${f.max}`);
    return v;
  };
  for (const item of field.split(',')) {
    const m = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!m) throw new Error(`line ${line}: ${f.name} field ${field} is not cron syntax`);
    if (m[2] !== undefined && Number(m[2]) < 1) throw new Error(`line ${line}: ${f.name} step ${m[2]}`);
    if (m[1] === '*') continue;
    const [a, b] = m[1]!.split('-');
    if (b !== undefined && num(a!) > num(b)) throw new Error(`line ${line}: ${f.name} range ${m[1]} runs backwards`);
    num(a!);
  }
}

describe('the cron line in docs/scheduling.md', () => {
  const block = /```cron\n([\s\S]*?)```/.exec(DOC)?.[1];

  it('parses as cron.d: a nightly job, as root, running the service\'s command', () => {
    expect(block, 'docs/scheduling.md has a ```cron block').toBeDefined();
    const jobs = parseCronD(block!);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.times).toEqual(['17', '2', '*', '*', '*']);
    expect(jobs[0]!.user).toBe('root');
    expect(jobs[0]!.command).toContain(` ${COMMAND} `);
    expect(jobs[0]!.command).toMatch(/^flock -n \S+ /);
    expect(jobs[0]!.command).toMatch(/>>\/var\/log\/sandboxctl\/batch\.log 2>&1$/);
  });

  it('the parser refuses what cron would (so the check above can fail)', () => {
    const bad = (l: string) => () => parseCronD(`${l}\n`);
    expect(bad('61 2 * * * root true')).toThrow('minute 61 is not within 0-59');
    expect(bad('17 24 * * * root true')).toThrow('hour 24');
    expect(bad('17 2 * * root true')).toThrow(/day of week root|expected 5 time fields/);
    expect(bad('17 2 * * * root date +%F')).toThrow('unescaped %');
    expect(bad('17 2 5-1 * * root true')).toThrow('runs backwards');
    expect(() => parseCronD('17 2 * * * root true')).toThrow('newline');
    expect(parseCronD('*/15 1-5,22 1 jan-mar mon-fri root true\n')).toHaveLength(1);
  });
});
