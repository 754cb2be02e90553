#!/bin/sh
# engage.viewer names the viewer only in the transaction that set it: on a
# pooled connection nothing carries over to the next transaction, whether the
# value was set with SET LOCAL, with a plain SET, or before engage was loaded.
set -u
cd "$(dirname "$0")/../.."
db=engage_viewer_tx
dropdb --if-exists $db >/dev/null 2>&1
createdb $db
trap 'dropdb --if-exists $db >/dev/null 2>&1; psql -X -q -d postgres -c "DROP ROLE IF EXISTS viewer_tx_app" >/dev/null 2>&1' EXIT

psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION engage;
DROP ROLE IF EXISTS viewer_tx_app;
CREATE ROLE viewer_tx_app LOGIN IN ROLE engage_app;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
VALUES ('S1', 'Sam One', 'CLES', 'BSc Biology', 1);
SQL

# Each block is one psql session as the pooled role; it prints one count per query.
session() {
    psql -X -q -At -v ON_ERROR_STOP=1 -d $db -c 'SET SESSION AUTHORIZATION viewer_tx_app' -f - 2>&1 | tr '\n' ' '
}

n=0
check() {
    n=$((n + 1))
    if [ "$1" = "$2" ]; then echo "ok $n - $3"; else echo "not ok $n - $3"; echo "# got '$1', wanted '$2'"; fi
}

echo "1..7"
got=$(session <<'SQL'
BEGIN; SET LOCAL engage.viewer = 'S1'; SELECT count(*) FROM engage.my_students; COMMIT;
BEGIN; SELECT count(*) FROM engage.my_students; COMMIT;
SQL
)
check "$got" "1 0 " "SET LOCAL names the viewer for its transaction only"

got=$(session <<'SQL'
SELECT count(*) FROM engage.my_students;
SET engage.viewer = 'S1';
SELECT count(*) FROM engage.my_students;
SQL
)
check "$got" "0 0 " "a plain SET in an earlier transaction names nobody in the next"

got=$(session <<'SQL'
BEGIN; SET engage.viewer = 'S1'; SELECT count(*) FROM engage.my_students; COMMIT;
SELECT count(*) FROM engage.my_students;
SQL
)
check "$got" "1 0 " "a plain SET counts in its own transaction, not after it"

got=$(session <<'SQL'
SET engage.viewer = 'S1';
SELECT count(*) FROM engage.my_students;
SQL
)
check "$got" "0 " "a value set before engage was loaded in the session names nobody later"

got=$(session <<'SQL'
BEGIN; SET LOCAL engage.viewer = 'S1'; SELECT count(*) FROM engage.my_students; ROLLBACK;
BEGIN; SET LOCAL engage.viewer = 'S1'; SAVEPOINT a; SET LOCAL engage.viewer = 'nobody'; ROLLBACK TO a;
SELECT count(*) FROM engage.my_students; COMMIT;
SQL
)
check "$got" "1 1 " "the first transaction of a new connection works, and a rolled-back change is undone"

# A database or role default names nobody, even when RESET inside a
# transaction brings it back as the value in force.
psql -X -q -d $db -c "ALTER DATABASE $db SET engage.viewer = 'S1'" >/dev/null
got=$(session <<'SQL'
SELECT count(*) FROM engage.my_students;
BEGIN; RESET engage.viewer; SELECT count(*) FROM engage.my_students; COMMIT;
BEGIN; SET LOCAL engage.viewer = 'S1'; SELECT count(*) FROM engage.my_students; COMMIT;
SQL
)
check "$got" "0 0 1 " "a database default, even brought back by RESET, names nobody"

# A session's first query loads engage while it runs: EXPLAIN ANALYZE as the
# first statement is refused all the same (it would count hidden rows)
got=$(psql -X -q -At -d $db -c 'SET SESSION AUTHORIZATION viewer_tx_app' \
          -c 'EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM engage.attendance' 2>&1 | grep -c 'EXPLAIN ANALYZE of a query that reads attendance is not allowed')
check "$got" "1" "EXPLAIN ANALYZE as a session's first statement is refused"

