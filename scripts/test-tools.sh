#!/usr/bin/env bash
# Debian tools some tests drive, installed when missing (as root; idempotent), so that a
# fresh machine's `npm test` runs what CI runs: docker-compose (Debian's 1.29.2; the compose
# tests run the real one), AppArmor's parser (a unit test checks our profile's syntax
# with it, though this kernel has no AppArmor), Chromium and a font (a test opens the batch's
# report.html headless and screenshots it) and systemd-analyze (a test verifies the batch's
# service and timer units).
set -euo pipefail
need=()
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v apparmor_parser >/dev/null 2>&1 || need+=(apparmor)
command -v chromium >/dev/null 2>&1 || need+=(chromium fonts-dejavu-core)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ "${#need[@]}" -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || { echo "test-tools: installing ${need[*]} needs root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 ||
  { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
