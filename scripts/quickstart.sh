#!/usr/bin/env bash
# Quickstart, step one: dependencies, an engine, the images, then the main job: a real
# ledger run through sandboxed plugins (two Beancount builtins, a third-party Python
# plugin and a JavaScript plugin). Safe to run again: each step skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine-up.sh
bash scripts/test-tools.sh   # what `npm test` drives besides the engine: docker-compose, AppArmor's parser, Chromium, systemd-analyze
# exactly the lock file's dependencies; skipped when they are installed and the lock file has not changed since
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-fund --no-audit --loglevel=error
fi
[ -f dist/cli/index.js ] || npm run build --silent
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
