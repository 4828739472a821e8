#!/usr/bin/env bash
# Quickstart, step one: dependencies, an engine, the images, then the main job on a
# real example. Safe to run again: every step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine-up.sh
npm ci --no-fund --no-audit --loglevel=error
node bin/sandboxctl.js images build
node bin/sandboxctl.js doctor
