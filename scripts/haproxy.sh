#!/usr/bin/env bash
# Prints the path of HAProxy for the scale-out test, installing Debian's package when this user
# may (as the Chromium and PostgreSQL steps do).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"
command -v haproxy >/dev/null 2>&1 || apt_install haproxy "the scale-out test (three replicas behind a load balancer)"
command -v haproxy
