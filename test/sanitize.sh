#!/bin/sh
# Runs the pg_regress and pgTAP suites against engage built with
# AddressSanitizer and UndefinedBehaviorSanitizer, and fails on any report.
# Faster than valgrind and it sees what valgrind cannot: overruns of arrays
# on the stack and undefined arithmetic such as signed overflow.  It cannot
# see an overrun that stays inside a block palloc got from malloc (PostgreSQL
# itself is not instrumented); test-valgrind is no better there.
#
# The plain build is installed again at the end, pass or fail, so the
# PostgreSQL that PG_CONFIG names is never left with an instrumented library
# (which no server without the preloaded runtime could load).
set -eu
cd "$(dirname "$0")/.."
. test/lib.sh

PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
export PG_CONFIG
bindir=$("$PG_CONFIG" --bindir)
# psql, pg_prove's psql and createdb of the same version as the server
PATH=$bindir:$PATH
export PATH
port=${SANITIZE_PORT:-55478}
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"

# COPT goes into both CFLAGS and LDFLAGS and leaves PG_CFLAGS (-Werror) alone.
# No recovery from undefined behaviour: it stops the backend, as an ASan
# report does, instead of scrolling past.  -fno-wrapv undoes PostgreSQL's
# -fwrapv for engage's code alone: under -fwrapv signed overflow is defined,
# and UBSan would never report it.
san="-g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -fno-wrapv"

# The server binary is not instrumented, so the ASan runtime has to be in
# the process before anything else: LD_PRELOAD, first in the list.  It must
# be the runtime of the compiler PGXS builds with.
cc=$("$PG_CONFIG" --cc)
libasan=$(${cc%% *} -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "sanitize: $cc has no libasan.so (install libasan for it)"; exit 1; }
libasan=$(readlink -f "$libasan")

work=$(mktemp -d /tmp/engage-sanitize.XXXXXX)

