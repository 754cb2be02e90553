-- make bench: timings on the synthetic university already loaded in this
-- database.  Every figure is a median over :reps runs, in milliseconds, and
-- every comparison is a ratio to a baseline measured in this same run.
\set ON_ERROR_STOP 1
\if :{?reps}
\else
\set reps 5
\endif
SET client_min_messages = warning;
SET jit = off;

CREATE TEMP TABLE bench (name text PRIMARY KEY, ms double precision, note text);

\ir median.sql

CREATE FUNCTION pg_temp.explain_lines(q text) RETURNS TABLE (line text)
LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q; END $$;

-- p50 and p95 of one query per viewer (%1$s in q), the viewer named as the
-- web front end names it, by whichever role the caller has set
CREATE FUNCTION pg_temp.latency(q text, viewers text[], OUT p50 double precision, OUT p95 double precision)
LANGUAGE plpgsql AS $$
DECLARE
    v text;
    t timestamptz;
    times double precision[] := '{}';
BEGIN
    FOREACH v IN ARRAY viewers LOOP
        PERFORM set_config('engage.viewer', v, true);
        t := clock_timestamp();
        EXECUTE format(q, quote_literal(v));
        times := times || extract(epoch FROM clock_timestamp() - t) * 1000;
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x), percentile_cont(0.95) WITHIN GROUP (ORDER BY x)
    INTO p50, p95 FROM unnest(times) AS x;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;

SELECT count(*) AS page_views, count(DISTINCT student_id) AS students,
       engage.local_day(min(ts)) AS data_from
