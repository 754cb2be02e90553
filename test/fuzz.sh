#!/bin/sh
# Throws random SQL from sqlsmith at a loaded engage database, logged in as
# each kind of user in turn, and fails if a backend crashes.  sqlsmith builds
# its queries from what the role can see (tables, views, every function and
# operator), so each role reaches engage's C code and the row-level security
# around it from its own side.  Queries that fail with an SQL error are the
# normal case; only a crash, a PANIC or a failed assertion counts.
#
#   FUZZ_QUERIES  queries per role (default 2000; 50000 for a long run)
#   FUZZ_SEED     base of the per-role seeds (default 1): the same seed and
#                 count give the same queries against the same data
#   FUZZ_SECONDS  wall-clock limit per role (default 30 + FUZZ_QUERIES / 40:
#                 a few hundred queries a second is usual, so the limit stops
#                 a run that hangs or crawls, never a healthy one)
#   FUZZ_END_DAY  last day of the synthetic data (default yesterday): with
#                 the seed, what a replay of a failed run needs
set -eu
cd "$(dirname "$0")/.."
. test/lib.sh

PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
export PG_CONFIG
bindir=$("$PG_CONFIG" --bindir)
PATH=$bindir:$PATH
export PATH
port=${FUZZ_PORT:-55479}
queries=${FUZZ_QUERIES:-2000}
seed=${FUZZ_SEED:-1}
seconds=${FUZZ_SECONDS:-$((30 + queries / 40))}
db=engage_fuzz
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"

if ! command -v sqlsmith >/dev/null 2>&1; then
    echo "fuzz: installing sqlsmith"
    apt-cache show sqlsmith >/dev/null 2>&1 || $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq sqlsmith >/dev/null
fi

