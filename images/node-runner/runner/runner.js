'use strict';
// sandboxctl's Node runner entry: `node /opt/sandboxctl/runner.js plugin --entrypoint FILE [--bundle DIR]`.
// Node cannot dup2(), so the plugin runs in a child whose fd 1 is our stderr (a plugin's
// console.log only adds to the log) and whose fd 3 is our real stdout: the protocol channel.
const { spawn } = require('node:child_process');
const path = require('node:path');

const child = spawn(process.execPath, [path.join(__dirname, 'plugin-host.mjs'), ...process.argv.slice(2)], {
  stdio: [0, 2, 2, 1],
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => child.kill(sig));
child.on('error', (err) => {
  process.stderr.write(`sandboxctl runner: cannot start the plugin host: ${err.message}\n`);
  process.exit(4);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + 9 : 4)));
