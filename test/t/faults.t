#!/bin/sh
# Faults: the backend killed with SIGKILL, and the server stopped in
# immediate mode (a power cut, as far as the data directory can tell), while a
# refresh is writing and while page views are being loaded.  After crash
# recovery nothing the interrupted transaction wrote is visible, everything
# committed before it is kept, and every index passes amcheck.
#
# Each fault strikes at a point the test holds the victim at, so it cannot
# finish first: the refresh waits for a lock on cohort_week after it has
# written every daily row; the load waits for the rest of its COPY input
# after the first rows have gone in.
set -u
cd "$(dirname "$0")/../.."
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
work=$(mktemp -d /tmp/engage-faults.XXXXXX)
port=$(( 30000 + ($$ + 7) % 20000 ))
db=engage_faults
# shellcheck source=../lib.sh
. test/lib.sh
export PGHOST="$work" PGPORT="$port" PGUSER=postgres
psql="psql -X -q -At -v ON_ERROR_STOP=1 -d $db"
pids=""
# a COPY's input is held open until the file named exists
hold() { i=0; while [ ! -e "$work/$1" ] && [ $i -lt 3000 ]; do i=$((i + 1)); sleep 0.2; done; }
cleanup() {
    touch "$work/release1" "$work/release2"
    for p in $pids; do kill "$p" 2>/dev/null; done
    server_stop "$work"
    sleep 0.5
    rm -rf "$work"
}
trap cleanup EXIT

start() { server_start "$work" "$port"; }
# waits until a session of the given application name waits for a lock, or
# for its client; fails after 60 seconds
wait_for() {
    i=0
    until [ "$($psql -c "SELECT count(*) FROM pg_stat_activity
                         WHERE application_name = '$1' AND wait_event = '$2'")" = 1 ]; do
        i=$((i + 1)); [ $i -lt 600 ] || return 1; sleep 0.1
    done
}
backend() { $psql -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$1'"; }
# one line per table: rows and a digest of them
digest() {
    $psql <<'SQL'
SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(t::text, ''|'' ORDER BY t::text)), '''') FROM engage.%I AS t',
              c.relname, c.relname)
FROM pg_class AS c WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY c.relname
\gexec
SQL
}
amcheck() {
    "$bindir/pg_amcheck" -d $db --heapallindexed --parent-check --install-missing >"$work/amcheck.log" 2>&1
}

echo "1..13"
server_init "$work" && start &&
    createdb $db && $psql -c "SET client_min_messages = warning" -c "CREATE EXTENSION engage" &&
    $psql -v students=150 -v days=28 -v end_day=2026-11-27 -f test/datagen.sql >/dev/null &&
    $psql -c "CALL engage.refresh('2026-10-31', '2026-11-20')"
ok $? "a private server with a small university, refreshed"

# A refresh killed after writing every daily row of its range
digest >"$work/before"
$psql -c "BEGIN" -c "LOCK engage.cohort_week" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
pids="$pids $!"
PGAPPNAME=victim $psql -c "CALL engage.refresh('2026-10-31', '2026-11-27')" >/dev/null 2>&1 &
pids="$pids $!"
wait_for victim relation
ok $? "a refresh is held after writing its daily rows"
kill -9 "$(backend victim)"
sleep 1
until "$bindir/pg_isready" -q; do sleep 0.2; done
digest >"$work/after"
equal "$work/before" "$work/after" "after kill -9 of the refreshing backend every table is as before"

# A page-view load killed half way through its COPY
committed=$($psql -c "INSERT INTO engage.ele_event (student_id, ts, module_code)
                      SELECT student_id, '2026-11-28 10:00+00'::timestamptz + n * interval '1 minute', NULL
                      FROM engage.student, generate_series(1, 3) AS n RETURNING 1" | wc -l)
digest >"$work/before"
{
    $psql -c "COPY (SELECT student_id, '2026-11-28 12:00+00'::timestamptz + n * interval '1 second', NULL
                    FROM engage.student, generate_series(1, 200) AS n) TO STDOUT"
    hold release1
} 2>/dev/null | PGAPPNAME=loader $psql -c "COPY engage.ele_event (student_id, ts, module_code) FROM STDIN" >/dev/null 2>&1 &
pids="$pids $!"
wait_for loader ClientRead
ok $? "a COPY of page views is held after its first rows"
kill -9 "$(backend loader)"
sleep 1
until "$bindir/pg_isready" -q; do sleep 0.2; done
digest >"$work/after"
equal "$work/before" "$work/after" "after kill -9 of the loading backend every table is as before"
[ "$($psql -c "SELECT count(*) FROM engage.ele_event WHERE ts BETWEEN '2026-11-28 10:00+00' AND '2026-11-28 10:05+00'")" = "$committed" ]
ok $? "the $committed page views committed before the crash are kept"

# The same two faults as an immediate shutdown of the whole server
touch "$work/release1"
for p in $pids; do kill "$p" 2>/dev/null; done
pids=""
digest >"$work/before"
$psql -c "BEGIN" -c "LOCK engage.cohort_week" -c "SELECT pg_sleep(600)" >/dev/null 2>&1 &
pids="$pids $!"
PGAPPNAME=victim $psql -c "CALL engage.refresh('2026-10-31', '2026-11-27')" >/dev/null 2>&1 &
pids="$pids $!"
{
    $psql -c "COPY (SELECT student_id, '2026-11-28 13:00+00'::timestamptz + n * interval '1 second', NULL
                    FROM engage.student, generate_series(1, 200) AS n) TO STDOUT"
    hold release2
} 2>/dev/null | PGAPPNAME=loader $psql -c "COPY engage.ele_event (student_id, ts, module_code) FROM STDIN" >/dev/null 2>&1 &
pids="$pids $!"
wait_for victim relation && wait_for loader ClientRead
ok $? "a refresh and a load are both held mid-way"
server_stop "$work"
for p in $pids; do kill "$p" 2>/dev/null; done
pids=""
start
ok $? "the server recovers from an immediate shutdown"
digest >"$work/after"
equal "$work/before" "$work/after" "after the immediate shutdown every table is as before"

amcheck
ok $? "every index and table passes amcheck after the crashes"
[ -s "$work/amcheck.log" ] && sed 's/^/# /' "$work/amcheck.log" | head -20

$psql -c "CALL engage.refresh('2026-10-31', '2026-11-27')" &&
    [ "$($psql -c "SELECT count(*) FROM engage.refresh_run")" = 2 ]
ok $? "a refresh runs to the end after recovery, and the log counts only completed runs"
$psql -c "SELECT engage.ele_minutes(ts, module_code) IS NOT NULL FROM engage.ele_event GROUP BY student_id" >/dev/null
ok $? "the page views read back after recovery"
amcheck
ok $? "and amcheck still passes after the refresh"