work=$(mktemp -d /tmp/engage-fuzz.XXXXXX)
setting_up=1
smith=""
cleanup() {
    rc=$?
    # sqlsmith would keep reconnecting to the stopped server until its time limit
    [ -z "$smith" ] || kill "$smith" 2>/dev/null || true
    if [ $rc -ne 0 ] && [ $setting_up -eq 1 ] && [ -f "$work/server.log" ]; then
        echo "fuzz: FAILED while setting up; the end of the server log:"
        tail -n 20 "$work/server.log"
    fi
    server_stop "$work"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

make -s clean PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG"
$as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null

server_init "$work"
# log_min_messages=log keeps the thousands of ERRORs of sqlsmith's failing
# queries out of the log, and the postmaster's crash reports (LOG) in it
server_start "$work" "$port" shared_buffers=64MB log_min_messages=log ||
    { echo "fuzz: server did not start"; cat "$work/server.log"; exit 1; }
export PGHOST="$work" PGPORT="$port" PGUSER=postgres
psql="psql -X -q -v ON_ERROR_STOP=1 -d $db"

echo "== loading a synthetic university of 200 students over 21 days"
createdb "$db"
$psql -c 'CREATE EXTENSION engage'
end_day=${FUZZ_END_DAY:-$($psql -At -c "SELECT (now() AT TIME ZONE 'Europe/London')::date - 1")}
from_day=$($psql -At -c "SELECT '$end_day'::date - 20")
$psql -v students=200 -v days=21 -v end_day="$end_day" -f test/datagen.sql >/dev/null
$psql -c "CALL engage.refresh('$from_day', '$end_day')"

# One login per group role.  The tutor is the one with the most current
# tutees and the student one of them, consenting if one does, so that their
# views have rows; the administrator is a member of staff who tutors nobody.
# engage_app names no viewer: sqlsmith runs one statement per transaction and
# never a SET, so the web role sees what a front end that forgot to sees.
tutor=$($psql -At -c "
    SELECT f.login_role FROM engage.staff AS f JOIN engage.tutoring AS t ON t.tutor_id = f.staff_id
    WHERE f.login_role IS NOT NULL AND t.valid_from <= engage.today()
      AND (t.valid_to IS NULL OR t.valid_to > engage.today())
    GROUP BY f.login_role ORDER BY count(*) DESC, f.login_role LIMIT 1")
student=$($psql -At -v tutor="$tutor" <<'EOF'
SELECT s.login_role FROM engage.student AS s
JOIN engage.tutoring AS t USING (student_id) JOIN engage.staff AS f ON f.staff_id = t.tutor_id
WHERE f.login_role = :'tutor' AND s.login_role IS NOT NULL AND t.valid_from <= engage.today()
  AND (t.valid_to IS NULL OR t.valid_to > engage.today())
ORDER BY EXISTS (SELECT FROM engage.consent_latest AS c WHERE c.student_id = s.student_id AND c.granted) DESC,
         s.student_id
LIMIT 1
EOF
)
admin=$($psql -At -c "
    SELECT coalesce((SELECT login_role FROM engage.staff AS f
                     WHERE login_role IS NOT NULL
                       AND NOT EXISTS (SELECT FROM engage.tutoring AS t WHERE t.tutor_id = f.staff_id)
                     ORDER BY staff_id LIMIT 1), 'fuzz_admin')")
if [ -z "$tutor" ] || [ -z "$student" ]; then
    echo "fuzz: the data has no tutor with a tutee"
    exit 1
fi
logins="student:$student tutor:$tutor admin:$admin analyst:fuzz_analyst app:fuzz_app loader:fuzz_loader"
for entry in $logins; do
    kind=${entry%%:*}
    echo 'CREATE ROLE :"login" LOGIN IN ROLE :"grp";' | $psql -v login="${entry#*:}" -v grp="engage_$kind"
done

# sqlsmith prints one character a query: . ran, e failed, S syntax error,
# t timed out, C lost the connection
count() { printf '%s' "$progress" | tr -cd "$1" | wc -c; }

setting_up=0
# The postmaster resets the cluster after any child's abnormal end: it logs
# the child ("server process (PID n)" in 15, "client backend (PID n)" in 18)
# with its query in a DETAIL record, then "terminating any other active
# server processes".  A parallel worker whose query fails exits with code 1,
# which is logged too but is no crash.  An assert-enabled build writes a
# failed assertion (TRAP:) straight to stderr.
crash_re='was terminated by|terminating any other active server processes|PANIC:|TRAP:'
exit_re='\(PID [0-9]+\) (was terminated by|exited with exit code)'
crashes_since() {
    # A record runs from a line with a timestamp to the next one: the query
    # may span lines.  Each crash comes out with the child's record and its
    # DETAIL just before it, each record once.
    tail -n +"$1" "$work/server.log" | awk -v re="$crash_re" -v ex="$exit_re" '
        function flush() {
            n++; r[n] = rec; delete r[n - 3]
            if (rec !~ re) return
            from = n
            if (rec ~ /terminating any other/) {
                if (r[n - 1] ~ /DETAIL:/ && r[n - 2] ~ ex) from = n - 2
                else if (r[n - 1] ~ ex) from = n - 1
            }
            for (k = from; k <= n; k++) if (k > last) print r[k]
            last = n
        }
        /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { if (NR > 1) flush(); rec = $0; next }
        { rec = rec "\n" $0 }
        END { if (NR > 0) flush() }'
}

status=0
keep=""
i=0
total=0
for entry in $logins; do
    kind=${entry%%:*}
    login=${entry#*:}
    i=$((i + 1))
    role_seed=$((seed * 100 + i))
    log_from=$(($(wc -l <"$work/server.log") + 1))
    # The queries go to a file as they are generated (stdout), the progress
    # characters and sqlsmith's own report to another (stderr).  Without
    # the catalog's relations in the FROM lists three times as many
    # references land on engage's tables and views; every function, the
    # catalog's included, is still called.
    timeout -k 10 "$seconds" sqlsmith --target="host=$work port=$port dbname=$db user=$login" \
        --seed="$role_seed" --max-queries="$queries" --exclude-catalog --verbose --dump-all-queries \
        >"$work/$kind.sql" 2>"$work/$kind.err" &
    smith=$!
    # sqlsmith goes on after a crash, waiting a second for each reconnection:
    # stop it at the first, whose query is the one to look at
    crashed=0
    while kill -0 $smith 2>/dev/null; do
        if [ -n "$(crashes_since "$log_from")" ]; then
            crashed=1
            kill $smith 2>/dev/null || true
            break
        fi
        sleep 1
    done
    rc=0
    # (quiet: the shell would say "Terminated" of the stopped job)
    wait $smith 2>/dev/null || rc=$?
    smith=""

    progress=$(grep -E '^[.eStC]+$' "$work/$kind.err" | tr -d '\n' || true)
    ran=$(count '.eStC')
    total=$((total + ran))
    line="$kind ($login, seed $role_seed): $ran queries, $(count 'eS') errors, $(count t) timeouts, $(count C) lost connections"
    if [ $crashed -eq 1 ]; then
        line="$line; stopped at the first crash"
    elif [ $rc -eq 124 ]; then
        line="$line; stopped at the time limit of ${seconds}s"
    elif [ $rc -ne 0 ]; then
        line="$line; sqlsmith failed (exit $rc)"
        status=1
        tail -n 5 "$work/$kind.err"
    fi
    echo "$line"

    crashes=$(crashes_since "$log_from")
    if [ -n "$crashes" ]; then
        status=1
        [ -n "$keep" ] || keep=$(mktemp -d /tmp/engage-fuzz-crash.XXXXXX)
        cp "$work/$kind.sql" "$work/$kind.err" "$work/server.log" "$keep/"
        echo "---- server log: crash while fuzzing as $kind"
        echo "$crashes"
        # The DETAIL above has the crashed query's first 1024 bytes only.
        # sqlsmith waits a second before its next query after losing the
        # connection, and is stopped within one, so the whole query is one
        # of the last few it wrote (each ends with ";" at the end of a line).
        echo "---- the last 3 queries sqlsmith sent as $kind (all of them in $keep/$kind.sql)"
        awk '{ q = q $0 "\n" } /;$/ { last[++n] = q; q = "" }
             END { for (k = n > 2 ? n - 2 : 1; k <= n; k++) printf "%s", last[k] }' "$work/$kind.sql"
        echo "---- to replay the run: FUZZ_QUERIES=$queries FUZZ_SEED=$seed FUZZ_END_DAY=$end_day test/fuzz.sh"
    else
        # a long run writes hundreds of megabytes of queries per role
        rm -f "$work/$kind.sql"
    fi
done

if ! as_server "$bindir/pg_ctl" -D "$work/data" status >/dev/null 2>&1 || ! pg_isready -q; then
    echo "fuzz: the server is not running at the end"
    tail -n 20 "$work/server.log"
    status=1
fi
if [ $status -ne 0 ]; then
    [ -z "$keep" ] || echo "fuzz: the queries of the roles that crashed the server and its log are kept in $keep"
    echo "fuzz: FAILED: $total queries as $i roles (seed $seed)"
    exit 1
fi
echo "fuzz: passed: $total queries as $i roles (seed $seed), no crash"
