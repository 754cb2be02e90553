#!/bin/sh
# make demo: build and install engage, start a throw-away cluster, load a
# synthetic university, run the nightly computation over the term so far and
# show what a tutor and a student see today: in psql, or with `test/demo.sh web`
# (make demo-web) in the example web front end of examples/web until it is
# stopped with Ctrl-C.  The cluster is removed at the end.
set -eu
cd "$(dirname "$0")/.."

PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"

echo "Building and installing engage ..."
make -s PG_CONFIG="$PG_CONFIG" >/dev/null
$as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

DEMO_STUDENTS=${DEMO_STUDENTS:-2000}
DEMO_DAYS=${DEMO_DAYS:-70}
DEMO_SHOW=${1:-psql}
export DEMO_STUDENTS DEMO_DAYS DEMO_SHOW
pg_virtualenv -t -v "$PG_MAJOR" sh -c '
    set -e
    psql="psql -X -q -v ON_ERROR_STOP=1"
    end_day=$($psql -At -c "SELECT ((now() AT TIME ZONE '\''Europe/London'\'')::date - 1)::text")
    from_day=$($psql -At -c "SELECT ('\''$end_day'\''::date - $DEMO_DAYS + 1)::text")
    $psql -c "CREATE EXTENSION engage"
    echo "Loading a synthetic university of $DEMO_STUDENTS students, $from_day to $end_day ..."
    $psql -v students="$DEMO_STUDENTS" -v days="$DEMO_DAYS" -v end_day="$end_day" -f test/datagen.sql
    test/demo_load.sh "$end_day"
    echo "Running the nightly computation over the term so far ..."
    $psql -c "CALL engage.refresh('\''$from_day'\'', '\''$end_day'\'')"
    $psql -At -c "SELECT format('\''  %s days, %s students, %s rows in %s'\'', days, students, rows_written,
                                  date_trunc('\''millisecond'\'', finished_at - started_at))
                  FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1"
    if [ "$DEMO_SHOW" = web ]; then
        echo "Starting the web front end: open http://127.0.0.1:${PORT:-8080}/ (Ctrl-C stops it) ..."
        examples/web/start.sh
    else
        $psql -f test/demo.sql
    fi
'
