#!/bin/sh
# A consent withdrawal recorded while a refresh computes: when the refresh
# commits, the student has no row, and the run's log does not count theirs.
# The withdrawal's transaction is held open until the refresh has computed
# and waits for it, then committed; without that wait the refresh would
# commit rows computed before the withdrawal.  Meanwhile the refresh holds
# the partition of the year it made, and readers keep reading.
set -u
cd "$(dirname "$0")/../.."
# shellcheck source=../lib.sh
. test/lib.sh
db=engage_concurrency
work=$(mktemp -d /tmp/engage-concurrency.XXXXXX)
psql="psql -X -q -At -v ON_ERROR_STOP=1 -d $db"
cleanup() {
    touch "$work/release"
    sleep 0.5
    dropdb --if-exists $db >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

echo "1..6"
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && $psql -c "SET client_min_messages = warning" -c "CREATE EXTENSION engage" &&
    $psql -v students=60 -v days=10 -f test/datagen.sql >/dev/null
ok $? "a small university loaded up to yesterday"
student=$($psql -c "SELECT cl.student_id FROM engage.consent_latest AS cl
                    WHERE cl.granted AND cl.academic_year = engage.current_academic_year()
                    ORDER BY 1 LIMIT 1")

# the withdrawal, recorded and held uncommitted until released
held_open "INSERT INTO engage.consent (student_id, academic_year, granted)
           VALUES ('$student', engage.current_academic_year(), false)" "$work/release" |
    PGAPPNAME=withdrawal psql -X -q -d $db >/dev/null 2>&1 &
until_true "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'withdrawal' AND state = 'idle in transaction'"
ok $? "student $student's withdrawal is recorded, not yet committed"

PGAPPNAME=refresh $psql -c "CALL engage.refresh(engage.today() - 10, engage.today() - 1)" >"$work/refresh.log" 2>&1 &
refresh=$!
until_true "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'refresh' AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
ok $? "the refresh computes, then waits for the decision being recorded before it purges"

# the run attached the year's partition and indexed it, and holds both until
# it commits: a reader neither waits nor sees them
[ "$($psql -c "SET lock_timeout = '5s'" \
           -c "SELECT count(*) FROM engage.dashboard_engagement" \
           -c "SELECT count(*) || ' rows, ' || (SELECT count(*) FROM pg_inherits
                                                 WHERE inhparent = 'engage.daily_engagement'::regclass) || ' partitions'
               FROM engage.daily_engagement" | tr '\n' ' ')" = "0 0 rows, 0 partitions " ]
ok $? "while the refresh holds the year's new partition, readers read without waiting"

touch "$work/release"
wait $refresh
[ "$($psql -c "SELECT count(*) FROM engage.daily_engagement AS d
               JOIN engage.academic_year AS y ON d.day BETWEEN y.starts AND y.ends
               WHERE d.student_id = '$student' AND y.label = engage.current_academic_year()")" = 0 ]
ok $? "when the refresh commits, the student who withdrew meanwhile has no row"
cat "$work/refresh.log" | sed 's/^/# /'

[ "$($psql -c "SELECT r.rows_written = (SELECT count(*) FROM engage.daily_engagement AS d
                                         WHERE d.day BETWEEN r.from_day AND r.to_day)
               FROM engage.refresh_run AS r ORDER BY r.run_id DESC LIMIT 1")" = t ]
ok $? "and the run's log counts only the rows it left"
