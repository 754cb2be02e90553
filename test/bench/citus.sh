#!/bin/sh
# make bench-citus: the refresh and the tutee list on a Citus cluster (a
# coordinator and two workers) beside one server, in the same run and on
# the same data: the synthetic university at SCALE x 25,000 students
# (default 0.2), 30 days.  Prints each figure and its ratio, cluster over
# one server; never fails on timing.  All three servers share this machine,
# so the ratio is what distribution costs here, not what more machines
# would gain.  Says "skipped" where Citus is not installed.
set -u
cd "$(dirname "$0")/../.."
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
SCALE=${SCALE:-0.2}
REPS=${REPS:-3}
students=$(awk "BEGIN { printf \"%d\", 25000 * $SCALE }")
n=0 failed=0
. test/lib.sh
. test/citus/cluster.sh
if why=$(citus_missing); then
    echo "bench-citus: skipped, nothing was measured: $why"
    exit 0
fi

mkdir -p test/bench/results
out="test/bench/results/citus-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
cluster_start shared_buffers=1GB work_mem=64MB || { echo "bench-citus: the cluster did not start"; exit 1; }
echo "loading $students students, 30 days, on the cluster's coordinator and on one server ..."
cluster_load "$students" 30 || exit 1
$c -c 'SET client_min_messages = warning' -c 'CALL engage.distribute()' || exit 1
$c -c "CREATE ROLE bench_app LOGIN IN ROLE engage_app"

# each database: the medians of a 30-day refresh, a nightly one, and the
# tutee list of 50 tutors through the web role (p50 and p95)
measure() {
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$work/c" -p $base -U postgres -d "$1" -v reps="$REPS" <<'SQL'
\i test/bench/median.sql
SELECT 'refresh30 ' || round(pg_temp.median_ms($$CALL engage.refresh('2026-10-29', '2026-11-27')$$, :reps)::numeric);
SELECT 'refresh1 ' || round(pg_temp.median_ms($$CALL engage.refresh('2026-11-27', '2026-11-27')$$, :reps)::numeric);
CREATE TEMP TABLE tutors AS
SELECT tutor_id FROM (SELECT DISTINCT t.tutor_id FROM engage.tutoring AS t) AS t ORDER BY 1 LIMIT 50;
GRANT SELECT ON tutors TO bench_app;
SET SESSION AUTHORIZATION bench_app;
CREATE TEMP TABLE times (ms double precision);
DO $$
DECLARE
    r record;
    t timestamptz;
    k bigint;
BEGIN
    FOR i IN 1 .. 3 LOOP
        FOR r IN SELECT tutor_id FROM pg_temp.tutors LOOP
            PERFORM pg_catalog.set_config('engage.viewer', r.tutor_id, true);
            t := clock_timestamp();
            SELECT count(*) INTO k FROM engage.my_students;
            INSERT INTO pg_temp.times VALUES (extract(epoch FROM clock_timestamp() - t) * 1000);
        END LOOP;
    END LOOP;
END $$;
SELECT 'tutees_p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) FROM pg_temp.times;
SELECT 'tutees_p95 ' || round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 2) FROM pg_temp.times;
SQL
}
measure one > "$work/one.txt" || exit 1
measure postgres > "$work/cluster.txt" || exit 1
echo
echo "| $students students, 30 days | one server | cluster | cluster / one server |"
echo "|---|---|---|---|"
paste -d ' ' "$work/one.txt" "$work/cluster.txt" | while read -r what a _ b; do
    case $what in
        refresh30) label="engage.refresh, 30 days (ms)" ;;
        refresh1) label="engage.refresh, 1 day (ms)" ;;
        tutees_p50) label="my_students for a tutor, web role, p50 (ms)" ;;
        tutees_p95) label="my_students for a tutor, web role, p95 (ms)" ;;
        *) label=$what ;;
    esac
    echo "| $label | $a | $b | $(awk "BEGIN { printf \"%.2f\", $b / $a }") |"
done
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, PostgreSQL $($c -c 'SHOW server_version'), Citus $($c -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"); all three servers on it"
} 2>&1 | tee "$out"
echo "written to $out"
