#!/bin/sh
# make test-package: builds the Debian package as a DBA would
# (dpkg-buildpackage -us -uc -b, which also runs the pg_regress suite against
# the package's files), installs it with dpkg, and uses it in a fresh
# cluster: CREATE EXTENSION, a small university, a refresh and a tutor's
# list.  The package is removed at the end and this tree's build installed
# again, since the package replaces the files `make install` put there.
set -eu
cd "$(dirname "$0")/.."
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
bindir=$("$PG_CONFIG" --bindir)
version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" engage.control)
package=postgresql-$PG_MAJOR-engage
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
# shellcheck source=lib.sh
. test/lib.sh

missing=""
for p in dpkg-dev debhelper postgresql-server-dev-all; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# shellcheck disable=SC2086
[ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null

work=$(mktemp -d /tmp/engage-package.XXXXXX)
port=$(( 30000 + ($$ + 13) % 20000 ))
cleanup() {
    server_stop "$work"
    $as_root dpkg -r "$package" >/dev/null 2>&1 || true
    $as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

echo "1..6"

# the tree as it is, without git's directory or build products (the
# install and upgrade scripts are built from sql/install/ and sql/upgrade/)
mkdir "$work/engage"
tar --exclude=./.git --exclude=./results --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
    --exclude='./sql/engage--*.sql' -cf - . | tar -x -C "$work/engage"
(cd "$work/engage" && dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1
ok $? "dpkg-buildpackage builds $package $version, its pg_regress suite passing"
[ "$failed" = 0 ] || { tail -30 "$work/build.log" | sed 's/^/# /'; exit 1; }

$as_root dpkg -i "$work/${package}_${version}_"*.deb >"$work/dpkg.log" 2>&1
ok $? "dpkg installs it"
owned() { [ "$(dpkg -S "$1" 2>/dev/null | cut -d: -f1)" = "$package" ]; }
shipped=0
owned "$("$PG_CONFIG" --pkglibdir)/engage.so" && owned "$("$PG_CONFIG" --sharedir)/extension/engage--$version.sql" || shipped=1
for source in sql/upgrade/engage--*--*.sql; do
    owned "$("$PG_CONFIG" --sharedir)/extension/${source#sql/upgrade/}" || shipped=1
done
ok $shipped "the library, the install script of $version and every upgrade script are the package's"

export PGHOST="$work" PGPORT="$port" PGUSER=postgres
psql="psql -X -q -At -v ON_ERROR_STOP=1 -d warehouse"
server_init "$work" && server_start "$work" "$port" &&
    createdb warehouse &&
    [ "$($psql -c "SET client_min_messages = warning" -c "CREATE EXTENSION engage" \
               -c "SELECT extversion FROM pg_extension WHERE extname = 'engage'")" = "$version" ]
ok $? "CREATE EXTENSION engage in a fresh cluster gives $version"

$psql -v students=100 -v days=14 -f test/datagen.sql >/dev/null &&
    $psql -c "CALL engage.refresh(engage.today() - 14, engage.today() - 1)" &&
    [ "$($psql -c "SELECT rows_written > 0 FROM engage.refresh_run")" = t ]
ok $? "the packaged extension loads a small university and refreshes it"

tutor=$($psql -c "SELECT tutor_id FROM engage.tutoring WHERE valid_to IS NULL ORDER BY 1 LIMIT 1")
$psql -c "CREATE ROLE pkg_web LOGIN IN ROLE engage_app" &&
    [ "$($psql -c "SET SESSION AUTHORIZATION pkg_web" -c "BEGIN" -c "SET LOCAL engage.viewer = '$tutor'" \
               -c "SELECT count(*) > 0 FROM engage.my_students" -c "COMMIT")" = t ]
ok $? "a tutor sees their tutees through the web role"
exit "$failed"
