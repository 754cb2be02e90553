# Shared by the shell tests (sourced from the top of the tree): TAP output
# and private servers.  A test that needs its own server settings, or to
# crash one, starts it here instead of using pg_virtualenv's cluster.

# ok STATUS NAME: one TAP line for an exit status; failed is 1 after a failure
n=0
failed=0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}

# equal FILE_A FILE_B NAME: passes when both exist, are not empty and are
# equal; otherwise shows the difference
equal() {
    if [ -s "$1" ] && cmp -s "$1" "$2"; then ok 0 "$3"; else
        ok 1 "$3"; diff "$1" "$2" 2>&1 | head -40 | sed 's/^/# /'
    fi
}

# until_true QUERY: waits up to a minute and a half for QUERY, run with
# $psql, to return t
until_true() {
    i=0
    until [ "$($psql -c "$1")" = t ]; do i=$((i + 1)); [ $i -lt 450 ] || return 1; sleep 0.2; done
}

# held_open SQL FILE: BEGIN, SQL, then COMMIT once FILE exists (or after two
# minutes), on standard output: piped into psql, a transaction held open
held_open() {
    echo "BEGIN;"
    echo "$1;"
    i=0
    while [ ! -e "$2" ] && [ $i -lt 600 ]; do i=$((i + 1)); sleep 0.2; done
    echo "COMMIT;"
}

# postgres refuses to run as root: as root, the server runs as postgres
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# server_init DIR: a new data directory DIR/data, trust authentication
server_init() {
    [ "$(id -u)" -eq 0 ] && chown postgres "$1"
    as_server "$bindir/initdb" -D "$1/data" -A trust -U postgres >/dev/null
}

# server_start DIR PORT [SETTING ...]: starts DIR/data on a socket in DIR
# only, each SETTING given as name=value
server_start() {
    dir=$1 port=$2
    shift 2
    opts="-p $port -k $dir -c listen_addresses=''"
    for s in "$@"; do opts="$opts -c $s"; done
    as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 120 -o "$opts" start >/dev/null
}

# server_stop DIR: an immediate stop, whatever state the server is in
server_stop() {
    as_server "$bindir/pg_ctl" -D "$1/data" stop -m immediate >/dev/null 2>&1 || true
}

# prove_access [PG_PROVE_OPTION ...]: the access tests (test/access/*.sql)
# with pg_prove, each in a new database, for they commit what they write
# (so that a Citus cluster, test/citus/run.sh, runs the same files)
prove_access() {
    rc=0
    for file in test/access/*.sql; do
        dropdb --if-exists engage_access >/dev/null 2>&1
        { createdb engage_access &&
              psql -X -q -v ON_ERROR_STOP=1 -d engage_access -c 'CREATE EXTENSION engage; CREATE EXTENSION pgtap;' &&
              pg_prove "$@" -d engage_access "$file"; } || rc=1
    done
    dropdb --if-exists engage_access >/dev/null 2>&1
    return $rc
}
