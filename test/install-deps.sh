#!/bin/sh
# Installs what building and testing engage needs, if it is missing:
# PostgreSQL with its server headers, pgTAP and pg_prove, pg_cron,
# pg_virtualenv for throw-away clusters, R with MASS (the reference fits of
# test/t/ordinal_polr.t), and Chromium for the web example's test
# (test/t/web.t).  Runs apt-get as root, or through sudo.
set -eu

PG_MAJOR=${PG_MAJOR:-15}
packages="make gcc postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR postgresql-$PG_MAJOR-pgtap postgresql-$PG_MAJOR-cron
          libtap-parser-sourcehandler-pgtap-perl postgresql-common valgrind pgbouncer
          r-base-core r-cran-mass chromium"

missing=""
for p in $packages; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm run the front end's driver in test/t/pgbouncer.t; a machine
# may have them from elsewhere than Debian, so look for the commands
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "install-deps: missing packages:$missing; run as root or install sudo" >&2
    exit 1
fi

echo "install-deps: installing$missing"
$as_root apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends $missing >/dev/null
