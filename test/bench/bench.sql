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

-- median wall time of a statement over reps runs
CREATE FUNCTION pg_temp.median_ms(q text, reps int) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
    times double precision[] := '{}';
BEGIN
    FOR i IN 1 .. reps LOOP
        t := clock_timestamp();
        EXECUTE q;
        times := times || extract(epoch FROM clock_timestamp() - t) * 1000;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) AS x);
END $$;

CREATE FUNCTION pg_temp.explain_lines(q text) RETURNS TABLE (line text)
LANGUAGE plpgsql AS $$ BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q; END $$;

-- p50 and p95 of one query per viewer, the viewer named as the web front end
-- names it; with rls = false the same query runs with the filter written out
-- (%1$s is the viewer, %2$s their students) by a role that bypasses RLS
CREATE FUNCTION pg_temp.latency(q text, viewers text[], rls boolean, OUT p50 double precision, OUT p95 double precision)
LANGUAGE plpgsql AS $$
DECLARE
    v text;
    t timestamptz;
    students text[];
    times double precision[] := '{}';
BEGIN
    FOREACH v IN ARRAY viewers LOOP
        IF NOT rls THEN
            students := ARRAY(SELECT tt.student_id FROM engage.tutoring AS tt WHERE tt.tutor_id = v
                                AND tt.valid_from <= engage.today()
                                AND (tt.valid_to IS NULL OR tt.valid_to > engage.today())
                              UNION SELECT v);
        END IF;
        PERFORM set_config('engage.viewer', v, true);
        t := clock_timestamp();
        EXECUTE format(q, quote_literal(v), quote_literal(students));
        times := times || extract(epoch FROM clock_timestamp() - t) * 1000;
    END LOOP;
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x), percentile_cont(0.95) WITHIN GROUP (ORDER BY x)
    INTO p50, p95 FROM unnest(times) AS x;
END $$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pg_temp TO PUBLIC;

SELECT count(*) AS page_views, count(DISTINCT student_id) AS students,
       min(ts)::date AS first_day, max(ts)::date AS last_day
FROM engage.ele_event \gset
\echo 'data:' :page_views 'page views,' :students 'students,' :first_day 'to' :last_day

