#!/usr/bin/env node
// `npm test`: the whole suite (unit + real-engine integration) through vitest, then one
// plain closing line "N passed, N failed, N skipped" counted from vitest's JSON report.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import os from 'node:os';

const report = path.join(os.tmpdir(), `sandboxctl-test-results-${process.pid}.json`);
const res = spawnSync(
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  { stdio: 'inherit' },
);
let code = res.status ?? 1;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numFailedTests > 0 || r.numFailedTestSuites > 0) code = code || 1;
} catch {
  console.log('0 passed, 1 failed, 0 skipped');
  code = code || 1;
} finally {
  rmSync(report, { force: true });
}
process.exit(code);