instrumented=0
reinstall_plain() {
    make -s clean PG_CONFIG="$PG_CONFIG"
    make -s PG_CONFIG="$PG_CONFIG"
    $as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
    instrumented=0
}
cleanup() {
    server_stop "$work"
    if [ $instrumented -eq 1 ]; then
        echo "sanitize: putting the plain build back"
        reinstall_plain || echo "sanitize: could not reinstall the plain build: run make install"
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' HUP INT TERM

echo "== building with $san"
make -s clean PG_CONFIG="$PG_CONFIG"
instrumented=1
make -s PG_CONFIG="$PG_CONFIG" COPT="$san"
$as_root make -s install PG_CONFIG="$PG_CONFIG" COPT="$san" >/dev/null

server_init "$work"
# detect_leaks=0: PostgreSQL frees by memory context, and at exit not at all,
# so every backend would "leak".  abort_on_error=0: a report ends the backend
# with exit code 1, not SIGABRT.  Either way it skips proc_exit, so the
# postmaster resets the cluster as after any crash: the tests running then
# fail, and the next suite waits for the server.  ASan's reports go to the
# files of log_path, to be printed at the end.
# jit=off: a JIT-compiled query may inline engage's functions from the
# bitcode that PGXS installs, which is not instrumented.
asan_options="detect_leaks=0:abort_on_error=0:log_path=$work/asan"
ubsan_options="print_stacktrace=1:log_path=$work/ubsan"
# The preloaded runtime's constructor runs after those of the libraries the
# server links, so ASan starts at the first malloc of one of those: in
# Debian's builds libp11-kit's (through libldap and gnutls), inside
# newlocale().  There ASan looks up the optional symbol swift_demangle, and
# the failed lookup has dlerror() translate its message, re-entering glibc's
# gettext under newlocale's lock; the process then hangs at its first
# bindtextdomain() (postgres and pg_ctl of PostgreSQL 15 alike).  A library
# that defines the symbol lets the lookup succeed; it answers NULL, "not a
# Swift name", should a report ever ask.
printf '#include <stddef.h>\nchar *swift_demangle(const char *n, size_t l, char *b, size_t *bl, unsigned f)\n{ return NULL; }\n' \
    >"$work/swift_demangle.c"
${cc%% *} -shared -fPIC -o "$work/swift_demangle.so" "$work/swift_demangle.c"
preload="$libasan:$work/swift_demangle.so${LD_PRELOAD:+:$LD_PRELOAD}"
as_server timeout 300 env LD_PRELOAD="$preload" ASAN_OPTIONS="$asan_options" UBSAN_OPTIONS="$ubsan_options" \
    "$bindir/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 120 \
    -o "-k $work -p $port -c listen_addresses='' -c shared_buffers=32MB -c max_parallel_workers_per_gather=2 -c jit=off" \
    start >/dev/null || { echo "sanitize: server did not start"; cat "$work/server.log"; exit 1; }

export PGHOST="$work" PGPORT="$port" PGUSER=postgres
# A pass means nothing unless the backends run engage instrumented: the
# preload brings libasan, only the instrumented library brings libubsan
runtimes=$(psql -X -q -At -d postgres -c "LOAD 'engage'" \
    -c "SELECT count(DISTINCT substring(l FROM '/(lib[a-z]+san)\.so'))
        FROM regexp_split_to_table(pg_read_file('/proc/self/maps'), E'\n') AS l
        WHERE l ~ '/lib(asan|ubsan)\.so'")
[ "$runtimes" -eq 2 ] || { echo "sanitize: the backends do not run an instrumented engage"; exit 1; }

# after a report the cluster is in crash recovery for a few seconds
wait_ready() {
    tries=0
    until pg_isready -q; do
        tries=$((tries + 1))
        [ $tries -lt 120 ] || return 1
        sleep 1
    done
}

status=0
echo "== pg_regress with ASan and UBSan"
make -s installcheck PG_CONFIG="$PG_CONFIG" || { status=1; head -200 regression.diffs 2>/dev/null || true; }
echo "== pgTAP with ASan and UBSan"
if wait_ready && createdb engage_tap &&
   psql -X -q -v ON_ERROR_STOP=1 -d engage_tap -c 'CREATE EXTENSION engage; CREATE EXTENSION pgtap;'; then
    pg_prove -d engage_tap test/pgtap/*.sql || status=1
    prove_access || status=1
else
    status=1
fi
# a fast shutdown requested during crash recovery can hang
wait_ready || true
as_server "$bindir/pg_ctl" -D "$work/data" stop -m fast >/dev/null || status=1

# ASan writes its reports to the files of log_path.  UBSan ignores its own
# log_path when the ASan runtime is in the process too (gcc 12) and writes to
# stderr, the server log: one block each, up to a blank line.
stray=$(awk '/runtime error:|^==[0-9]+==ERROR: / { on = 1 } on { print } on && /^$/ { on = 0 }' "$work/server.log")
reports=$(ls "$work"/asan.* "$work"/ubsan.* 2>/dev/null || true)
nreports=$(printf '%s\n' "$reports" | grep -c . || true)
nreports=$((nreports + $(printf '%s\n' "$stray" | grep -c 'runtime error:\|^==[0-9]*==ERROR: ' || true)))
for f in $reports; do echo "---- $(basename "$f")"; cat "$f"; done
[ -z "$stray" ] || { echo "---- from the server log"; echo "$stray"; }

echo "== reinstalling the plain build"
reinstall_plain

if [ $nreports -gt 0 ]; then
    echo "sanitize: FAILED: $nreports sanitizer report(s) above$([ $status -eq 0 ] || echo '; the suites failed too')"
    exit 1
elif [ $status -ne 0 ]; then
    echo "sanitize: FAILED: no sanitizer report, but the suites failed"
    exit 1
fi
echo "sanitize: passed: pg_regress and pgTAP ran with ASan and UBSan, no report"
