#!/bin/sh
# make bench: build and install engage, start a throw-away cluster, load the
# synthetic university (SCALE x 25,000 students, 30 days of about 10 million
# page views at SCALE=1) and time the computation and the dashboard, against
# the same method in plain SQL and in DuckDB (@duckdb/node-api from npm,
# installed into test/bench/duckdb on first use).  Prints a table and writes
# it to test/bench/results/, then fits 1 million simulated rows with
# engage.ordinal_fit (ORDINAL_ROWS=, 0 skips it) and the CLES weights with
# engage.fit_coefficients (ordinal.sh).  Never fails on timing.
#
# run.sh backfill (make bench-backfill): instead, load a whole academic year
# (about 155 million page views at SCALE=1) and backfill it with one
# engage.refresh, reporting the backend's peak memory.  Takes about 1.5 hours.
#
# run.sh load: only the loading benchmark (test/bench/load.sh: 10 million
# page views x SCALE, or LOAD_ROWS, through engage.load beside a plain COPY).
set -eu
MODE=${1:-timings}
cd "$(dirname "$0")/../.."

PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
SCALE=${SCALE:-1}
REPS=${REPS:-5}
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
$as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

mkdir -p test/bench/results
out="test/bench/results/$MODE-$(date -u +%Y%m%dT%H%M%SZ).txt"
students=$(awk "BEGIN { printf \"%d\", 25000 * $SCALE }")
ORDINAL_ROWS=${ORDINAL_ROWS:-1000000}
export students REPS MODE SCALE ORDINAL_ROWS
pg_virtualenv -t -v "$PG_MAJOR" -o shared_buffers=2GB -o work_mem=64MB -o max_parallel_workers_per_gather=2 \
    -o max_worker_processes=8 -o max_parallel_workers=8 -o max_wal_size=8GB \
    -o shared_preload_libraries=pg_stat_statements -o pg_stat_statements.track=none sh -c '
    set -e
    psql="psql -X -q -v ON_ERROR_STOP=1"
    $psql -c "CREATE EXTENSION engage"
    if [ "$MODE" = backfill ]; then
        test/bench/backfill.sh "$students"
    elif [ "$MODE" = load ]; then
        test/bench/load.sh
    else
        echo "loading $students students, 30 days ..."
        $psql -v students="$students" -v days=30 -v views_per_day=13 -v end_day=2026-11-27 -f test/datagen.sql
        $psql -c "VACUUM ANALYZE"
        # the same method in DuckDB, on the same data (no baseline where node
        # or the npm registry is missing: the bench says so)
        duck=$(DUCKDB_RESULT=/tmp/engage-bench-duckdb.csv test/bench/duckdb.sh 2026-10-29 2026-11-27 "$REPS")
        if [ -n "$duck" ]; then
            $psql -v reps="$REPS" -v last_day=2026-11-27 -v duckdb_ms="${duck%% *}" -v duckdb_file=/tmp/engage-bench-duckdb.csv \
                -f test/bench/bench.sql
        else
            echo "DuckDB baseline skipped: see the message above"
            $psql -v reps="$REPS" -v last_day=2026-11-27 -f test/bench/bench.sql
        fi
        test/bench/ordinal.sh "$ORDINAL_ROWS"
    fi
    echo
    echo "machine: $(nproc) cores, $(free -g | awk "/Mem:/ {print \$2}") GiB, PostgreSQL $(psql -X -At -c "SHOW server_version")"
' 2>&1 | tee "$out"
echo "written to $out"
# a bench that took no timings must not look like one that did
if [ "$MODE" = timings ] && ! grep -q 'engage.refresh, 30 days' "$out"; then
    echo "bench: no timings were taken (see $out)" >&2
    exit 1
fi