FROM engage.ele_event \gset
-- the last day of the data (datagen's end_day), passed by run.sh
\echo 'data:' :page_views 'page views,' :students 'students, from' :data_from 'to' :last_day

-- ELE minutes over the whole table, grouped by student ------------------------------
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench SELECT 'floor: count(*) GROUP BY student', pg_temp.median_ms($$
    SELECT sum(n) FROM (SELECT student_id, count(*) AS n FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'scan and group the events, no rule';

-- the same scan reading the rule's two other columns, with trivial aggregates
INSERT INTO bench SELECT 'floor, reading ts and module_code too', pg_temp.median_ms($$
    SELECT sum(n) FROM (SELECT student_id, count(module_code) AS n, max(ts) AS last
                        FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'count(module_code), max(ts) GROUP BY student';

INSERT INTO bench SELECT 'ELE rule in plain SQL (lead)', pg_temp.median_ms($$
    SELECT sum(minutes) FROM (
        SELECT student_id, module_code, (ts AT TIME ZONE 'Europe/London')::date AS day,
               sum(CASE WHEN next_ts - ts < interval '5 minutes'
                        THEN extract(epoch FROM next_ts - ts) / 60 ELSE 2 END) AS minutes
        FROM (SELECT student_id, ts, module_code,
                     lead(ts) OVER (PARTITION BY student_id ORDER BY ts, module_code COLLATE "C" NULLS LAST) AS next_ts
              FROM engage.ele_event) AS v
        WHERE module_code IS NOT NULL
        GROUP BY 1, 2, 3) AS x
$$, :reps), 'window lead, then GROUP BY student, module, day';

-- engage.ele_minutes as engage.refresh runs it: each partition of page views
-- grouped on its own, serially and then by two workers
SET enable_partitionwise_aggregate = on;
INSERT INTO bench SELECT 'engage.ele_minutes, serial', pg_temp.median_ms($$
    SELECT sum(cardinality(c)) FROM (SELECT engage.ele_minutes(ts, module_code) AS c
                                     FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'partitionwise, max_parallel_workers_per_gather = 0';

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SELECT count(*) > 0 AS parallel_in_plan FROM (
    SELECT * FROM pg_temp.explain_lines($$SELECT engage.ele_minutes(ts, module_code) FROM engage.ele_event GROUP BY student_id$$)
) AS e WHERE line LIKE '%Parallel Append%' \gset
INSERT INTO bench SELECT 'engage.ele_minutes, 2 workers', pg_temp.median_ms($$
    SELECT sum(cardinality(c)) FROM (SELECT engage.ele_minutes(ts, module_code) AS c
                                     FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'partitionwise, Parallel Append in plan: ' || :'parallel_in_plan';

-- the same query without partitionwise grouping: each worker builds partial
-- states of every student, which the leader combines
SET enable_partitionwise_aggregate = off;
SELECT count(*) > 0 AS partial_in_plan FROM (
    SELECT * FROM pg_temp.explain_lines($$SELECT engage.ele_minutes(ts, module_code) FROM engage.ele_event GROUP BY student_id$$)
) AS e WHERE line ~ 'Partial (Hash|Group)Aggregate' \gset
INSERT INTO bench SELECT 'engage.ele_minutes, 2 workers, combined states', pg_temp.median_ms($$
    SELECT sum(cardinality(c)) FROM (SELECT engage.ele_minutes(ts, module_code) AS c
                                     FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'Partial Aggregate of ele_minutes in plan: ' || :'partial_in_plan';
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET enable_partitionwise_aggregate;

-- the nightly method --------------------------------------------------------------------
-- engage.refresh over the 30 days (a backfill) and over the last one (a
-- nightly run, reading the stored days before it), in the steady state of
-- a warehouse: nothing marked stale since it was computed.  Against them,
-- the same method in plain SQL (test/method.sql) and in DuckDB
-- (test/bench/duckdb), each materialising the 30 days' rows.
\ir ../method.sql
SELECT :'last_day'::date - 29 AS first_day \gset
DELETE FROM engage.refresh_stale;
-- Where each run's time goes: the statements inside engage.refresh, from
-- pg_stat_statements (preloaded by run.sh, tracking only here), per run.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SELECT pg_stat_statements_reset() AS reset \gset
SET pg_stat_statements.track = 'all';
INSERT INTO bench SELECT 'engage.refresh, 30 days', pg_temp.median_ms(
    format('CALL engage.refresh(%L, %L)', :'first_day', :'last_day'), greatest(1, :reps / 2)),
    'rows and cohort figures';
SET pg_stat_statements.track = 'none';
SELECT '30 days' AS run, greatest(1, :reps / 2) AS runs \gset
\ir profile.sql
-- the floors of writing: the same rows inserted into an empty table with
-- the columns and indexes of daily_engagement's partition, nothing
-- computed; and, as the first write of a year is made, into the bare
-- table, its two indexes built after
CREATE TABLE bench_write (LIKE engage.daily_engagement_2026_27 INCLUDING INDEXES);
CREATE TABLE bench_bare (LIKE engage.daily_engagement_2026_27);
CREATE TEMP TABLE bench_rows AS
SELECT * FROM engage.daily_engagement WHERE day BETWEEN :'first_day' AND :'last_day';
INSERT INTO bench SELECT 'writing the 30 days'' rows alone', pg_temp.median_ms(
    'INSERT INTO bench_write SELECT * FROM bench_rows', :reps, 'TRUNCATE bench_write'),
    'INSERT into an empty table with the partition''s two indexes';
INSERT INTO bench SELECT 'writing them, then indexing', pg_temp.median_ms(
    $$INSERT INTO bench_bare SELECT * FROM bench_rows;
      CREATE UNIQUE INDEX bench_bare_key ON bench_bare (student_id, day, (COALESCE(module_code, '')));
      CREATE INDEX bench_bare_day ON bench_bare (day)$$,
    :reps, 'DROP INDEX bench_bare_key, bench_bare_day; TRUNCATE bench_bare'),
    'INSERT into the bare table, then its two indexes built';
DROP TABLE bench_write, bench_bare, bench_rows;
-- The nightly run computes a new day: each run starts with the last day's
-- rows gone and the table vacuumed, as autovacuum leaves it, and runs in a
-- transaction of its own.  (Run again over a stored day, in one
-- transaction with the runs before it, each row would first meet the dead
-- versions of its key that those runs left.)
CREATE TEMP TABLE nightly_ms (ms double precision);
\o /dev/null
SELECT format('DELETE FROM engage.daily_engagement WHERE day = %L', :'last_day'),
       'VACUUM ANALYZE engage.daily_engagement',
       $$SELECT set_config('bench.started', clock_timestamp()::text, false)$$,
       $$SET pg_stat_statements.track = 'all'$$,
       format('CALL engage.refresh(%L, %L)', :'last_day', :'last_day'),
       $$SET pg_stat_statements.track = 'none'$$,
       $$INSERT INTO nightly_ms SELECT extract(epoch FROM clock_timestamp()
                                               - current_setting('bench.started')::timestamptz) * 1000$$
FROM generate_series(1, :reps) \gexec
\o
SELECT '1 day' AS run, :reps AS runs \gset
\ir profile.sql
INSERT INTO bench SELECT 'engage.refresh, 1 day (nightly)', percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
    'a new day, the 29 before it stored' FROM nightly_ms;
INSERT INTO bench SELECT 'plain SQL method, 30 days', pg_temp.median_ms(
    format('CREATE TEMP TABLE bench_reference AS SELECT * FROM pg_temp.reference(%L, %L)', :'first_day', :'last_day'),
    1, 'DROP TABLE bench_reference'), 'CREATE TABLE AS, one run';
\if :{?duckdb_ms}
INSERT INTO bench VALUES ('DuckDB method, 30 days', :'duckdb_ms', 'CREATE TABLE AS, 2 threads, median of ' || :reps);
\endif

-- the three compute the same rows (the plain-SQL sums in numeric, DuckDB's
-- in another order: equal to 1e-9)
CREATE TEMP TABLE plain AS SELECT * FROM pg_temp.reference(:'first_day', :'last_day');
CREATE TEMP TABLE duck (LIKE plain);
\if :{?duckdb_file}
COPY duck FROM :'duckdb_file' CSV;
\endif
SELECT (SELECT count(*) FROM plain) AS plain_rows,
       (SELECT count(*) FROM engage.daily_engagement WHERE day BETWEEN :'first_day' AND :'last_day') AS engage_rows,
       (SELECT count(*) FROM duck) AS duck_rows \gset
SELECT count(*) AS plain_differ FROM engage.daily_engagement AS e
JOIN plain AS p ON p.student_id = e.student_id AND p.day = e.day AND p.module_code IS NOT DISTINCT FROM e.module_code
WHERE abs(p.ele_minutes - e.ele_minutes) > 1e-9 OR p.app_choices <> e.app_choices
   OR p.career_events <> e.career_events OR abs(p.score - e.score) > 1e-9 \gset
SELECT count(*) AS duck_differ FROM engage.daily_engagement AS e
JOIN duck AS p ON p.student_id = e.student_id AND p.day = e.day AND p.module_code IS NOT DISTINCT FROM e.module_code
WHERE abs(p.ele_minutes - e.ele_minutes) > 1e-9 OR p.app_choices <> e.app_choices
   OR p.career_events <> e.career_events OR abs(p.score - e.score) > 1e-9 \gset
\echo 'rows of the 30 days: engage' :engage_rows ', plain SQL' :plain_rows '(' :plain_differ 'differ), DuckDB' :duck_rows '(' :duck_differ 'differ)'
DROP TABLE plain, duck;

-- the dashboard, as the web front end sees it, against the same query with the
-- same rule written by hand as a filter and row-level security bypassed ------------
SELECT array_agg(tutor_id) AS tutors FROM (
    SELECT DISTINCT tutor_id FROM engage.tutoring ORDER BY tutor_id LIMIT 200) AS t \gset
SELECT array_agg(student_id) AS consenting FROM (
    SELECT student_id FROM engage.consent_latest WHERE granted ORDER BY student_id LIMIT 200) AS s \gset
-- the web front end's role, and the same role bypassing row-level security
-- and allowed to read the tables the rule is written over
DROP ROLE IF EXISTS bench_web;
DROP ROLE IF EXISTS bench_hand;
CREATE ROLE bench_web LOGIN IN ROLE engage_app;
CREATE ROLE bench_hand LOGIN BYPASSRLS IN ROLE engage_app;
GRANT SELECT ON engage.tutoring, engage.consent_latest TO bench_hand;

\set q_tutor 'SELECT count(*) FROM (SELECT * FROM engage.my_students %2$s) AS x'
\set q_student 'SELECT count(*) FROM (SELECT * FROM engage.dashboard_engagement WHERE day > engage.local_day(now()) - 56 %2$s) AS x'
-- the rules of engage.visible_students() and engage.consenting_students()
\set tutees 'WHERE student_id = ANY (ARRAY(SELECT t.student_id FROM engage.tutoring AS t WHERE t.tutor_id = %1$s AND t.valid_from <= engage.today() AND (t.valid_to IS NULL OR t.valid_to > engage.today())))'
\set self_consenting 'AND student_id = %1$s AND student_id = ANY (ARRAY(SELECT c.student_id FROM engage.consent_latest AS c WHERE c.student_id = %1$s AND c.granted AND c.academic_year = engage.current_academic_year()))'
BEGIN;
SET LOCAL SESSION AUTHORIZATION bench_web;
SELECT p50 AS warm_up FROM pg_temp.latency(replace(:'q_tutor', '%2$s', ''), :'tutors') \gset
SELECT p50 AS tutor_rls_p50, p95 AS tutor_rls_p95
FROM pg_temp.latency(replace(:'q_tutor', '%2$s', ''), :'tutors') \gset
SELECT p50 AS student_rls_p50, p95 AS student_rls_p95
FROM pg_temp.latency(replace(:'q_student', '%2$s', ''), :'consenting') \gset
COMMIT;
BEGIN;
SET LOCAL SESSION AUTHORIZATION bench_hand;
SELECT p50 AS tutor_hand_p50, p95 AS tutor_hand_p95
FROM pg_temp.latency(replace(:'q_tutor', '%2$s', :'tutees'), :'tutors') \gset
SELECT p50 AS student_hand_p50, p95 AS student_hand_p95
FROM pg_temp.latency(replace(:'q_student', '%2$s', :'self_consenting'), :'consenting') \gset
COMMIT;
REVOKE ALL ON engage.tutoring, engage.consent_latest FROM bench_hand;
DROP ROLE bench_web;
DROP ROLE bench_hand;

INSERT INTO bench VALUES
  ('my_students (tutor), hand filter, p50', :tutor_hand_p50, 'BYPASSRLS, the rule as a WHERE clause'),
  ('my_students (tutor), RLS, p50', :tutor_rls_p50, 'as engage_app with SET LOCAL engage.viewer'),
  ('my_students (tutor), hand filter, p95', :tutor_hand_p95, ''),
  ('my_students (tutor), RLS, p95', :tutor_rls_p95, ''),
  ('dashboard_engagement (student), hand filter, p50', :student_hand_p50, 'BYPASSRLS, the rule as a WHERE clause'),
  ('dashboard_engagement (student), RLS, p50', :student_rls_p50, 'as engage_app with SET LOCAL engage.viewer'),
  ('dashboard_engagement (student), hand filter, p95', :student_hand_p95, ''),
  ('dashboard_engagement (student), RLS, p95', :student_rls_p95, '');

\pset footer off
\echo
SELECT name AS measurement, round(ms::numeric, 2) AS ms, note FROM bench ORDER BY ctid;

\echo 'Ratios (targets in parentheses):'
WITH r (ord, ratio, value, target, met) AS (
    SELECT ord, ratio, a.ms / b.ms, target,
           CASE WHEN at_least THEN a.ms / b.ms >= bound ELSE a.ms / b.ms <= bound END
    FROM (VALUES (1, 'plain SQL / ele_minutes serial', 'ELE rule in plain SQL (lead)', 'engage.ele_minutes, serial', true, 8.0),
                 (2, 'plain SQL / floor reading the columns', 'ELE rule in plain SQL (lead)',
                  'floor, reading ts and module_code too', true, NULL),
                 (3, 'ele_minutes serial / floor', 'engage.ele_minutes, serial', 'floor: count(*) GROUP BY student', false, 2.5),
                 (4, 'ele_minutes serial / 2 workers', 'engage.ele_minutes, serial', 'engage.ele_minutes, 2 workers', true, 1.6),
                 (5, 'ele_minutes serial / 2 workers, combined', 'engage.ele_minutes, serial',
                  'engage.ele_minutes, 2 workers, combined states', true, NULL),
                 (8, 'plain SQL method / engage.refresh, 30 days', 'plain SQL method, 30 days',
                  'engage.refresh, 30 days', true, 8.0),
                 (9, 'DuckDB method / engage.refresh, 30 days', 'DuckDB method, 30 days',
                  'engage.refresh, 30 days', true, 1.0),
                 (10, 'engage.refresh 1 day / 30 days', 'engage.refresh, 1 day (nightly)',
                  'engage.refresh, 30 days', false, 0.05),
                 (6, 'my_students RLS / hand, p50', 'my_students (tutor), RLS, p50', 'my_students (tutor), hand filter, p50', false, 1.5),
                 (7, 'dashboard_engagement RLS / hand, p50', 'dashboard_engagement (student), RLS, p50',
                  'dashboard_engagement (student), hand filter, p50', false, 1.5))
         AS t (ord, ratio, numerator, denominator, at_least, bound)
    JOIN bench AS a ON a.name = t.numerator
    JOIN bench AS b ON b.name = t.denominator,
    LATERAL (SELECT CASE WHEN at_least THEN '>= ' ELSE '<= ' END || bound AS target) AS g
)
SELECT ratio, round(value::numeric, 2) AS value, coalesce(target, '') AS target,
       CASE WHEN met THEN 'met' WHEN NOT met THEN 'NOT MET' ELSE '' END AS status
FROM r ORDER BY ord;

\echo 'Where engage.refresh spends its time (statements inside the call, ms per run):'
SELECT run, round(ms::numeric, 1) AS ms, round(calls::numeric, 1) AS calls, statement FROM profile ORDER BY ctid;

\echo 'Dashboard latency (target: p95 under 1 ms as the web front end queries):'
SELECT name AS measurement, round(ms::numeric, 3) AS ms,
       CASE WHEN ms < 1 THEN 'met' ELSE 'NOT MET' END AS status
FROM bench WHERE name LIKE '%RLS, p95' ORDER BY ctid;