-- ELE minutes over the whole table, grouped by student ------------------------------
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench SELECT 'floor: count(*) GROUP BY student', pg_temp.median_ms($$
    SELECT sum(n) FROM (SELECT student_id, count(*) AS n FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'scan and group the events, no rule';

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

INSERT INTO bench SELECT 'engage.ele_minutes, serial', pg_temp.median_ms($$
    SELECT sum(cardinality(c)) FROM (SELECT engage.ele_minutes(ts, module_code) AS c
                                     FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'max_parallel_workers_per_gather = 0';

SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET enable_partitionwise_aggregate = on;
SELECT count(*) > 0 AS parallel_in_plan FROM (
    SELECT * FROM pg_temp.explain_lines($$SELECT engage.ele_minutes(ts, module_code) FROM engage.ele_event GROUP BY student_id$$)
) AS e WHERE line LIKE '%Parallel Append%' \gset
INSERT INTO bench SELECT 'engage.ele_minutes, 2 workers', pg_temp.median_ms($$
    SELECT sum(cardinality(c)) FROM (SELECT engage.ele_minutes(ts, module_code) AS c
                                     FROM engage.ele_event GROUP BY student_id) AS x
$$, :reps), 'partitionwise, Parallel Append in plan: ' || :'parallel_in_plan';
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET enable_partitionwise_aggregate;

-- the nightly refresh ------------------------------------------------------------------
INSERT INTO bench SELECT 'engage.refresh, 1 day', pg_temp.median_ms(
    format('CALL engage.refresh(%L, %L)', :'last_day', :'last_day'), :reps), '';
INSERT INTO bench SELECT 'engage.refresh, 30 days', pg_temp.median_ms(
    format('CALL engage.refresh(%L, %L)', :'last_day'::date - 29, :'last_day'), greatest(1, :reps / 2)), '';

-- the dashboard, as the web front end sees it, against the same query with the
-- filter written by hand and row-level security bypassed -----------------------------
SELECT array_agg(tutor_id) AS tutors FROM (
    SELECT DISTINCT tutor_id FROM engage.tutoring ORDER BY tutor_id LIMIT 200) AS t \gset
SELECT array_agg(student_id) AS consenting FROM (
    SELECT student_id FROM engage.consent_latest WHERE granted ORDER BY student_id LIMIT 200) AS s \gset
DROP ROLE IF EXISTS bench_web;
CREATE ROLE bench_web LOGIN IN ROLE engage_app;

\set q_tutor 'SELECT count(*) FROM (SELECT * FROM engage.my_students %3$s) AS x'
\set q_student 'SELECT count(*) FROM (SELECT * FROM engage.dashboard_engagement WHERE day > engage.local_day(now()) - 56 %3$s) AS x'
-- warm up, then measure
SELECT p50 AS warm_up FROM pg_temp.latency(replace(:'q_tutor', '%3$s', ''), :'tutors', true) \gset
BEGIN;
SET LOCAL SESSION AUTHORIZATION bench_web;
SELECT p50 AS tutor_rls_p50, p95 AS tutor_rls_p95
FROM pg_temp.latency(replace(:'q_tutor', '%3$s', ''), :'tutors', true) \gset
SELECT p50 AS student_rls_p50, p95 AS student_rls_p95
FROM pg_temp.latency(replace(:'q_student', '%3$s', ''), :'consenting', true) \gset
COMMIT;
SELECT p50 AS tutor_hand_p50, p95 AS tutor_hand_p95
FROM pg_temp.latency(replace(:'q_tutor', '%3$s', 'WHERE student_id = ANY (%2$s)'), :'tutors', false) \gset
SELECT p50 AS student_hand_p50, p95 AS student_hand_p95
FROM pg_temp.latency(replace(:'q_student', '%3$s', 'AND student_id = %1$s'), :'consenting', false) \gset
DROP ROLE bench_web;

INSERT INTO bench VALUES
  ('my_students (tutor), hand filter, p50', :tutor_hand_p50, 'no RLS, superuser'),
  ('my_students (tutor), RLS, p50', :tutor_rls_p50, 'as engage_app with SET LOCAL engage.viewer'),
  ('my_students (tutor), hand filter, p95', :tutor_hand_p95, ''),
  ('my_students (tutor), RLS, p95', :tutor_rls_p95, ''),
  ('dashboard_engagement (student), hand filter, p50', :student_hand_p50, 'no RLS, superuser'),
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
                 (2, 'ele_minutes serial / floor', 'engage.ele_minutes, serial', 'floor: count(*) GROUP BY student', false, 2.5),
                 (3, 'ele_minutes serial / 2 workers', 'engage.ele_minutes, serial', 'engage.ele_minutes, 2 workers', true, 1.6),
                 (4, 'my_students RLS / hand, p50', 'my_students (tutor), RLS, p50', 'my_students (tutor), hand filter, p50', false, 1.5),
                 (5, 'dashboard_engagement RLS / hand, p50', 'dashboard_engagement (student), RLS, p50',
                  'dashboard_engagement (student), hand filter, p50', false, 1.5))
         AS t (ord, ratio, numerator, denominator, at_least, bound)
    JOIN bench AS a ON a.name = t.numerator
    JOIN bench AS b ON b.name = t.denominator,
    LATERAL (SELECT CASE WHEN at_least THEN '>= ' ELSE '<= ' END || bound AS target) AS g
)
SELECT ratio, round(value::numeric, 2) AS value, target, CASE WHEN met THEN 'met' ELSE 'NOT MET' END AS status
FROM r ORDER BY ord;
