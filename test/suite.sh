#!/bin/sh
# Runs inside pg_virtualenv: PGHOST, PGPORT, PGUSER and PGPASSWORD point at
# a fresh cluster.  Every part runs even if an earlier part failed.
set -u
cd "$(dirname "$0")/.."
. test/lib.sh
status=0

echo "== pg_regress"
make -s installcheck PG_CONFIG="$PG_CONFIG" || { status=1; cat regression.diffs 2>/dev/null | head -200; }

echo "== pgTAP"
dropdb --if-exists engage_tap >/dev/null 2>&1
createdb engage_tap
psql -X -q -v ON_ERROR_STOP=1 -d engage_tap -c 'CREATE EXTENSION engage; CREATE EXTENSION pgtap;' || status=1
pg_prove -d engage_tap test/pgtap/*.sql || status=1
echo "== access tests (pgTAP, each in a database of its own)"
prove_access || status=1

echo "== shell tests"
prove test/t/ || status=1

exit $status
