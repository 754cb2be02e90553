#!/bin/bash
# run.sh [MAJOR ...]
# run.sh --list        only show the versions it would test
#
# The whole suite (the same parts as test/suite.sh: pg_regress, pgTAP, the
# shell tests) against every PostgreSQL installed here: Debian's
# /usr/lib/postgresql/*/ and each /opt/postgresql-*/ that
# test/matrix/build-postgres.sh made.  With arguments, only those major
# versions (e.g. `run.sh 17 18`).  Prints a table and exits non-zero if any
# version failed.
#
# For each version: a fresh copy of the tree, engage built warning-free and
# installed into that version's directories, a throw-away cluster made with
# that version's own initdb and pg_ctl (socket in a temp dir, a free port,
# trust auth), then the suite with PATH, PG_CONFIG, PGHOST, PGPORT and PGUSER
# pointing at it.  Every version runs the same way, 15 included, rather than
# 15 through pg_virtualenv, so a difference between rows is the server's.
#
# Environment:
#   MATRIX_TREE=worktree  test the working tree as it is, uncommitted changes
#                         included (default)
#   MATRIX_TREE=HEAD      test the last commit (any git revision works)
#   MATRIX_TREE=/a/dir    test a copy of that directory (e.g. a patched tree)
#   MATRIX_LOGS=DIR       where the logs go (default /tmp/engage-matrix.<time>)
set -u

list_only=0
if [ "${1:-}" = --list ]; then list_only=1; shift; fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
tree=${MATRIX_TREE:-worktree}
logs=${MATRIX_LOGS:-/tmp/engage-matrix.$(date +%Y%m%d-%H%M%S)}
work=""

as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
# postgres refuses to run as root: the clusters then belong to the postgres user
as_server() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

running=""   # "bindir:datadir" of clusters to stop if interrupted
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    for c in $running; do as_server "${c%%:*}/pg_ctl" -D "${c#*:}" stop -m immediate >/dev/null 2>&1; done
    [ -n "$work" ] && rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the installed versions ---------------------------------------------------
# each entry: "major pg_config"; Debian's layout first, then the private prefixes
installs=()
for pgc in /usr/lib/postgresql/*/bin/pg_config /opt/postgresql-*/bin/pg_config; do
    [ -x "$pgc" ] || continue
    v=$("$pgc" --version 2>/dev/null) || continue
    major=$(printf '%s\n' "$v" | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
    [ -n "$major" ] || continue
    # Debian's pg_config is there with the -server-dev package alone: a server is needed too
    [ -x "$("$pgc" --bindir)/postgres" ] || continue
    if [ $# -gt 0 ]; then
        case " $* " in *" $major "*) ;; *) continue ;; esac
    fi
    installs+=("$major $pgc")
done

if [ $list_only -eq 1 ]; then
    for i in "${installs[@]}"; do echo "PostgreSQL ${i%% *}: ${i#* }"; done
    exit 0
fi
mkdir -p "$logs" || exit 1
work=$(mktemp -d /tmp/engage-matrix-work.XXXXXX) || exit 1
chmod 755 "$work"   # the server's user reads nothing here, but its tools may cd

declare -A result_regress result_tap result_shell result_all label
order=()
failed=0
for want in "$@"; do     # an asked-for version that is not installed fails
    found=0
    for i in "${installs[@]}"; do [ "${i%% *}" = "$want" ] && found=1; done
    if [ $found -eq 0 ]; then
        order+=("$want"); label[$want]="$want (not installed)"
        result_regress[$want]="-"; result_tap[$want]="-"; result_shell[$want]="-"
        result_all[$want]="FAIL: not installed"; failed=1
    fi
