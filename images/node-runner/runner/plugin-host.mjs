// Runs one JavaScript plugin over protocol v1. fd 0: host input; fd 3: protocol output; fd 1 and 2: log.
// A plugin module exports `default` or `plugin`: (directives, options, config) => {directives, errors}
// (or a Promise of it). directives are protocol JSON objects; errors are strings or
// {message, source?: {filename, lineno} | null, directive?: <an input object>, index?: number}.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';
import { computeEffects, sortDirectives, toLines } from './effects.mjs';

class ProtocolError extends Error {}
const PROTO_FD = 3;

function parseArgs(argv) {
  const [stage, ...rest] = argv;
  if (stage !== 'plugin') throw new Error(`usage: runner.js plugin --entrypoint FILE [--bundle DIR] (stage ${JSON.stringify(stage)} is not known)`);
  const args = { bundle: '/plugin', entrypoint: undefined };
  for (let i = 0; i < rest.length; i += 2) {
    const [k, v] = [rest[i], rest[i + 1]];
    if (k === '--bundle' && v) args.bundle = v;
    else if (k === '--entrypoint' && v) args.entrypoint = v;
    else throw new Error(`unknown or incomplete argument ${JSON.stringify(k)}`);
  }
  if (!args.entrypoint) throw new Error('--entrypoint is required');
  return args;
}

async function readStream() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let header = null;
  const inputs = [];
  const inputJson = [];
  let n = 0;
  for await (const line of rl) {
    n++;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      throw new ProtocolError(`line ${n}: not valid JSON: ${err.message}`);
    }
    if (header === null) {
      if (msg?.type !== 'header' || msg.protocol !== 1) throw new ProtocolError(`line ${n}: expected a protocol 1 header`);
      if (!Number.isSafeInteger(msg.count) || msg.count < 0) throw new ProtocolError('header: "count" must be a non-negative integer');
      header = msg;
      continue;
    }
    if (msg?.type === 'end') {
      if (inputs.length !== header.count) throw new ProtocolError(`line ${n}: end after ${inputs.length} directives, header said ${header.count}`);
      rl.close();
      return { header, inputs, inputJson };
    }
    if (msg?.type !== 'directive' || msg.index !== inputs.length) {
      throw new ProtocolError(`line ${n}: expected directive ${inputs.length}, found type ${JSON.stringify(msg?.type)}`);
    }
    inputs.push(msg.directive);
    inputJson.push(JSON.stringify(msg.directive));
  }
  throw new ProtocolError(header ? `input ended without an "end" line (after ${inputs.length} directives)` : 'no input: expected a header line');
}

async function loadPlugin(bundle, entrypoint) {
  const root = path.resolve(bundle);
  const file = path.resolve(root, entrypoint);
  if (!file.startsWith(root + path.sep)) throw new Error(`entrypoint ${JSON.stringify(entrypoint)} is outside the bundle`);
  const mod = await import(pathToFileURL(file).href);
  const fn = typeof mod.plugin === 'function' ? mod.plugin : mod.default;
  if (typeof fn !== 'function') throw new Error(`${entrypoint} exports neither a default nor a "plugin" function`);
  return fn;
}

function errorLine(e, indexOf) {
  const o = typeof e === 'string' ? { message: e } : e ?? {};
  const src = o.source;
  const source =
    src && typeof src.filename === 'string' && Number.isSafeInteger(src.lineno) && src.lineno >= 0
      ? { filename: src.filename, lineno: src.lineno }
      : null;
  let index = null;
  if (o.directive !== undefined) index = indexOf(o.directive) ?? null;
  else if (Number.isSafeInteger(o.index) && o.index >= 0) index = o.index;
  return JSON.stringify({ type: 'error', message: String(o.message ?? e), source, index });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { header, inputs, inputJson } = await readStream();
  const name = header.plugin?.name ?? args.entrypoint;
  const errors = [];
  let outputs = inputs.slice();
  try {
    const fn = await loadPlugin(args.bundle, args.entrypoint);
    // the plugin gets its own array: in-place edits of it must not touch `inputs`
    const result = await fn(inputs.slice(), header.options ?? {}, header.config ?? null);
    if (!result || !Array.isArray(result.directives)) throw new TypeError('the plugin must return {directives: [...], errors: [...]}');
    outputs = result.directives.slice();
    for (const e of result.errors ?? []) errors.push(e);
  } catch (err) {
    const trace = String(err?.stack ?? err).replace(/\n/g, '\n  ');
    errors.push({ message: `Error applying plugin "${name}": ${trace}`, source: { filename: '<load>', lineno: 0 } });
  }
  sortDirectives(outputs);
  const { lines, counts } = toLines(computeEffects(inputs, inputJson, outputs));
  const byObj = new Map(inputs.map((d, i) => [d, i]));
  for (const e of errors) {
    lines.push(errorLine(e, (d) => byObj.get(d)));
    counts.errors++;
  }
  lines.push(JSON.stringify({ type: 'done', counts }));
  await writeAll(lines);
}

async function writeAll(lines) {
  const out = fs.createWriteStream(null, { fd: PROTO_FD, highWaterMark: 1 << 16 });
  for (const line of lines) {
    if (!out.write(line + '\n')) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve, reject) => {
    out.once('error', reject);
    out.end(resolve);
  });
}

main().then(
  // a plugin's timers or handles must not hold the run open after "done"
  () => process.exit(0),
  (err) => {
    process.stderr.write(`sandboxctl runner: ${err instanceof ProtocolError ? 'protocol error: ' : ''}${err?.stack ?? err}\n`);
    process.exit(err instanceof ProtocolError ? 3 : 4);
  },
);
