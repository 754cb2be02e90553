#!/bin/sh
# build-postgres.sh MAJOR
#
# Builds PostgreSQL MAJOR (17 or 18) from the upstream tarball inside
# Debian's source package, with contrib and pgTAP, into /opt/postgresql-MAJOR,
# so that test/matrix/run.sh can test engage against it on a Debian 12 machine
# whose own packages stop at PostgreSQL 15.
#
#   17: postgresql-17 from trixie (or trixie-security)
#   18: postgresql-18 from sid (or forky)
#   16: not handled: no suite reachable from Debian 12's mirror carries a
#       postgresql-16 source package.
# pgTAP comes from the same suite.  A mirror that lists a version in its
# Sources index but does not serve its files stops the script with apt's
# errors; PG_SUITES then names other suites to try.
#
# The sources come through a private apt configuration (its own sources.list
# and lists directory): the machine's apt sources are not touched, and nothing
# is installed from the newer suites.  The build dependencies are bookworm's
# own packages, installed by name.  No Debian patch is applied: they move
# files to Debian's paths and add Debian's socket directory, neither of which a
# private prefix wants.
#
# Idempotent: a working /opt/postgresql-MAJOR/bin/pg_config and an installed
# pgTAP mean there is nothing to do.
#
# Environment:
#   PG_SUITES      suites to try, in order (default above)
#   DEBIAN_MIRROR  archive URI, if it cannot be read from /etc/apt/sources.list*
#   JOBS           make -j (default: the number of cores)
#   KEEP_BUILD=1   keep the build directory after a successful build
set -eu

MAJOR=${1:-}
case "$MAJOR" in
    17) default_suites="trixie trixie-security" ;;
    18) default_suites="sid forky" ;;
    *)  echo "usage: $0 17|18" >&2; exit 2 ;;
esac
SUITES=${PG_SUITES:-$default_suites}
PREFIX=/opt/postgresql-$MAJOR
PG_CONFIG=$PREFIX/bin/pg_config
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

say() { printf 'build-postgres %s: %s\n' "$MAJOR" "$*"; }
die() { say "ERROR: $*" >&2; exit 1; }

pg_ok() {
    [ -x "$PG_CONFIG" ] && "$PG_CONFIG" --version 2>/dev/null | grep -q "^PostgreSQL ${MAJOR}[.a-z]"
}
pgtap_ok() {
    pg_ok && [ -f "$("$PG_CONFIG" --sharedir)/extension/pgtap.control" ]
}

if pgtap_ok; then
    say "nothing to do: $("$PG_CONFIG" --version) and pgTAP are in $PREFIX"
    exit 0
fi
[ "$(id -u)" -eq 0 ] || die "run as root: it installs packages and writes $PREFIX"

start=$(date +%s)
work=$(mktemp -d "/var/tmp/engage-pg$MAJOR.XXXXXX")
log=$work/build.log
: > "$log"
# keep a failed build's directory and log for reading; drop a good one
# shellcheck disable=SC2154
trap 'rc=$?; if [ $rc -ne 0 ]; then say "failed; log and sources kept in $work (see $log)" >&2;
      elif [ "${KEEP_BUILD:-0}" != 1 ]; then rm -rf "$work"; fi' EXIT
say "working in $work"

# --- the mirror host, as this machine spells it -----------------------------
# Reads the URIs serving this release (and its -security suite) from both the
# one-line and the deb822 formats, so the private list uses the same mirror.
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
apt_uri_for() {  # apt_uri_for SUITE: the first URI that serves SUITE
    # shellcheck disable=SC2046
    awk -v want="$1" '
        function flush() {
            if (uris != "" && index(" " suites " ", " " want " ")) { split(uris, u, " "); print u[1]; found = 1; exit }
            uris = ""; suites = "" }
        FNR == 1   { flush() }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        /^deb(-src)?[ \t]/ {         # one-line format: deb [opts] URI SUITE COMPONENTS
            line = $0; sub(/\[[^]]*\]/, "", line); n = split(line, f, /[ \t]+/)
            if (n >= 3 && f[3] == want) { print f[2]; found = 1; exit }
            next }
        /^URIs:/   { uris = $0; sub(/^URIs:[ \t]*/, "", uris); next }
        /^Suites:/ { suites = $0; sub(/^Suites:[ \t]*/, "", suites); next }
        END { if (!found) flush() }' \
        $(ls /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null) /dev/null
}
MIRROR=${DEBIAN_MIRROR:-$(apt_uri_for "$codename")}
[ -n "$MIRROR" ] || die "no URI for $codename in /etc/apt/sources.list*; set DEBIAN_MIRROR"
SECURITY_MIRROR=$(apt_uri_for "$codename-security")
[ -n "$SECURITY_MIRROR" ] || SECURITY_MIRROR=$(printf '%s' "$MIRROR" | sed 's,/debian/*$,/debian-security,')
say "mirror: $MIRROR (security: $SECURITY_MIRROR)"

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
signed_by=""
[ -f "$keyring" ] && signed_by="[signed-by=$keyring] "

# --- build dependencies, from this machine's own release --------------------
deps="gcc make perl bison flex pkg-config bzip2 gzip xz-utils tzdata
      libreadline-dev zlib1g-dev libssl-dev libicu-dev libxml2-dev libxslt1-dev
      liblz4-dev libzstd-dev uuid-dev"
