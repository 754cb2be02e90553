#!/bin/sh
# The web front end's real driver (npm pg) through pgbouncer in transaction
# pooling mode: viewers interleaving transactions over shared server
# connections each see only their own rows.  See test/e2e/viewers.js.
set -u
cd "$(dirname "$0")/../.."
db=engage_e2e
work=$(mktemp -d /tmp/engage-pgbouncer.XXXXXX)
port=$(( 20000 + $$ % 20000 ))
cleanup() {
    [ -f "$work/pgbouncer.pid" ] && kill "$(cat "$work/pgbouncer.pid")" 2>/dev/null
    sleep 0.5
    dropdb --if-exists $db >/dev/null 2>&1
    psql -X -q -d postgres -c 'DROP ROLE IF EXISTS e2e_app' >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

if ! command -v pgbouncer >/dev/null || ! command -v node >/dev/null; then
    echo "1..1"; echo "not ok 1 - pgbouncer and node are installed (make deps)"; exit 1
fi
if [ ! -d test/e2e/node_modules/pg ]; then
    (cd test/e2e && npm ci --no-audit --no-fund --silent) || { echo "1..1"; echo "not ok 1 - npm ci"; exit 1; }
fi

dropdb --if-exists $db >/dev/null 2>&1
createdb $db
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL' || { echo "1..1"; echo "not ok 1 - set-up"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION engage;
DROP ROLE IF EXISTS e2e_app;
CREATE ROLE e2e_app LOGIN PASSWORD 'e2e-secret' IN ROLE engage_app;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM (SELECT extract(year FROM engage.local_day(now()) - 212)::int AS y) AS t;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES');
INSERT INTO engage.staff VALUES ('T1', 'Dr One', NULL), ('T2', 'Dr Two', NULL);
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
SELECT s, 'Student ' || s, 'CLES', 'BSc Biology', 1 FROM unnest(ARRAY['S1', 'S2', 'S3']) AS s;
INSERT INTO engage.tutoring VALUES ('T1', 'S1', engage.local_day(now()) - 30, NULL),
                                   ('T1', 'S2', engage.local_day(now()) - 30, NULL),
                                   ('T2', 'S3', engage.local_day(now()) - 30, NULL);
INSERT INTO engage.consent (student_id, academic_year, granted)
VALUES ('S1', engage.current_academic_year(), true), ('S3', engage.current_academic_year(), true);
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark)
SELECT s, 'BIO1001', 'Essay', 'coursework', 60 FROM unnest(ARRAY['S1', 'S2', 'S3']) AS s;
SQL

server_host=${PGHOST:-localhost}
case "$server_host" in /*) ;; *) server_host=127.0.0.1 ;; esac
cat > "$work/userlist.txt" <<EOF2
"e2e_app" "e2e-secret"
EOF2
cat > "$work/pgbouncer.ini" <<EOF2
[databases]
$db = host=$server_host port=${PGPORT:-5432} dbname=$db
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $work/userlist.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 50
pidfile = $work/pgbouncer.pid
logfile = $work/pgbouncer.log
EOF2
as_user=""
[ "$(id -u)" -eq 0 ] && { chown -R postgres "$work"; as_user="-u postgres"; }
# shellcheck disable=SC2086
pgbouncer -d $as_user "$work/pgbouncer.ini" || { echo "1..1"; echo "not ok 1 - pgbouncer starts"; exit 1; }
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -f "$work/pgbouncer.pid" ] && break; sleep 0.5; done

PGBOUNCER_PORT=$port node test/e2e/viewers.js
status=$?
[ $status -eq 0 ] || sed 's/^/# /' "$work/pgbouncer.log" | tail -20
exit $status
