#!/bin/sh
# Every object of the extension and every setting has an entry in docs/.
set -u
cd "$(dirname "$0")/../.."
db=engage_docs
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -d $db -c 'CREATE EXTENSION engage' || { echo "1..0 # cannot create extension"; exit 1; }

names=$(psql -X -At -d $db <<'SQL'
SELECT engage.today() IS NOT NULL AS loaded \gset
SELECT DISTINCT 'engage.' || coalesce(p.proname, c.relname, t.typname)
FROM pg_depend AS d
LEFT JOIN pg_proc AS p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
LEFT JOIN pg_class AS c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
LEFT JOIN pg_type AS t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'engage')
  AND coalesce(p.proname, c.relname, t.typname) IS NOT NULL
  -- PostgreSQL 17 and later also list each table's and view's row type and
  -- its array type: the relation's own entry documents them
  AND NOT EXISTS (
      SELECT FROM pg_type AS rt
      LEFT JOIN pg_type AS elem ON elem.typarray = rt.oid
      JOIN pg_class AS rel ON rel.oid = coalesce(nullif(rt.typrelid, 0), elem.typrelid)
      WHERE rt.oid = t.oid AND rel.relkind <> 'c')
UNION
SELECT name FROM pg_settings WHERE name LIKE 'engage.%'
ORDER BY 1
SQL
)
# engage's settings exist once its library is loaded: each session above
# loads it first, so that pg_settings lists them
settings=$(psql -X -At -d $db -c 'SELECT engage.today()' -c "SELECT count(*) FROM pg_settings WHERE name LIKE 'engage.%'" | tail -1)
dropdb $db

n=0
out=""
for name in $names; do
    n=$((n + 1))
    short=${name#engage.}
    if grep -rqF -e "$name" -e "\`$short\`" docs/; then
        out="$out
ok $n - $name is documented"
    else
        out="$out
not ok $n - $name is documented in docs/"
    fi
done
n=$((n + 1))
# the library defines four settings; none found means the list above missed them
if [ "$settings" -ge 4 ] && echo "$names" | grep -qx 'engage.viewer'; then
    out="$out
ok $n - the settings are read from the loaded library ($settings)"
else
    out="$out
not ok $n - the settings are read from the loaded library (found $settings)"
fi
echo "1..$n$out"