missing=""
for p in $deps; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    say "installing build dependencies from $codename:$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >>"$log" 2>&1 ||
        die "apt-get install failed"
else
    say "build dependencies already installed"
fi

# --- source tarballs through a private apt configuration --------------------
# fetch_orig PACKAGE DEST_DIR: downloads PACKAGE's upstream tarball from the
# first suite of $SUITES that has it.  Only the orig tarball is needed, and
# apt has checked its hash against the signed Sources index; the .dsc and the
# Debian tarball may be missing on a partial mirror, which is not fatal here.
fetch_orig() {
    pkg=$1 dest=$2
    for suite in $SUITES; do
        case "$suite" in *-security) uri=$SECURITY_MIRROR ;; *) uri=$MIRROR ;; esac
        apt_dir=$work/apt-$suite
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache" "$dest"
        printf 'deb-src %s%s %s main\n' "$signed_by" "$uri" "$suite" > "$apt_dir/sources.list"
        set -- -o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null \
               -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache"
        if [ ! -f "$apt_dir/updated" ]; then
            say "apt-get update of the private list: deb-src $uri $suite main"
            apt-get "$@" update >>"$log" 2>&1 || { say "  $suite: update failed"; continue; }
            touch "$apt_dir/updated"
        fi
        version=$(apt-cache "$@" showsrc "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n 1)
        [ -n "$version" ] || { say "  $suite: no source package $pkg"; continue; }
        say "apt-get source --download-only $pkg=$version ($suite)"
        chown _apt "$dest" 2>/dev/null || true   # lets apt download without its root warning
        (cd "$dest" && apt-get "$@" source --download-only "$pkg=$version") >>"$log" 2>&1 || true
        orig=$(ls "$dest"/"${pkg}"_*.orig.tar.* 2>/dev/null | head -n 1)
        if [ -n "$orig" ]; then
            say "  got $(basename "$orig")"
            return 0
        fi
        say "  $suite: the mirror does not serve the files of $pkg $version"
        grep -E '^(E|Err):' "$log" | tail -n 3 | sed 's/^/    /'
    done
    return 1
}

# --- PostgreSQL --------------------------------------------------------------
if pg_ok; then
    say "PostgreSQL already installed: $("$PG_CONFIG" --version)"
else
    fetch_orig "postgresql-$MAJOR" "$work/src" ||
        die "no suite of '$SUITES' serves the postgresql-$MAJOR source here"
    tar -xf "$(ls "$work/src/postgresql-${MAJOR}"_*.orig.tar.* | head -n 1)" -C "$work/src"
    srcdir=$(find "$work/src" -mindepth 1 -maxdepth 1 -type d -name 'postgresql-*' | head -n 1)
    [ -n "$srcdir" ] || die "the tarball has no postgresql-* directory"
    say "configure $(basename "$srcdir") --prefix=$PREFIX"
    # A release build (no assertions) with debug symbols, and the libraries
    # Debian's own build links; the system time zone data, as Debian's
    # packages use, so every version sees the same zones.
    (cd "$srcdir" && ./configure --prefix="$PREFIX" --enable-debug \
        --with-openssl --with-icu --with-lz4 --with-zstd --with-libxml --with-libxslt \
        --with-uuid=e2fs --with-system-tzdata=/usr/share/zoneinfo) >>"$log" 2>&1 ||
        { tail -n 30 "$log"; die "configure failed"; }
    say "make -j$JOBS (server and contrib; a few minutes)"
    (cd "$srcdir" && make -j"$JOBS" && make -j"$JOBS" -C contrib) >>"$log" 2>&1 ||
        { tail -n 40 "$log"; die "make failed"; }
    say "make install, make -C contrib install -> $PREFIX"
    (cd "$srcdir" && make install && make -C contrib install) >>"$log" 2>&1 ||
        { tail -n 30 "$log"; die "make install failed"; }
    pg_ok || die "$PG_CONFIG does not work after the install"
    say "installed $("$PG_CONFIG" --version)"
fi

# --- pgTAP -------------------------------------------------------------------
if pgtap_ok; then
    say "pgTAP already installed"
else
    fetch_orig pgtap "$work/pgtap" || die "no suite of '$SUITES' serves the pgtap source here"
    tar -xf "$(ls "$work/pgtap"/pgtap_*.orig.tar.* | head -n 1)" -C "$work/pgtap"
    tapdir=$(find "$work/pgtap" -mindepth 1 -maxdepth 1 -type d -name 'pgtap*' | head -n 1)
    [ -n "$tapdir" ] || die "the pgtap tarball has no pgtap* directory"
    say "make install of $(basename "$tapdir") with PG_CONFIG=$PG_CONFIG"
    (cd "$tapdir" && make PG_CONFIG="$PG_CONFIG" && make PG_CONFIG="$PG_CONFIG" install) >>"$log" 2>&1 ||
        { tail -n 30 "$log"; die "pgTAP build failed"; }
    pgtap_ok || die "pgtap.control is not in $("$PG_CONFIG" --sharedir)/extension"
    say "installed pgTAP $(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$("$PG_CONFIG" --sharedir)/extension/pgtap.control")"
fi

say "done in $(( $(date +%s) - start )) s: $("$PG_CONFIG" --version) in $PREFIX, bin $("$PG_CONFIG" --bindir)"
