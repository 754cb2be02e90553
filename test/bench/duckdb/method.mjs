// make bench only: the nightly method of test/method.sql, written for DuckDB,
// on the same data exported from PostgreSQL by test/bench/duckdb.sh.
//   node method.mjs DIR FROM_DAY TO_DAY REPS
// Loads DIR/*.csv into an in-memory DuckDB with 2 threads (not timed), then
// materialises the rows of the days FROM_DAY to TO_DAY with CREATE TABLE AS,
// REPS times, and prints "<median ms> <rows>".
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, f, t, reps] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const c = await db.connect();
await c.run(`SET TimeZone = 'UTC'`);

const tables = {
  consent_latest: { student_id: 'VARCHAR', academic_year: 'VARCHAR', granted: 'BOOLEAN' },
  academic_year: { label: 'VARCHAR', starts: 'DATE', ends: 'DATE' },
  ele_event: { student_id: 'VARCHAR', us: 'BIGINT', module_code: 'VARCHAR' },
  app_event: { student_id: 'VARCHAR', us: 'BIGINT' },
  career_event: { student_id: 'VARCHAR', event_day: 'DATE', attended: 'BOOLEAN' },
  enrolment: { student_id: 'VARCHAR', module_code: 'VARCHAR', academic_year: 'VARCHAR' },
  student: { student_id: 'VARCHAR', college: 'VARCHAR' },
  student_college: { student_id: 'VARCHAR', college: 'VARCHAR', valid_from: 'DATE', valid_to: 'DATE' },
  coefficients: { college: 'VARCHAR', academic_year: 'VARCHAR', ele: 'DOUBLE', app: 'DOUBLE', events: 'DOUBLE' },
};
for (const [name, columns] of Object.entries(tables)) {
  const cols = Object.entries(columns).map(([k, v]) => `'${k}': '${v}'`).join(', ');
  await c.run(`CREATE TABLE ${name}_csv AS SELECT * FROM read_csv('${dir}/${name}.csv', header = false, auto_detect = false, delim = ',', quote = '"', columns = {${cols}})`);
}
// instants travel as microseconds since 1970 in UTC
await c.run(`CREATE TABLE ele_events AS SELECT student_id, make_timestamp(us)::TIMESTAMPTZ AS ts, module_code FROM ele_event_csv`);
await c.run(`CREATE TABLE app_events AS SELECT student_id, make_timestamp(us)::TIMESTAMPTZ AS ts FROM app_event_csv`);

