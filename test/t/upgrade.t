#!/bin/sh
# Upgrades from every released version, as a university would run them: the
# old release is built from its commit and installed, a database is created
# with it and loaded, then this build is installed over it and
# ALTER EXTENSION engage UPDATE is run.  The upgraded database must have the
# catalog of a fresh install (compared through pg_dump --binary-upgrade, which
# dumps each member of the extension), keep every row, and compute and show
# what a fresh install computes and shows from the same data.
#
# Installing the old release replaces this build's files in the server's
# directories for a moment, so this test reinstalls this build on exit
# whatever happens.
set -u
cd "$(dirname "$0")/../.."

# released versions, the commit each was released from (tagged v<version>),
# and the newest PostgreSQL major version it installs on.  1.0 adds its array
# types to the extension itself, which PostgreSQL 17 and later refuse because
# they make them members already: nobody can have 1.0 on 17 to upgrade.
releases="1.0:96e1991d10fec06073ed2c59526ecdf1eabe3fb2:16"

PG_CONFIG=${PG_CONFIG:-pg_config}
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
current=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" engage.control)
work=$(mktemp -d /tmp/engage-upgrade.XXXXXX)
web=engage_upgrade_web
psql="psql -X -q -At -v ON_ERROR_STOP=1"

reinstall_current() {
    $as_root make -s install PG_CONFIG="$PG_CONFIG" >/dev/null
}
cleanup() {
    reinstall_current
    for db in engage_upgraded engage_fresh; do dropdb --if-exists $db >/dev/null 2>&1; done
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $web" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=../lib.sh
. test/lib.sh

# Every member of the extension with its definition, grants and comments.
# The OIDs that binary-upgrade mode pins, transaction ids and sequence
# positions differ between any two databases and are left out; config_tables
# lists the configuration tables by name instead of by OID.  The partitions
# of daily_engagement are the refresh's, one per academic year it wrote
# (compared by partitions() after both databases are refreshed).
schema() {
    pg_dump --binary-upgrade --schema-only --exclude-table='engage.daily_engagement_*' -d "$1" | awk '
        /^-- For binary upgrade, (set|must preserve)/ { skip = 1 }
        skip && /^$/ { skip = 0; next }
        skip { next }
        /^\\(un)?restrict / { next }
        /^SELECT pg_catalog.setval/ { next }
        /binary_upgrade_create_empty_extension/ { print "extension engage (see config_tables)"; next }
        { print }'
}
partitions() {
    pg_dump --schema-only --table='engage.daily_engagement_*' -d "$1" | grep -v '^--' | grep -v '^\\\(un\)\{0,1\}restrict '
}
config_tables() {
    $psql -d "$1" -c "SELECT w.t::regclass::text || ' ' || coalesce(quote_literal(w.cond), 'NULL')
                      FROM pg_extension AS e, unnest(e.extconfig, e.extcondition) AS w(t, cond)
                      WHERE e.extname = 'engage' ORDER BY 1"
}
# one line per table of the extension: name, rows and a digest of the rows,
# reading only the columns listed in file $2 (table column per line)
digest() {
    $psql -d "$1" <<SQL
CREATE TEMP TABLE cols (t text, c text);
\copy cols FROM '$2'
SELECT format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(r, ''|'' ORDER BY r)), '''')
               FROM (SELECT ROW(%s)::text AS r FROM engage.%I) AS x',
              t, string_agg(quote_ident(c), ', '), t)
FROM cols WHERE t NOT IN ($3) GROUP BY t ORDER BY t
\gexec
SQL
}
columns() {
    $psql -d "$1" -c "SELECT c.relname, a.attname FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
                      WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind IN ('r', 'p')
                        AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
                      ORDER BY c.relname, a.attnum" | tr '|' '\t'
}
# what a tutor sees through the web front end's role: the tutee list and the
# engagement tab, as digests
tutor_view() {
    tutor=$($psql -d "$1" -c "SELECT tutor_id FROM engage.tutoring WHERE valid_to IS NULL ORDER BY tutor_id LIMIT 1")
    $psql -d "$1" -c "SET SESSION AUTHORIZATION $web" -c "BEGIN" -c "SET LOCAL engage.viewer = '$tutor'" -c "
        SELECT 'my_students ' || count(*) || ' ' || md5(string_agg(m::text, '|' ORDER BY m.student_id)) FROM engage.my_students AS m;
        SELECT 'dashboard_engagement ' || count(*) || ' ' || md5(string_agg(d::text, '|' ORDER BY d::text)) FROM engage.dashboard_engagement AS d;
        SELECT 'dashboard_attendance ' || count(*) FROM engage.dashboard_attendance;" -c "COMMIT"
    echo
}

total=0
for r in $releases; do total=$((total + 10)); done
echo "1..$total"

server_major=$(( $($psql -d postgres -c "SHOW server_version_num") / 10000 ))
skip() {
    i=0
    while [ $i -lt 10 ]; do n=$((n + 1)); i=$((i + 1)); echo "ok $n # skip (skipped) $1"; done
}
for r in $releases; do
    old=${r%%:*} rest=${r#*:}
    commit=${rest%%:*} newest=${rest#*:}
    src="$work/$old"
    mkdir -p "$src"
    if [ "$server_major" -gt "$newest" ]; then
        skip "$old does not install on PostgreSQL $server_major"
        continue
    fi
    if ! git archive "$commit" 2>/dev/null | tar -x -C "$src"; then
        skip "commit $commit of $old is not in this checkout's history"
        continue
    fi
    make -s -C "$src" PG_CONFIG="$PG_CONFIG" >"$work/build.log" 2>&1 &&
        $as_root make -s -C "$src" install PG_CONFIG="$PG_CONFIG" >>"$work/build.log" 2>&1
    ok $? "$old builds and installs from its commit"

    # the old release, loaded and refreshed with its own generator
    dropdb --if-exists engage_upgraded >/dev/null 2>&1
    createdb engage_upgraded &&
        $psql -d engage_upgraded -c "SET client_min_messages = warning" -c "CREATE EXTENSION engage VERSION '$old'" &&
        $psql -d engage_upgraded -v students=80 -v days=21 -v end_day=2026-11-27 -f "$src/test/datagen.sql" >/dev/null &&
        $psql -d engage_upgraded -c "CALL engage.refresh('2026-11-07', '2026-11-27')" &&
        columns engage_upgraded >"$work/cols.$old" &&
        digest engage_upgraded "$work/cols.$old" "''" >"$work/rows.before"
    ok $? "a database on $old is loaded and refreshed"

    reinstall_current
    $psql -d engage_upgraded -c "ALTER EXTENSION engage UPDATE" &&
        [ "$($psql -d engage_upgraded -c "SELECT extversion FROM pg_extension WHERE extname = 'engage'")" = "$current" ]
    ok $? "ALTER EXTENSION engage UPDATE takes $old to $current"

    digest engage_upgraded "$work/cols.$old" "''" >"$work/rows.after"
    equal "$work/rows.before" "$work/rows.after" "every row of $old is kept by the upgrade ($(wc -l <"$work/rows.before") tables)"

    dropdb --if-exists engage_fresh >/dev/null 2>&1
    createdb engage_fresh && $psql -d engage_fresh -c "SET client_min_messages = warning" -c "CREATE EXTENSION engage"
    schema engage_upgraded >"$work/schema.upgraded"
    schema engage_fresh >"$work/schema.fresh"
    equal "$work/schema.fresh" "$work/schema.upgraded" \
        "the upgraded catalog equals a fresh $current install ($(grep -c '^CREATE' "$work/schema.fresh") objects created)"
    config_tables engage_upgraded >"$work/config.upgraded"
    config_tables engage_fresh >"$work/config.fresh"
    equal "$work/config.fresh" "$work/config.upgraded" "pg_dump keeps the same tables ($(wc -l <"$work/config.fresh"))"

    # the same data in a fresh install (with the partitions the upgrade made
    # for the stored days), then the same refresh in both
    pg_dump -Fc -a -d engage_upgraded -f "$work/data.dump" &&
        pg_restore -l "$work/data.dump" >"$work/data.list" &&
        grep -v ' TABLE DATA engage daily_engagement_' "$work/data.list" >"$work/data.rest" &&
        grep ' TABLE DATA engage daily_engagement_' "$work/data.list" >"$work/data.partitions" &&
        pg_restore -a -d engage_fresh --exit-on-error -L "$work/data.rest" "$work/data.dump" &&
        days=$($psql -d engage_upgraded -c "SELECT format('%L::date, %L::date', min(day), max(day)) FROM engage.daily_engagement") &&
        $psql -d engage_fresh -c "SELECT engage.open_years($days)" -c "SELECT engage.index_years()" >/dev/null &&
        pg_restore -a -d engage_fresh --exit-on-error -L "$work/data.partitions" "$work/data.dump" &&
        $psql -d engage_upgraded -c "CALL engage.refresh('2026-11-07', '2026-11-27')" &&
        $psql -d engage_fresh -c "CALL engage.refresh('2026-11-07', '2026-11-27')"
    # the run log and the alerts' fired and cleared times differ in their
    # times; the nightly run's marks are written again by loading the data
    # into the fresh install
    columns engage_fresh | grep -Pv '^alert\t(fired|cleared)_at$' >"$work/cols.$current"
    digest engage_upgraded "$work/cols.$current" "'refresh_run', 'refresh_stale'" >"$work/rows.upgraded"
    digest engage_fresh "$work/cols.$current" "'refresh_run', 'refresh_stale'" >"$work/rows.fresh"
    equal "$work/rows.fresh" "$work/rows.upgraded" "after a refresh the upgraded database holds what a fresh install computes"
    partitions engage_upgraded >"$work/partitions.upgraded"
    partitions engage_fresh >"$work/partitions.fresh"
    equal "$work/partitions.fresh" "$work/partitions.upgraded" \
        "daily_engagement has the partitions of a fresh install ($(grep -c 'ATTACH PARTITION' "$work/partitions.fresh"))"

    grep '^daily_engagement ' "$work/rows.before" >"$work/de.before"
    digest engage_upgraded "$work/cols.$old" "''" | grep '^daily_engagement ' >"$work/de.after"
    equal "$work/de.before" "$work/de.after" "$current computes the same daily rows as $old did"

    psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP ROLE IF EXISTS $web" \
        -c "CREATE ROLE $web LOGIN IN ROLE engage_app" >/dev/null
    tutor_view engage_upgraded >"$work/tutor.upgraded"
    tutor_view engage_fresh >"$work/tutor.fresh"
    equal "$work/tutor.fresh" "$work/tutor.upgraded" "a tutor sees the same through the web role after the upgrade"
    sed 's/^/# /' "$work/tutor.upgraded"
done
