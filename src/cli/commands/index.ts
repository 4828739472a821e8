import type { Command } from 'commander';
import type { Handler } from '../index.js';
import { registerDoctor } from './doctor.js';
import { registerImages } from './images.js';
import { registerAudit } from './audit.js';
import { registerBatch } from './batch.js';
import { registerGc } from './gc.js';
import { registerRun } from './run.js';
import { registerPlan } from './plan.js';
import { registerPlugin } from './plugin.js';
import { registerCompose } from './compose.js';

/** `choose(handler, json)` records the handler the parsed command line selected. */
export type Choose = (handler: Handler, json: boolean) => void;

// One line per command module; each module wires commander options to a handler.
export function registerCommands(program: Command, choose: Choose): void {
  registerDoctor(program, choose);
  registerImages(program, choose);
  registerAudit(program, choose);
  registerGc(program, choose);
  registerRun(program, choose);
  registerBatch(program, choose);
  registerPlan(program, choose);
  registerPlugin(program, choose);
  registerCompose(program, choose);
}
