#!/bin/sh
# Runs the pg_regress and pgTAP suites against a server whose backends run
# under valgrind memcheck, and fails if valgrind reports an error with a
# frame in engage's own code.  PostgreSQL's own known reports (uninitialised
# padding written to disk) are not engage's and are left out.
set -eu
cd "$(dirname "$0")/.."

PG_MAJOR=${PG_MAJOR:-15}
bindir=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=${PG_CONFIG:-$bindir/pg_config}
export PG_CONFIG
work=$(mktemp -d /tmp/engage-valgrind.XXXXXX)
port=${VALGRIND_PORT:-55477}

. test/lib.sh
[ "$(id -u)" -eq 0 ] && chown postgres "$work"

cleanup() {
    as_server "$bindir/pg_ctl" -D "$work/data" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

as_server "$bindir/initdb" -D "$work/data" -A trust -U postgres >/dev/null
as_server sh -c "valgrind --quiet --trace-children=yes --track-origins=yes --error-limit=no \
    --num-callers=40 --log-file='$work/vg.%p.log' \
    '$bindir/postgres' -D '$work/data' -k '$work' -p $port -c listen_addresses='' \
    -c shared_buffers=32MB -c max_parallel_workers_per_gather=2 >'$work/server.log' 2>&1 &"

export PGHOST="$work" PGPORT="$port" PGUSER=postgres
tries=0
until "$bindir/pg_isready" -q; do
    tries=$((tries + 1))
    [ $tries -lt 300 ] || { echo "valgrind: server did not start"; cat "$work/server.log"; exit 1; }
    sleep 1
done

status=0
echo "== pg_regress under valgrind"
make -s installcheck PG_CONFIG="$PG_CONFIG" || status=1
echo "== pgTAP under valgrind"
createdb engage_tap
psql -X -q -v ON_ERROR_STOP=1 -d engage_tap -c 'CREATE EXTENSION engage; CREATE EXTENSION pgtap;'
# refresh_property compares the refresh with a plain-SQL statement of the
# method: minutes of PostgreSQL's own work under valgrind, and no C path that
# the refresh regression test does not already run
pg_prove -d engage_tap $(ls test/pgtap/*.sql | grep -v refresh_property) || status=1
prove_access || status=1
as_server "$bindir/pg_ctl" -D "$work/data" stop -m fast >/dev/null

# An error report is a block of lines starting "==pid== <Capital>", ending at
# the next blank report line; keep the blocks that mention engage's code.
reports=$(awk '
    /^==[0-9]+== [A-Z]/ { if (block != "" && mine) print block "\n"; block = $0; mine = 0; next }
    /^==[0-9]+== *$/    { if (block != "" && mine) print block "\n"; block = ""; mine = 0; next }
    block != ""         { block = block "\n" $0; if ($0 ~ /engage\.so|engage_|Ele[A-Z]|Score[A-Z]/) mine = 1 }
    END                 { if (block != "" && mine) print block }
' "$work"/vg.*.log)
if [ -n "$reports" ]; then
    echo "$reports"
    echo "valgrind: memcheck reported errors in engage's code"
    status=1
else
    echo "valgrind: no memcheck error in engage's code ($(ls "$work"/vg.*.log | wc -l) processes checked)"
fi
exit $status
