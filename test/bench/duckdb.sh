#!/bin/sh
# duckdb.sh FROM_DAY TO_DAY REPS: inside the bench's cluster, exports the
# tables the nightly method reads and runs the method in DuckDB on them
# (test/bench/duckdb/method.mjs).  Prints "<median ms> <rows>", or nothing
# (with the reason on stderr) where node or the npm registry is missing.
set -eu
from=$1 to=$2 reps=$3
here=$(cd "$(dirname "$0")" && pwd)
command -v node >/dev/null 2>&1 || { echo "duckdb.sh: node is not installed" >&2; exit 0; }
if [ ! -d "$here/duckdb/node_modules/@duckdb/node-api" ]; then
    npm ci --silent --prefix "$here/duckdb" >/dev/null 2>&1 \
        || { echo "duckdb.sh: npm could not install @duckdb/node-api" >&2; exit 0; }
fi
dir=$(mktemp -d)
chmod 755 "$dir"
trap 'rm -rf "$dir"' EXIT
export PGOPTIONS="-c TimeZone=UTC"
psql -X -q -v ON_ERROR_STOP=1 <<SQL
\copy (SELECT student_id, academic_year, granted FROM engage.consent_latest) TO '$dir/consent_latest.csv' CSV
\copy (SELECT label, starts, ends FROM engage.academic_year) TO '$dir/academic_year.csv' CSV
\copy (SELECT student_id, (extract(epoch FROM ts) * 1000000)::bigint, module_code FROM engage.ele_event) TO '$dir/ele_event.csv' CSV
\copy (SELECT student_id, (extract(epoch FROM ts) * 1000000)::bigint FROM engage.app_event) TO '$dir/app_event.csv' CSV
\copy (SELECT student_id, event_day, attended FROM engage.career_event) TO '$dir/career_event.csv' CSV
\copy (SELECT student_id, module_code, academic_year FROM engage.enrolment) TO '$dir/enrolment.csv' CSV
\copy (SELECT student_id, college FROM engage.student) TO '$dir/student.csv' CSV
\copy (SELECT student_id, college, valid_from, valid_to FROM engage.student_college) TO '$dir/student_college.csv' CSV
\copy (SELECT college, academic_year, ele, app, events FROM engage.coefficients) TO '$dir/coefficients.csv' CSV
SQL
node "$here/duckdb/method.mjs" "$dir" "$from" "$to" "$reps"
# the rows DuckDB computed, for bench.sql to check against engage's
cp "$dir/result.csv" "${DUCKDB_RESULT:-/dev/null}" 2>/dev/null || true
