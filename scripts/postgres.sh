#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the tests may create databases in: DATABASE_URL when it
# is set and answers, else the machine's own server on 127.0.0.1:5432 (trust auth), else a
# private cluster in target/postgres, started from Debian's package (installed with apt when
# this user may, as the Chromium step does) and left running for the next tests.
# CLERK_PRIVATE_POSTGRES=1 goes straight to the private cluster.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib.sh"

answers() { # answers URL: whether a server accepts connections at URL (asked with pg_isready)
  local isready
  isready=$(command -v pg_isready || ls /usr/lib/postgresql/*/bin/pg_isready 2>/dev/null | tail -1 || true)
  [ -n "$isready" ] && "$isready" -q -d "$1" -t 3
}

if [ "${CLERK_PRIVATE_POSTGRES:-}" != 1 ]; then
  if [ -n "${DATABASE_URL:-}" ] && answers "$DATABASE_URL"; then echo "$DATABASE_URL"; exit 0; fi
  if answers "postgres://postgres@127.0.0.1:5432/postgres"; then echo "postgres://postgres@127.0.0.1:5432/postgres"; exit 0; fi
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ]; then
  apt_install postgresql "the PostgreSQL tests (or set DATABASE_URL)"
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

# PostgreSQL refuses to run as root: as root, the cluster belongs to the package's user.
cluster="$root/target/postgres"
port=54329
as_owner=()
if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); fi
mkdir -p "$cluster"
[ "$(id -u)" = 0 ] && chown postgres "$cluster"
if [ ! -f "$cluster/data/PG_VERSION" ]; then
  "${as_owner[@]}" "$bin/initdb" -D "$cluster/data" -U postgres --auth=trust >"$cluster/initdb.log" 2>&1
fi
if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  "${as_owner[@]}" "$bin/pg_ctl" -D "$cluster/data" -l "$cluster/server.log" -w \
    -o "-p $port -k $cluster -c listen_addresses=127.0.0.1 -c max_connections=300" start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres"
