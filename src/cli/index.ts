import { Command, CommanderError } from 'commander';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { ExitCode, InterruptedError, SandboxctlError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { CliContext, CommandResult } from './command-context.js';
import { emitResult, renderError } from './render.js';
import { registerCommands } from './commands/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

export type Handler = (ctx: CliContext) => Promise<CommandResult>;

/**
 * The one exit point: commands register handlers; this runs the chosen one, renders
 * its result (text or --json) on stdout, errors on stderr, and returns the exit code.
 * Start-up is on every command's critical path: a command's handler, the logger and the
 * engine client are loaded only once the command line has chosen one (each command's
 * action imports its handler), so a `run` never loads batch, compose or image-build code.
 */
export async function main(argv: string[]): Promise<number> {
  let chosen: { handler: Handler; json: boolean } | undefined;
  const program = new Command('sandboxctl')
    .description('Run untrusted Beancount ledger plugins in hardened containers')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  registerCommands(program, (handler, json) => {
    chosen = { handler, json };
  });

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version exit 0; anything else commander rejects is a usage error
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    process.stderr.write(renderError(err, false) + '\n');
    return ExitCode.usage;
  }
  if (!chosen) return ExitCode.ok;

  // loaded once a command is chosen: --help, --version and usage errors need neither
  const [{ createLogger }, { createDockerEngine }] = await Promise.all([import('../logger.js'), import('../engine/docker-engine.js')]);
  const logger = createLogger();
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) {
      // a second signal while cleaning up: leave at once (gc removes leftovers later)
      process.exit(sig === 'SIGTERM' ? ExitCode.terminated : ExitCode.interrupted);
    }
    interrupted = sig;
    logger.warn({ signal: sig }, 'interrupted; cleaning up');
    controller.abort(new InterruptedError(sig));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let engine: Engine | undefined;
  const ctx: CliContext = {
    logger,
    engine: () => (engine ??= createDockerEngine()),
    signal: controller.signal,
    interruptedBy: () => interrupted,
    root: ROOT,
    env: process.env,
    argv,
    now: () => new Date(),
  };

  try {
    const result = await chosen.handler(ctx);
    await emitResult(result, chosen.json, { stdout: process.stdout, stderr: process.stderr }, ctx.signal);
    return result.exitCode;
  } catch (err) {
    process.stderr.write(renderError(err, chosen.json) + '\n');
    if (err instanceof SandboxctlError) return err.exitCode;
    logger.error({ err }, 'internal error');
    return ExitCode.internal;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
