# A coordinator and two workers of Citus in throw-away data directories, with
# a database of one server (without Citus) on the coordinator's server beside
# them.  Sourced from the top of the tree by test/citus/run.sh (make
# test-citus) and test/bench/citus.sh (make bench-citus), after test/lib.sh;
# needs PG_CONFIG and PG_MAJOR.

# citus_missing: true, saying so, when Citus is not installed for this
# PostgreSQL
citus_missing() {
    [ -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ] &&
        [ -f "$("$PG_CONFIG" --sharedir)/extension/citus.control" ] && return 1
    echo "Citus is not installed for PostgreSQL $PG_MAJOR (docs/scaling.md says how to build it)"
}

# cluster_start: builds and installs engage, starts the three servers
# (stopped on exit) and installs engage on the coordinator and in the
# database of one server.  Sets work, base, c and one (psql commands for
# the cluster's database and the one server's).
cluster_start() {
    as_root=""
    [ "$(id -u)" -eq 0 ] || as_root="sudo"
    make -s PG_CONFIG="$PG_CONFIG" >/dev/null && $as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null || return 1
    bindir=$("$PG_CONFIG" --bindir)
    work=$(mktemp -d /tmp/engage-citus.XXXXXX)
    [ "$(id -u)" -eq 0 ] && chown postgres "$work"
    base=$(( 35000 + $$ % 20000 ))
    trap 'for node in c w1 w2; do server_stop "$work/$node"; done; rm -rf "$work"' EXIT
    c="psql -X -q -At -v ON_ERROR_STOP=1 -h $work/c -p $base -U postgres -d postgres"
    one="psql -X -q -At -v ON_ERROR_STOP=1 -h $work/c -p $base -U postgres -d one"
    i=0
    for node in c w1 w2; do
        mkdir -p "$work/$node" && server_init "$work/$node" &&
        server_start "$work/$node" $((base + i)) shared_preload_libraries=citus,engage listen_addresses=127.0.0.1 \
            citus.node_conninfo=sslmode=disable fsync=off max_connections=200 "$@" ||
        { tail -n 20 "$work/$node/server.log" 2>/dev/null | sed 's/^/# /'; return 1; }
        i=$((i + 1))
    done
    cluster_nodes postgres || return 1
    $c >/dev/null <<SQL || return 1
SET client_min_messages = warning;
CREATE EXTENSION engage;
CREATE DATABASE one;
SQL
    $one -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION engage'
}

# cluster_load STUDENTS DAYS: the synthetic university into both databases
cluster_load() {
    for db in "$c" "$one"; do
        $db -v students="$1" -v days="$2" -v views_per_day=13 -v end_day=2026-11-27 \
            -f test/datagen.sql >/dev/null 2>"$work/load.err" || { cat "$work/load.err"; return 1; }
    done
}

# cluster_nodes DB: Citus in database DB of all three servers, and the
# workers added to the coordinator there
cluster_nodes() {
    i=0
    for node in c w1 w2; do
        psql -X -q -h "$work/$node" -p $((base + i)) -U postgres -d "$1" -c 'CREATE EXTENSION citus' || return 1
        i=$((i + 1))
    done
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$work/c" -p $base -U postgres -d "$1" >/dev/null <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', $base);
SELECT citus_add_node('127.0.0.1', $((base + 1)));
SELECT citus_add_node('127.0.0.1', $((base + 2)));
SQL
}

# cluster_database NAME: a new, empty database NAME on all three servers,
# with Citus and its nodes, engage and pgTAP, in the distributed layout
cluster_database() {
    i=0
    for node in c w1 w2; do
        psql -X -q -h "$work/$node" -p $((base + i)) -U postgres -d postgres \
            -c "SET client_min_messages = warning" -c "CREATE DATABASE $1" || return 1
        i=$((i + 1))
    done
    cluster_nodes "$1" || return 1
    psql -X -q -At -v ON_ERROR_STOP=1 -h "$work/c" -p $base -U postgres -d "$1" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION engage;
CREATE EXTENSION pgtap;
CALL engage.distribute();
SQL
}
