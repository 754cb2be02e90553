#!/bin/sh
# The nightly job under pg_cron, as docs/nightly-job.md schedules it: on a
# private server with pg_cron preloaded, the loader's job runs
# CALL engage.refresh(), logs its run in engage.refresh_run, and a run that
# fails is reported by pg_cron with engage's message.  pg_cron schedules by
# the minute, so the jobs are moved to run every minute and the test waits
# for the next one (up to a minute and a half); a second database without
# weights fails in the same minute.
set -u
cd "$(dirname "$0")/../.."
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
libdir=$("${PG_CONFIG:-pg_config}" --pkglibdir)
if [ ! -e "$libdir/pg_cron.so" ]; then
    echo "1..0 # skip (skipped) pg_cron is not installed for the PostgreSQL in $bindir"
    exit 0
fi
work=$(mktemp -d /tmp/engage-cron.XXXXXX)
port=$(( 30000 + ($$ + 11) % 20000 ))
db=warehouse
# shellcheck source=../lib.sh
. test/lib.sh
export PGHOST="$work" PGPORT="$port" PGUSER=postgres
psql="psql -X -q -At -v ON_ERROR_STOP=1 -d $db"
cleanup() {
    server_stop "$work"
    rm -rf "$work"
}
trap cleanup EXIT


echo "1..6"
server_init "$work" &&
    server_start "$work" "$port" shared_preload_libraries=pg_cron cron.database_name=$db \
        cron.use_background_workers=on max_worker_processes=16 &&
    createdb $db && createdb broken &&
    $psql -c "SET client_min_messages = warning" -c "CREATE EXTENSION engage" -c "CREATE EXTENSION pg_cron" \
          -c "CREATE ROLE etl_nightly LOGIN IN ROLE engage_loader" &&
    $psql -v students=60 -v days=10 -f test/datagen.sql >/dev/null &&
    psql -X -q -v ON_ERROR_STOP=1 -d broken -c "SET client_min_messages = warning" -c "CREATE EXTENSION engage" &&
    psql -X -q -v ON_ERROR_STOP=1 -d broken -v students=60 -v days=10 -f test/datagen.sql >/dev/null &&
    psql -X -q -v ON_ERROR_STOP=1 -d broken -c "DELETE FROM engage.coefficients"
if [ $? -ne 0 ]; then
    echo "not ok 1 - a server with pg_cron and a small university loaded up to yesterday"
    tail -20 "$work/server.log" | sed 's/^/# /'
    exit 1
fi
ok 0 "a server with pg_cron and a small university loaded up to yesterday"

# the schedule of docs/nightly-job.md, in the warehouse database, as the loader
$psql -c "SELECT cron.schedule_in_database('engage-nightly', '15 2 * * *', 'CALL engage.refresh()',
                                           '$db', 'etl_nightly')" >/dev/null &&
    [ "$($psql -c "SELECT schedule || ' ' || command || ' as ' || username FROM cron.job
                   WHERE jobname = 'engage-nightly'")" = "15 2 * * * CALL engage.refresh() as etl_nightly" ]
ok $? "the nightly job is scheduled as the documentation says"

# the same job every minute, so that the test sees it run; and the same job in
# a database without weights for the year, where the refresh stops
$psql -c "SELECT cron.alter_job(jobid, schedule => '* * * * *') FROM cron.job WHERE jobname = 'engage-nightly'" \
      -c "SELECT cron.schedule_in_database('engage-nightly-broken', '* * * * *', 'CALL engage.refresh()',
                                           'broken', 'etl_nightly')" >/dev/null
until_true "SELECT count(DISTINCT jobid) = 2 FROM cron.job_run_details WHERE status IN ('succeeded', 'failed')"
ok $? "pg_cron runs both jobs"
$psql -c "SELECT j.jobname || ': ' || d.status || ': ' || d.return_message
          FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid) ORDER BY d.runid" | head -4 | sed 's/^/# /'
[ "$($psql -c "SELECT count(*) > 0 AND bool_and(d.status = 'succeeded')
               FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)
               WHERE j.jobname = 'engage-nightly' AND d.status <> 'running'")" = t ]
ok $? "the nightly job succeeds"
[ "$($psql -c "SELECT count(*) > 0 AND bool_and(from_day = engage.today() - 1 AND to_day = engage.today() - 1
                                               AND run_by = 'etl_nightly' AND rows_written > 0)
               FROM engage.refresh_run")" = t ]
ok $? "it refreshed yesterday as the loader and logged the run in engage.refresh_run"
[ "$($psql -c "SELECT bool_and(d.status = 'failed' AND d.return_message LIKE '%no coefficients for college%')
               FROM cron.job_run_details AS d JOIN cron.job AS j USING (jobid)
               WHERE j.jobname = 'engage-nightly-broken' AND d.status <> 'running'")" = t ] &&
    [ "$(psql -X -At -d broken -c "SELECT count(*) FROM engage.refresh_run")" = 0 ]
ok $? "a failed run is reported by pg_cron with engage's message, and logs no run"
