#!/bin/sh
# backfill.sh STUDENTS: inside a throw-away cluster, loads the academic year
# 2025/26 for STUDENTS students (about 6,300 page views each) and backfills
# the whole year with one engage.refresh, reporting its elapsed time and the
# backend's peak memory.
set -eu
students=$1
psql="psql -X -q -v ON_ERROR_STOP=1"
echo "loading $students students, the academic year 2025/26 ..."
$psql -v students="$students" -v days=365 -v views_per_day=23 -v end_day=2026-07-31 -f test/datagen.sql
$psql -c "VACUUM ANALYZE"
$psql -At <<'SQL'
SELECT count(*) || ' page views from ' || min(ts)::date || ' to ' || max(ts)::date FROM engage.ele_event;
SELECT 'work_mem ' || current_setting('work_mem');
SQL
echo "CALL engage.refresh('2025-08-01', '2026-07-31'):"
$psql -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" >/dev/null
PGOPTIONS="-c pg_stat_statements.track=all" test/bench/peak.sh "CALL engage.refresh('2025-08-01', '2026-07-31')"
echo "where its time went (statements inside the call, ms):"
$psql -v run='a year' -v runs=1 -f test/bench/profile.sql \
    -c "SELECT round(ms::numeric) AS ms, round(calls::numeric) AS calls, statement FROM profile ORDER BY ms DESC"
$psql -At -c "SELECT rows_written || ' rows written for ' || students || ' students' FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1"
