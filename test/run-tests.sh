#!/bin/sh
# The whole suite: build warning-free, install, then run pg_regress, pgTAP
# and the shell tests against a throw-away cluster.
set -eu
cd "$(dirname "$0")/.."

PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
export PG_CONFIG PG_MAJOR
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"

make -s clean
make -s
$as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

pg_virtualenv -t -v "$PG_MAJOR" test/suite.sh