const F = `DATE '${f}'`, T = `DATE '${t}'`;
const method = `
CREATE OR REPLACE TABLE result AS
WITH consenting_day AS (
    SELECT student_id, unnest(generate_series(lo, hi, INTERVAL 1 DAY))::DATE AS day, academic_year
    FROM (SELECT cl.student_id, cl.academic_year,
                 greatest(y.starts, ${F} - 6)::TIMESTAMP AS lo, least(y.ends, ${T})::TIMESTAMP AS hi
          FROM consent_latest_csv cl JOIN academic_year_csv y ON y.label = cl.academic_year
          WHERE cl.granted AND greatest(y.starts, ${F} - 6) <= least(y.ends, ${T}))
), ordered AS (
    SELECT student_id, ts, module_code,
           lead(ts) OVER (PARTITION BY student_id ORDER BY ts, module_code NULLS LAST) AS next_ts
    FROM ele_events
), credit AS (
    SELECT student_id, module_code, (ts AT TIME ZONE 'Europe/London')::DATE AS day,
           CASE WHEN next_ts - ts < INTERVAL 5 MINUTE THEN (epoch_us(next_ts) - epoch_us(ts)) / 60e6
                ELSE 2 END AS minutes
    FROM ordered WHERE module_code IS NOT NULL
), module_day AS (
    SELECT student_id, module_code, day, sum(minutes) AS minutes FROM credit GROUP BY ALL
), all_day AS (
    SELECT student_id, day, sum(minutes) AS minutes FROM credit GROUP BY ALL
), app AS (
    SELECT student_id, (ts AT TIME ZONE 'Europe/London')::DATE AS day, count(*) AS n FROM app_events GROUP BY ALL
), career AS (
    SELECT student_id, event_day AS day, count(*) AS n FROM career_event_csv WHERE attended GROUP BY ALL
), modules AS (
    SELECT DISTINCT en.student_id, en.module_code FROM enrolment_csv en
    WHERE en.academic_year IN (SELECT label FROM academic_year_csv WHERE starts <= ${T} AND ends >= ${F} - 6)
), daily AS (
    SELECT cd.student_id, cd.day, cd.academic_year, m.module_code,
           coalesce(CASE WHEN m.module_code IS NULL THEN ad.minutes ELSE md.minutes END, 0) AS ele,
           coalesce(a.n, 0) AS app, coalesce(k.n, 0) AS events
    FROM consenting_day cd
    JOIN (SELECT DISTINCT student_id, NULL::VARCHAR AS module_code FROM consenting_day
          UNION ALL SELECT student_id, module_code FROM modules) m ON m.student_id = cd.student_id
    LEFT JOIN all_day ad ON ad.student_id = cd.student_id AND ad.day = cd.day
    LEFT JOIN module_day md ON md.student_id = cd.student_id AND md.day = cd.day AND md.module_code = m.module_code
    LEFT JOIN app a ON a.student_id = cd.student_id AND a.day = cd.day
    LEFT JOIN career k ON k.student_id = cd.student_id AND k.day = cd.day
), dense AS (
    SELECT k.student_id, k.module_code, d.day,
           coalesce(dl.ele, 0) AS ele, coalesce(dl.app, 0) AS app, coalesce(dl.events, 0) AS events
    FROM (SELECT DISTINCT student_id, module_code FROM daily) k
    CROSS JOIN (SELECT unnest(generate_series((${F} - 6)::TIMESTAMP, ${T}::TIMESTAMP, INTERVAL 1 DAY))::DATE AS day) d
    LEFT JOIN daily dl ON dl.student_id = k.student_id AND dl.day = d.day
                      AND coalesce(dl.module_code, '') = coalesce(k.module_code, '')
), windowed AS (
    SELECT *, sum(ele) OVER w / 7 AS ele_mean, sum(app) OVER w / 7.0 AS app_mean,
           sum(events) OVER w / 7.0 AS events_mean
    FROM dense
    WINDOW w AS (PARTITION BY student_id, module_code ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW)
), spans AS (
    SELECT student_id, college, valid_from, valid_to FROM student_college_csv
    UNION ALL
    SELECT student_id, college, DATE '0001-01-01', NULL FROM student_csv s
    WHERE NOT EXISTS (SELECT 1 FROM student_college_csv h WHERE h.student_id = s.student_id)
)
SELECT w.student_id, w.module_code, w.day, w.ele::DOUBLE AS ele_minutes, w.app AS app_choices, w.events AS career_events,
       (c.ele * w.ele_mean + c.app * w.app_mean + c.events * w.events_mean)::DOUBLE AS score
FROM windowed w
JOIN consenting_day cd ON cd.student_id = w.student_id AND cd.day = w.day
JOIN spans sc ON sc.student_id = w.student_id AND w.day >= sc.valid_from AND (sc.valid_to IS NULL OR w.day < sc.valid_to)
JOIN coefficients_csv c ON c.college = sc.college AND c.academic_year = cd.academic_year
WHERE w.day BETWEEN ${F} AND ${T}
  AND (w.module_code IS NULL OR EXISTS (
        SELECT 1 FROM enrolment_csv en WHERE en.student_id = w.student_id
          AND en.module_code = w.module_code AND en.academic_year = cd.academic_year))`;

const times = [];
for (let i = 0; i < Number(reps); i++) {
  const start = process.hrtime.bigint();
  await c.run(method);
  times.push(Number(process.hrtime.bigint() - start) / 1e6);
}
times.sort((a, b) => a - b);
const rows = (await c.runAndReadAll('SELECT count(*) FROM result')).getRows()[0][0];
await c.run(`COPY result TO '${dir}/result.csv' (HEADER false)`);
console.log(`${times[Math.floor(times.length / 2)].toFixed(1)} ${rows}`);
