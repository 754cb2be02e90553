#!/bin/sh
# ordinal.sh [ROWS]: inside the bench cluster, times engage.ordinal_fit on
# ROWS rows (default 1,000,000) of three predictors and five levels
# simulated in SQL from a known model, against a scan of the same rows
# measured in the same run, serially and with 2 workers, and prints the
# backend's peak memory (peak.sh).  Then times engage.fit_coefficients for
# CLES on the synthetic university loaded before, if it has the students.
# ROWS=0 skips the simulated fit.  Needs PGHOST/PGPORT set.
set -eu
rows=${1:-1000000}
reps=${REPS:-5}
psql="psql -X -q -v ON_ERROR_STOP=1"
echo
echo "== engage.ordinal_fit"
if [ "$rows" -le 0 ]; then
    echo "skipped: the simulated fit (ORDINAL_ROWS=0)"
else
    # logit P(Y <= k) = zeta_k - (0.05 ele + 0.3 app + 0.2 events), zeta = (1, 2, 3, 4)
    $psql <<SQL
CREATE TABLE ordinal_bench AS
SELECT 1 + (latent > 1)::int + (latent > 2)::int + (latent > 3)::int + (latent > 4)::int AS y, x
FROM (SELECT ARRAY[ele, app, events] AS x,
             0.05 * ele + 0.3 * app + 0.2 * events + ln(u / (1 - u)) AS latent
      FROM (SELECT (hashint4(i) & 65535) / 65535.0 * 60 AS ele,
                   (hashint4(i + 100000000) & 65535) / 65535.0 * 5 AS app,
                   (hashint4(i + 200000000) & 7)::float8 AS events,
                   ((hashint4(i + 300000000) & 16777215) + 0.5) / 16777216 AS u
            FROM generate_series(1, $rows) AS i) AS draws) AS sim;
VACUUM ANALYZE ordinal_bench;
SQL
    $psql -v reps="$reps" -v median="$(dirname "$0")/median.sql" <<'SQL'
\pset footer off
SET jit = off;
\i :median
SET max_parallel_workers_per_gather = 0;
SELECT pg_temp.median_ms('SELECT count(*), sum(x[1] + x[2] + x[3]) FROM ordinal_bench', :reps) AS floor_ms,
       pg_temp.median_ms('SELECT engage.ordinal_fit(y, x) FROM ordinal_bench', :reps) AS serial_ms \gset
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT pg_temp.median_ms('SELECT engage.ordinal_fit(y, x) FROM ordinal_bench', :reps) AS parallel_ms \gset
SELECT m.n AS rows, m.iterations, m.converged,
       array_to_string(ARRAY(SELECT round(c::numeric, 4) FROM unnest(m.coefficients) AS c), ', ') AS "coefficients (0.05, 0.3, 0.2)",
       array_to_string(ARRAY(SELECT round(c::numeric, 4) FROM unnest(m.cut_points) AS c), ', ') AS "cut-points (1, 2, 3, 4)"
FROM (SELECT (engage.ordinal_fit(y, x)).* FROM ordinal_bench) AS m;
SELECT measurement, round(ms::numeric, 1) AS "ms (median)"
FROM (VALUES (1, 'floor: scan and sum the predictors, serial', :floor_ms),
             (2, 'engage.ordinal_fit, serial', :serial_ms),
             (3, 'engage.ordinal_fit, 2 workers', :parallel_ms)) AS t(o, measurement, ms) ORDER BY o;
SELECT round((:serial_ms / :floor_ms)::numeric, 1) AS "fit / floor",
       round((:serial_ms / :parallel_ms)::numeric, 2) AS "serial / 2 workers";
SQL
    echo "serial fit of $rows rows, memory:"
    "$(dirname "$0")/peak.sh" "SET max_parallel_workers_per_gather = 0; SELECT (engage.ordinal_fit(y, x)).converged FROM ordinal_bench" |
        grep -v '^ converged\|^---\|^ t$\|^$\|row)'
    $psql -c "DROP TABLE ordinal_bench"
fi

echo
echo "== engage.fit_coefficients"
year=$($psql -At -c "SELECT label FROM engage.academic_year WHERE engage.today() - 1 BETWEEN starts AND ends")
if [ -z "$year" ] || [ "$($psql -At -c "SELECT count(*) FROM engage.assessment_mark")" = 0 ]; then
    echo "skipped: no synthetic university with marks in the current academic year is loaded"
else
    $psql -At -c "INSERT INTO engage.mark_band SELECT * FROM (VALUES (1, 'fail', 0), (2, 'third', 40), (3, '2:2', 50), (4, '2:1', 60), (5, 'first', 70)) AS b
                  WHERE NOT EXISTS (SELECT FROM engage.mark_band)"
    if out=$($psql -At -F ' ' 2>&1 <<SQL
\timing on
SELECT 'CLES $year: ' || students || ' students, ' || (model).n || ' student-modules, converged ' || (model).converged
FROM engage.fit_coefficients('CLES', '$year');
SQL
    ); then
        echo "$out"
    else
        echo "skipped: $out"
    fi
fi