done
if [ ${#installs[@]} -eq 0 ] && [ $# -eq 0 ]; then
    echo "matrix: no PostgreSQL found" >&2
    exit 1
fi

# --- a copy of the tree -------------------------------------------------------
copy_tree() {  # copy_tree DEST
    mkdir -p "$1"
    if [ "$tree" = worktree ] || [ -d "$tree" ]; then
        local from=$repo
        [ "$tree" = worktree ] || from=$tree
        # everything but git's own directory and build products (make clean drops those)
        tar -C "$from" --exclude=./.git --exclude=./results --exclude=./log \
            --exclude=./tmp_check -cf - . | tar -C "$1" -xf -
    else
        git -C "$repo" archive "$tree" | tar -C "$1" -xf - || return 1
    fi
    # the front end's driver, if already installed, spares pgbouncer.t an npm ci
    if [ ! -d "$1/test/e2e/node_modules" ] && [ -d "$repo/test/e2e/node_modules" ]; then
        cp -a "$repo/test/e2e/node_modules" "$1/test/e2e/"
    fi
    chmod -R a+rX "$1"
}

free_port() {  # the first port from $1 on which nothing listens on loopback
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || [ -e "/tmp/.s.PGSQL.$p" ]; do p=$((p + 1)); done
    echo "$p"
}

# --- one version --------------------------------------------------------------
# Ports start above the ranges the shell tests pick their own from
# (pgbouncer.t 20000-39999, sharded.t 30000-50001).
next_port=55400
n=0
for entry in "${installs[@]}"; do
    n=$((n + 1))
    major=${entry%% *}
    pgc=${entry#* }
    bindir=$("$pgc" --bindir)
    version=$("$pgc" --version | sed 's/^PostgreSQL //')
    key="$major#$n"
    order+=("$key")
    label[$key]="$version (${bindir%/bin})"
    result_regress[$key]="-"; result_tap[$key]="-"; result_shell[$key]="-"
    vlogs="$logs/$major"; [ -e "$vlogs" ] && vlogs="$logs/$major-$n"
    mkdir -p "$vlogs"
    echo "=== PostgreSQL $version ($bindir); logs in $vlogs"

    src=$work/src-$major-$n
    if ! copy_tree "$src" >"$vlogs/build.log" 2>&1; then
        echo "    copying the tree ($tree) failed"; result_all[$key]="FAIL: copy"; failed=1; continue
    fi

    # build warning-free (-Werror is in the Makefile) and install into this version
    if ! ( cd "$src" && make -s clean PG_CONFIG="$pgc" && make -s PG_CONFIG="$pgc" &&
           $as_root make -s install PG_CONFIG="$pgc" ) >>"$vlogs/build.log" 2>&1; then
        echo "    build or install failed:"; tail -n 20 "$vlogs/build.log" | sed 's/^/    | /'
        result_all[$key]="FAIL: build"; failed=1; continue
    fi
    echo "    built and installed"

    # a throw-away cluster; C.UTF-8 whatever the caller's locale, so every row sorts alike
    cl=$work/cluster-$major-$n
    mkdir -p "$cl/sock"
    [ "$(id -u)" -eq 0 ] && chown -R postgres "$cl"
    port=$(free_port "$next_port"); next_port=$((port + 1))
    if ! as_server "$bindir/initdb" -D "$cl/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
            >"$vlogs/initdb.log" 2>&1; then
        echo "    initdb failed:"; tail -n 10 "$vlogs/initdb.log" | sed 's/^/    | /'
        result_all[$key]="FAIL: initdb"; failed=1; continue
    fi
    running="$running $bindir:$cl/data"
    if ! as_server "$bindir/pg_ctl" -D "$cl/data" -l "$cl/server.log" -w \
            -o "-p $port -k $cl/sock -c listen_addresses=127.0.0.1" start >/dev/null 2>&1; then
        echo "    the server did not start:"; tail -n 10 "$cl/server.log" | sed 's/^/    | /'
        cp "$cl/server.log" "$vlogs/" 2>/dev/null
        result_all[$key]="FAIL: server"; failed=1; continue
    fi
    echo "    server on port $port, socket in $cl/sock"

    status=0
    (
        # the caller's connection settings must not leak into this cluster
        unset PGDATABASE PGPASSWORD PGPASSFILE PGSERVICE PGSERVICEFILE PGOPTIONS PGSSLMODE \
              PGHOSTADDR PGSYSCONFDIR PGCLUSTER PG_CLUSTER_CONF_ROOT
        export PGHOST="$cl/sock" PGPORT="$port" PGUSER=postgres
        export PATH="$bindir:$PATH" PG_CONFIG="$pgc" PG_MAJOR="$major"
        # tests that build an older release of engage from its commit
        # (test/t/upgrade.t: git archive) read it from this repository
        [ -d "$repo/.git" ] && export GIT_DIR="$repo/.git"
        cd "$src" || exit 8

        # pg_regress, pgTAP and the shell tests, as in test/suite.sh
        s=0
        make -s installcheck PG_CONFIG="$pgc" >"$vlogs/pg_regress.log" 2>&1 || s=$((s | 1))
        cp regression.diffs "$vlogs/" 2>/dev/null

        dropdb --if-exists engage_tap >/dev/null 2>&1
        { createdb engage_tap &&
          psql -X -q -v ON_ERROR_STOP=1 -d engage_tap -c 'CREATE EXTENSION engage; CREATE EXTENSION pgtap;' &&
          pg_prove -d engage_tap test/pgtap/*.sql; } >"$vlogs/pgtap.log" 2>&1 || s=$((s | 2))
        # the access tests, each in a database of its own
        ( . test/lib.sh && prove_access ) >>"$vlogs/pgtap.log" 2>&1 || s=$((s | 2))

        # verbose, so the log names each failing subtest
        prove -v test/t/ >"$vlogs/shell.log" 2>&1 || s=$((s | 4))
        exit $s
    )
    status=$?
    as_server "$bindir/pg_ctl" -D "$cl/data" stop -m fast >/dev/null 2>&1
    running=""
    cp "$cl/server.log" "$vlogs/" 2>/dev/null

    if [ $status -ge 8 ]; then
        result_all[$key]="FAIL: runner"; failed=1; continue
    fi
    result_regress[$key]=PASS; result_tap[$key]=PASS; result_shell[$key]=PASS
    if [ $((status & 1)) -ne 0 ]; then
        result_regress[$key]=FAIL
        echo "    pg_regress failed:"
        grep -E '^not ok|FAILED|failed|^ERROR|^# [0-9]+ of' "$vlogs/pg_regress.log" | head -n 20 | sed 's/^/    | /'
        [ -f "$vlogs/regression.diffs" ] && echo "    | (differences in $vlogs/regression.diffs)"
    fi
    if [ $((status & 2)) -ne 0 ]; then
        result_tap[$key]=FAIL
        echo "    pgTAP failed:"; grep -E '^(test/|Failed|Result|Files)|^psql:|ERROR' "$vlogs/pgtap.log" | grep -v ' ok$' | head -n 20 | sed 's/^/    | /'
    fi
    if [ $((status & 4)) -ne 0 ]; then
        result_shell[$key]=FAIL
        echo "    shell tests failed:"
        # each failing file (a test that dies early has no "not ok"), then each failing subtest
        { grep -E '^test/t/.*\(Wstat' "$vlogs/shell.log"
          awk '/^test\/t\/[^ ]+ \.+/ { f = $1 } /^not ok/ { print f ": " $0 }' "$vlogs/shell.log"
        } | head -n 30 | sed 's/^/    | /'
    fi
    if [ $status -eq 0 ]; then result_all[$key]=PASS; else result_all[$key]=FAIL; failed=1; fi
    echo "    pg_regress ${result_regress[$key]}, pgTAP ${result_tap[$key]}, shell ${result_shell[$key]}"
done

# --- the table ----------------------------------------------------------------
echo
printf '%-40s | %-10s | %-6s | %-6s | %s\n' version pg_regress pgTAP shell result
printf '%-40s-+-%-10s-+-%-6s-+-%-6s-+-%s\n' "$(printf '%040d' 0 | tr 0 -)" ---------- ------ ------ ------
for k in "${order[@]}"; do
    printf '%-40s | %-10s | %-6s | %-6s | %s\n' "${label[$k]}" "${result_regress[$k]}" \
        "${result_tap[$k]}" "${result_shell[$k]}" "${result_all[$k]}"
done
echo "logs: $logs"
exit $failed
