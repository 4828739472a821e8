#!/usr/bin/env bash
# Installs Debian's Beancount 2.3.5 on the host: the baseline bench/ledger-vs-beancount.sh
# times sandboxctl against (it runs this when bean-check is missing). The tests do not need
# it: their in-process reference runs in the Python runner image. Idempotent.
set -euo pipefail
if command -v bean-check >/dev/null 2>&1 && /usr/bin/python3 -c 'import beancount' 2>/dev/null; then
  exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "host-beancount: installing python3-beancount needs root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends python3-beancount beancount >/dev/null
