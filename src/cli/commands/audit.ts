import type { Command } from 'commander';
import type { LogOptions } from '../handlers/audit-handler.js';
import type { Choose } from './index.js';

type LogOpts = LogOptions & { json?: boolean };

const LOG_OPTION = ['--audit-log <file>', 'the audit log (default: $SANDBOXCTL_AUDIT_LOG, else the per-user default)'] as const;
const handlers = () => import('../handlers/audit-handler.js');

export function registerAudit(program: Command, choose: Choose): void {
  const audit = program.command('audit').description('verify and read the tamper-evident audit log');

  audit
    .command('verify')
    .description('check the hash chain of the whole log; names the first bad record')
    .option(...LOG_OPTION)
    .option('--expect-head <hash>', 'a head published earlier ([SEQ:]HASH): it must still be in the chain')
    .option('--json', 'print the verdict as JSON')
    .action((opts: LogOpts & { expectHead?: string }) => choose(async (ctx) => (await handlers()).verifyAudit(ctx, opts), !!opts.json));

  audit
    .command('show')
    .description('show every record of one run in full (default: the most recent run)')
    .option(...LOG_OPTION)
    .option('--run <id>', 'the run id')
    .option('--json', 'print the records as JSON')
    .action((opts: LogOpts & { run?: string }) => choose(async (ctx) => (await handlers()).showAudit(ctx, opts), !!opts.json));

  audit
    .command('tail')
    .description('show the last records, one line each')
    .option(...LOG_OPTION)
    .option('-n, --lines <n>', 'how many records', '10')
    .option('--json', 'print the records as JSON')
    .action((opts: LogOpts & { lines: string }) => choose(async (ctx) => (await handlers()).tailAudit(ctx, opts), !!opts.json));
}
