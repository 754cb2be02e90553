#!/bin/sh
# Sharded: two throw-away servers each hold a hash partition of the page
# views by student, as postgres_fdw foreign tables of a partitioned table on
# this server.  With engage named in the servers' extensions, the aggregate is
# shipped to the shards and runs there; the result equals one server's.
set -u
cd "$(dirname "$0")/../.."
bindir=$("${PG_CONFIG:-pg_config}" --bindir)
work=$(mktemp -d /tmp/engage-shards.XXXXXX)
base=$(( 30000 + $$ % 20000 ))
db=engage_shard
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$work"
cleanup() {
    for n in 1 2; do as_server "$bindir/pg_ctl" -D "$work/s$n" stop -m immediate >/dev/null 2>&1; done
    dropdb --if-exists $db >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

echo "1..4"
for n in 1 2; do
    as_server "$bindir/initdb" -D "$work/s$n" -A trust -U postgres >/dev/null &&
    as_server "$bindir/pg_ctl" -D "$work/s$n" -l "$work/s$n.log" -w \
        -o "-p $((base + n)) -k $work -c listen_addresses=127.0.0.1" start >/dev/null &&
    psql -X -q -h "$work" -p $((base + n)) -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<'SQL' ||
SET client_min_messages = warning;
CREATE EXTENSION engage;
CREATE TABLE public.page_view (student_id text NOT NULL, ts timestamptz NOT NULL, module_code text);
SQL
    { echo "not ok 1 - two shard servers start with engage"; exit 1; }
done
echo "ok 1 - two shard servers start with engage"

dropdb --if-exists $db >/dev/null 2>&1
createdb $db
psql -X -q -d $db -v ON_ERROR_STOP=1 -v base=$base >/dev/null <<'SQL' || { echo "not ok 2 - page views are spread over the shards"; exit 1; }
SET client_min_messages = warning;
CREATE EXTENSION engage;
CREATE EXTENSION postgres_fdw;
SELECT format('CREATE SERVER shard%s FOREIGN DATA WRAPPER postgres_fdw
                   OPTIONS (host %L, port %L, dbname %L, extensions %L)',
              n, '127.0.0.1', (:base + n)::text, 'postgres', 'engage'),
       format('CREATE USER MAPPING FOR CURRENT_USER SERVER shard%s OPTIONS (user %L)', n, 'postgres')
FROM generate_series(1, 2) AS n \gexec
CREATE TABLE page_view (student_id text NOT NULL, ts timestamptz NOT NULL, module_code text)
    PARTITION BY HASH (student_id);
CREATE FOREIGN TABLE page_view_1 PARTITION OF page_view FOR VALUES WITH (MODULUS 2, REMAINDER 0)
    SERVER shard1 OPTIONS (schema_name 'public', table_name 'page_view');
CREATE FOREIGN TABLE page_view_2 PARTITION OF page_view FOR VALUES WITH (MODULUS 2, REMAINDER 1)
    SERVER shard2 OPTIONS (schema_name 'public', table_name 'page_view');
CREATE TABLE page_view_local AS
SELECT 's' || (i % 300) AS student_id,
       '2026-10-20 08:00+00'::timestamptz + (hashint4(i) & 1048575) * interval '1 second' AS ts,
       (ARRAY['BIO1001', 'CHE1002', NULL, 'PHY1003'])[1 + (hashint4(i + 1) & 3)] AS module_code
FROM generate_series(1, 60000) AS i;
INSERT INTO page_view SELECT * FROM page_view_local;
SQL
n1=$(psql -X -At -h "$work" -p $((base + 1)) -U postgres -d postgres -c 'SELECT count(*) FROM page_view')
n2=$(psql -X -At -h "$work" -p $((base + 2)) -U postgres -d postgres -c 'SELECT count(*) FROM page_view')
if [ "$n1" -gt 0 ] && [ "$n2" -gt 0 ] && [ $((n1 + n2)) -eq 60000 ]; then
    echo "ok 2 - page views are spread over the shards ($n1 + $n2)"
else
    echo "not ok 2 - page views are spread over the shards ($n1 + $n2)"
fi

q="SELECT student_id, engage.ele_minutes(ts, module_code, '5 minutes', '2 minutes', 'Europe/London') AS credits
   FROM page_view GROUP BY student_id"
plan=$(psql -X -q -At -d $db -c "SET enable_partitionwise_aggregate = on" -c "EXPLAIN (VERBOSE, COSTS OFF) $q")
remote=$(printf '%s\n' "$plan" | grep -c 'Remote SQL: SELECT student_id, engage.ele_minutes(')
if [ "$remote" -eq 2 ]; then
    echo "ok 3 - EXPLAIN shows engage.ele_minutes running on both shards"
else
    echo "not ok 3 - EXPLAIN shows engage.ele_minutes running on both shards"
    printf '%s\n' "$plan" | sed 's/^/# /'
fi

diff=$(psql -X -q -At -d $db -c "SET enable_partitionwise_aggregate = on" -c "
    WITH sharded AS ($q),
         single AS (SELECT student_id, engage.ele_minutes(ts, module_code, '5 minutes', '2 minutes', 'Europe/London') AS credits
                    FROM page_view_local GROUP BY student_id)
    SELECT count(*) FROM ((TABLE sharded EXCEPT ALL TABLE single) UNION ALL (TABLE single EXCEPT ALL TABLE sharded)) AS d")
if [ "$diff" = "0" ]; then
    echo "ok 4 - the sharded result equals the single-server result for all 300 students"
else
    echo "not ok 4 - the sharded result equals the single-server result ($diff rows differ)"
fi
