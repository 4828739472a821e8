#!/usr/bin/env bash
# Debian tools some tests drive, installed when missing (as root; idempotent), so that a
# fresh machine's `npm test` runs what CI runs: docker-compose (Debian's 1.29.2; the compose
# tests run the real one) and AppArmor's parser (a unit test checks our profile's syntax
# with it, though this kernel has no AppArmor).
set -euo pipefail
need=()
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v apparmor_parser >/dev/null 2>&1 || need+=(apparmor)
[ "${#need[@]}" -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || { echo "test-tools: installing ${need[*]} needs root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
