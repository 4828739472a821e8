#!/usr/bin/env bash
# Quickstart, step one: dependencies, an engine, the images, then the main job: a real
# ledger run through sandboxed plugins (two Beancount builtins, a third-party Python
# plugin and a JavaScript plugin). Safe to run again: each step skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine-up.sh
# npm ci refuses the lock file npm writes here (it omits other platforms' optional packages)
npm install --no-fund --no-audit --loglevel=error
node bin/sandboxctl.js images build
node bin/sandboxctl.js doctor || true   # warnings (no AppArmor here) are expected; failures are shown

out=$(mktemp -d)/quickstart-out.beancount
echo
echo "== sandboxctl run examples/quickstart/main.beancount (profile: strict, the default)"
node bin/sandboxctl.js run examples/quickstart/main.beancount \
  --plugins-dir examples/quickstart/plugins -o "$out" 2> >(grep -v '^{' >&2)
echo
echo "== the resulting ledger ($out)"
cat "$out"
echo
node bin/sandboxctl.js audit tail -n 6
