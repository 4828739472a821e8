#!/usr/bin/env bash
# Brings up a Docker engine this project can use, idempotently.
#  - does nothing when an engine already answers (DOCKER_HOST is respected);
#  - otherwise, on Debian as root: installs docker.io, runsc and debootstrap,
#    registers runsc with the arguments that work on these hosts, starts dockerd
#    in the background (log: $SANDBOXCTL_DOCKERD_LOG) and waits until it answers.
# Exit codes: 0 engine answers; 1 cannot bring one up (the reason is printed).
set -euo pipefail

LOG=${SANDBOXCTL_DOCKERD_LOG:-/var/log/sandboxctl-dockerd.log}
WAIT=${SANDBOXCTL_ENGINE_WAIT:-60}
RUNSC_ARGS='["--platform=ptrace","--network=none","--oci-seccomp"]'

say() { printf 'engine-up: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

engine_answers() { timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

ensure_tools() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v runsc >/dev/null 2>&1 || need+=(runsc)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  [ "${#need[@]}" -eq 0 ] && return 0
  say "installing ${need[*]} from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || die "apt-get install ${need[*]} failed"
}

# runsc is registered with the arguments measured to work here: ptrace platform
# (kvm hangs), no network stack, and --oci-seccomp so our seccomp profile applies.
ensure_daemon_json() {
  command -v runsc >/dev/null 2>&1 || { say "runsc not installed; gVisor unavailable"; return 0; }
  mkdir -p /etc/docker
  local f=/etc/docker/daemon.json
  node -e '
    const fs = require("fs");
    const f = process.argv[1];
    let cfg = {};
    try { cfg = JSON.parse(fs.readFileSync(f, "utf8")); } catch (e) { if (e.code !== "ENOENT") throw e; }
    cfg.runtimes = cfg.runtimes || {};
    cfg.runtimes.runsc = { path: process.argv[2], runtimeArgs: JSON.parse(process.argv[3]) };
    fs.writeFileSync(f, JSON.stringify(cfg, null, 2) + "\n");
  ' "$f" "$(command -v runsc)" "$RUNSC_ARGS"
}

clear_stale() {
  local pidf
  for pidf in /var/run/docker.pid /run/docker/containerd/containerd.pid /var/run/docker/containerd/containerd.pid; do
    [ -f "$pidf" ] || continue
    local pid; pid=$(cat "$pidf" 2>/dev/null || true)
    if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
      say "removing stale $pidf"; rm -f "$pidf"
    fi
  done
  if ! pgrep -x dockerd >/dev/null 2>&1; then
    rm -f /var/run/docker.sock
    # a containerd left by a killed dockerd keeps its socket; dockerd starts its own
    pkill -x containerd 2>/dev/null || true
  fi
}

if engine_answers; then
  say "engine answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null)); nothing to do"
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
  die "DOCKER_HOST=$DOCKER_HOST does not answer; start that engine or unset DOCKER_HOST"
fi
[ "$(id -u)" -eq 0 ] || die "no engine answers and starting one needs root (run as root, or start dockerd yourself)"
[ -f /etc/debian_version ] || die "no engine answers and this is not Debian; install and start a Docker engine yourself"

ensure_tools
ensure_daemon_json
clear_stale
mkdir -p "$(dirname "$LOG")"
say "starting dockerd (log: $LOG)"
# dockerd outlives this script: it must not inherit our other descriptors. Started under
# `flock -x LOCK bash scripts/engine-up.sh`, it would hold that lock for as long as it runs.
(
  for fd in /proc/self/fd/*; do
    n=${fd##*/}
    [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null
  done
  exec nohup dockerd >>"$LOG" 2>&1 </dev/null
) &
for _ in $(seq 1 "$WAIT"); do
  if engine_answers; then
    say "engine up: $(docker version --format 'server {{.Server.Version}}, API {{.Server.APIVersion}}')"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within ${WAIT}s; last lines of $LOG:"
tail -n 20 "$LOG" >&2 || true
exit 1
