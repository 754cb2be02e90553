#!/bin/sh
# Loading page views: the loading path (COPY into engage.stage_ele_event as a
# member of engage_loader, then engage.load, validation on) beside a
# superuser's plain COPY into engage.ele_event, on the same file in the same
# run, and a re-send of the file (all duplicates).  Runs inside the
# benchmark's cluster; LOAD_ROWS page views (default 10 million x SCALE)
# for 25,000 students.  Prints seconds and the ratio to the plain COPY.
set -eu
rows=${LOAD_ROWS:-$(awk "BEGIN { printf \"%d\", 10000000 * ${SCALE:-1} }")}
db=engage_load
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
psql="psql -X -q -v ON_ERROR_STOP=1 -d $db"

dropdb --if-exists $db
createdb $db
$psql <<'SQL'
CREATE EXTENSION engage;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year VALUES ('2025/26', '2025-08-01', '2026-07-31'), ('2026/27', '2026-08-01', '2027-07-31');
INSERT INTO engage.module SELECT 'BIO' || (1000 + i), 'Module ' || i, 'CLES' FROM generate_series(1, 200) AS i;
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
SELECT (690000000 + i)::text, 'Student ' || i, 'CLES', 'BSc Biology', 1 + i % 3 FROM generate_series(1, 25000) AS i;
CREATE ROLE bench_etl LOGIN IN ROLE engage_loader;
SQL
echo "writing $rows page views to a CSV file ..."
$psql -c "\copy (SELECT (690000001 + (i::bigint * 7919) % 25000)::text,
                        timestamptz '2026-09-21 00:00+00' + (i % 5000000) * interval '1 second' + (i / 5000000) * interval '1 millisecond',
                        CASE WHEN i % 10 = 0 THEN NULL ELSE 'BIO' || (1001 + i % 200) END
                 FROM generate_series(1, $rows) AS i) TO '$dir/views.csv' WITH (FORMAT csv)"
echo "file: $(du -h "$dir/views.csv" | cut -f1)"

reset() {
    $psql -c "TRUNCATE engage.ele_event, engage.refresh_stale" -c "VACUUM ANALYZE engage.ele_event" -c "CHECKPOINT"
}
# seconds taken by a psql session running the given commands
timed() {
    t0=$(date +%s.%N)
    $psql "$@" >/dev/null
    t1=$(date +%s.%N)
    awk "BEGIN { printf \"%.1f\", $t1 - $t0 }"
}

reset
plain=$(timed -c "\copy engage.ele_event (student_id, ts, module_code) FROM '$dir/views.csv' WITH (FORMAT csv)")
plain_rows=$($psql -At -c "SELECT count(*) FROM engage.ele_event")
reset
path=$(timed -c "SET SESSION AUTHORIZATION bench_etl" \
             -c "\copy engage.stage_ele_event (student_id, ts, module_code) FROM '$dir/views.csv' WITH (FORMAT csv)" \
             -c "SELECT engage.load('engage.ele_event')")
path_rows=$($psql -At -c "SELECT loaded || ' loaded, ' || rejected || ' rejected' FROM engage.load_run ORDER BY run_id DESC LIMIT 1")
$psql -c "VACUUM ANALYZE engage.ele_event" -c "CHECKPOINT"
resend=$(timed -c "SET SESSION AUTHORIZATION bench_etl" \
               -c "\copy engage.stage_ele_event (student_id, ts, module_code) FROM '$dir/views.csv' WITH (FORMAT csv)" \
               -c "SELECT engage.load('engage.ele_event')")
resend_rows=$($psql -At -c "SELECT duplicates || ' duplicates' FROM engage.load_run ORDER BY run_id DESC LIMIT 1")

echo
echo "Loading $rows page views (25,000 students)"
printf '%-70s %8s %8s\n' "" "s" "ratio"
printf '%-70s %8s %8s\n' "superuser: COPY into engage.ele_event ($plain_rows rows)" "$plain" "1.00"
printf '%-70s %8s %8s\n' "loader: COPY into staging + engage.load ($path_rows)" "$path" \
    "$(awk "BEGIN { printf \"%.2f\", $path / $plain }")"
printf '%-70s %8s %8s\n' "loader: the same file again ($resend_rows)" "$resend" \
    "$(awk "BEGIN { printf \"%.2f\", $resend / $plain }")"
echo "(target: the loading path within 1.5 x the plain COPY)"
dropdb $db
