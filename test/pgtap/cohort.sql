-- The cohort figures: engage.stable_avg, the mean whose bits do not depend
-- on the order of its rows, and engage.cohort_week against a plain-SQL
-- statement of its rules (the means and medians of the students' weekly
-- means, the attendance rate, small groups left out, and groups that differ
-- from another by 1 to 4 students left out), the same bits however the
-- refresh is planned.
BEGIN;
SELECT plan(40);
SET LOCAL client_min_messages = warning;
\ir ../day_by_day.sql

-- engage.stable_avg ----------------------------------------------------------------
SELECT is(engage.stable_avg(x), 2::float8, 'the mean of 1, 2 and 3')
FROM unnest(ARRAY[3, 1, 2]::float8[]) AS x;
SELECT is(engage.stable_avg(x), 2::float8, 'NULLs are left out')
FROM unnest(ARRAY[NULL, 3, NULL, 1, 2]::float8[]) AS x;
SELECT is((SELECT engage.stable_avg(x) FROM unnest(ARRAY[NULL]::float8[]) AS x), NULL::float8,
          'no values give NULL');
SELECT throws_ok($$SELECT engage.stable_avg(x) FROM unnest(ARRAY[1, 'NaN']::float8[]) AS x$$,
                 '22023', 'engage.stable_avg does not take NaN', 'NaN is refused');
SELECT throws_ok($$SELECT engage.stable_avg(x) FROM unnest(ARRAY[1.5e308, 1.5e308]::float8[]) AS x$$,
                 '22003', NULL, 'a sum past the largest float is an overflow, not infinity');

-- values whose float sum depends on the order they are added in: added
-- after the large ones, the small ones are lost (no random values, so that
-- this holds on every run)
CREATE TEMP TABLE awkward AS
SELECT i, CASE WHEN i % 2 = 0 THEN 1e16 * (1 + i / 1e4) ELSE i % 7 + 0.25 END::float8 AS x
FROM generate_series(1, 3000) AS i;
SELECT isnt((SELECT sum(x ORDER BY x) FROM awkward), (SELECT sum(x ORDER BY x DESC) FROM awkward),
            'a float sum in two orders differs on these values (the test below can fail)');
SELECT is(ARRAY(SELECT float8send(engage.stable_avg(x ORDER BY i)) FROM awkward
                UNION SELECT float8send(engage.stable_avg(x ORDER BY i DESC)) FROM awkward
                UNION SELECT float8send(engage.stable_avg(x ORDER BY md5(i::text))) FROM awkward
                UNION SELECT float8send(engage.stable_avg(x ORDER BY x DESC)) FROM awkward),
          ARRAY(SELECT float8send(engage.stable_avg(x ORDER BY i)) FROM awkward),
          'engage.stable_avg has the same bits in any order of the rows');

-- and the same bits from partial states combined by parallel workers
CREATE TABLE pg_temp.many AS
SELECT i % 7 AS g, (CASE WHEN i % 2 = 0 THEN 1e16 ELSE 1 END) * random() AS x
FROM generate_series(1, 300000) AS i;
ANALYZE pg_temp.many;
CREATE TABLE public.many_shared AS SELECT * FROM pg_temp.many;
ANALYZE public.many_shared;
CREATE TEMP TABLE serial AS SELECT g, engage.stable_avg(x ORDER BY x DESC) AS m FROM public.many_shared GROUP BY g;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
CREATE FUNCTION pg_temp.plan_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN RETURN QUERY EXECUTE 'EXPLAIN (COSTS OFF) ' || q; END $$;
SELECT ok(EXISTS (SELECT FROM pg_temp.plan_lines('SELECT g, engage.stable_avg(x) FROM public.many_shared GROUP BY g') AS l
                  WHERE l ~ 'Partial (Hash|Group)?Aggregate'),
          'the workers compute partial states of engage.stable_avg');
SELECT is(ARRAY(SELECT float8send(engage.stable_avg(x)) FROM public.many_shared GROUP BY g ORDER BY g),
          ARRAY(SELECT float8send(m) FROM serial ORDER BY g),
          'combined partial states give the bits of one serial pass in another order');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DROP TABLE public.many_shared;

-- engage.stable_median: the bits of percentile_cont(0.5) --------------------------
SELECT is(engage.stable_median(x), 2::float8, 'the middle of three values')
FROM unnest(ARRAY[3, 1, 2]::float8[]) AS x;
SELECT is(engage.stable_median(x), 2.5::float8, 'between the two middle values of four, NULLs left out')
FROM unnest(ARRAY[4, NULL, 1, 3, 2]::float8[]) AS x;
SELECT is((SELECT engage.stable_median(x) FROM unnest(ARRAY[NULL]::float8[]) AS x), NULL::float8,
          'no values give NULL');
-- groups of 1 to 40 values, repeated values among them, in random order
CREATE TEMP TABLE medians AS
SELECT g, round((random() * 20 - 5)::numeric, (g % 3) * 4)::float8 * CASE WHEN g % 5 = 0 THEN 1e-300 ELSE 1 END AS x
FROM generate_series(1, 400) AS g, generate_series(1, g % 40 + 1) AS k;
SELECT is((SELECT count(*) FROM (
               SELECT g FROM medians GROUP BY g
               HAVING float8send(engage.stable_median(x)) IS DISTINCT FROM
                      float8send(percentile_cont(0.5) WITHIN GROUP (ORDER BY x))) AS d),
          0::bigint, 'on 400 groups of 1 to 40 values, the bits of percentile_cont(0.5)');
SELECT is((SELECT count(*) FROM medians GROUP BY () HAVING count(DISTINCT g) = 400), 8200::bigint,
          'the groups hold 8,200 values (the test above compares them all)');
SELECT throws_ok($$SELECT engage.stable_median(x) FROM unnest(ARRAY[1, 'NaN']::float8[]) AS x$$,
                 '22023', NULL, 'NaN is refused by the median too');

-- engage.byte_sorted ----------------------------------------------------------------
SELECT is(engage.byte_sorted('{b,ab,B,a,b}'), '{B,a,ab,b,b}', 'byte order: upper case first, a prefix first, duplicates kept');
SELECT is(engage.byte_sorted('{}'), '{}', 'an empty array stays empty');
SELECT is(engage.byte_sorted(ARRAY['é', 'z', 'e', 'ü', 'E']), ARRAY['E', 'e', 'z', 'é', 'ü'],
          'multibyte characters by their bytes');
SELECT throws_ok($$SELECT engage.byte_sorted('{a,NULL}')$$, '22004', NULL, 'a NULL member is refused');
SELECT throws_ok($$SELECT engage.byte_sorted('{{a},{b}}')$$, '2202E', NULL, 'a two-dimensional array is refused');

-- engage.symmetric_difference_size --------------------------------------------------
SELECT is(engage.symmetric_difference_size('{a,b,c}', '{b,c,d,e}'), 3, 'a and d, e are not shared');
SELECT is(engage.symmetric_difference_size('{}', '{x,y}'), 2, 'against an empty group, every member differs');
SELECT is(engage.symmetric_difference_size('{B,a,ab}', '{B,a,ab}'), 0,
          'the same members in byte order (upper case first, a prefix first) share all');
SELECT throws_ok($$SELECT engage.symmetric_difference_size('{b,a}', '{a}')$$, '22023', NULL,
                 'an array out of byte order is refused, not miscounted');
SELECT throws_ok($$SELECT engage.symmetric_difference_size('{a,a}', '{a}')$$, '22023', NULL,
                 'a repeated member is refused');
SELECT throws_ok($$SELECT engage.symmetric_difference_size('{a,NULL}', '{a}')$$, '22004', NULL,
                 'a NULL member is refused');
SELECT throws_ok($$SELECT engage.symmetric_difference_size('{{a},{b}}', '{a}')$$, '2202E', NULL,
                 'a two-dimensional array is refused');
CREATE TEMP TABLE pairs AS
SELECT ARRAY(SELECT DISTINCT 's' || (random() * 300)::int FROM generate_series(1, 150 + n) AS k) AS p,
       ARRAY(SELECT DISTINCT 's' || (random() * 300)::int FROM generate_series(1, 150 + n) AS k) AS q
FROM generate_series(1, 50) AS n;
SELECT is((SELECT count(DISTINCT p) FROM pairs), 50::bigint, 'fifty different random sets');
SELECT is((SELECT count(*) FROM pairs
           WHERE engage.symmetric_difference_size(
                     ARRAY(SELECT x FROM unnest(p) AS x ORDER BY x COLLATE "C"),
                     ARRAY(SELECT x FROM unnest(q) AS x ORDER BY x COLLATE "C"))
                 <> (SELECT count(*) FROM ((SELECT unnest(p) EXCEPT SELECT unnest(q))
                                           UNION ALL (SELECT unnest(q) EXCEPT SELECT unnest(p))) AS d)),
          0::bigint, 'on 50 random pairs of sets the count equals one by EXCEPT');
SELECT is((SELECT count(*) FROM pairs
           WHERE engage.byte_sorted(p || q) <> ARRAY(SELECT x FROM unnest(p || q) AS x ORDER BY x COLLATE "C")),
          0::bigint, 'engage.byte_sorted: on 50 random arrays, the order of ORDER BY x COLLATE "C"');

-- a cohort -------------------------------------------------------------------------
-- 40 students of one programme in four modules, and 3 of another programme
-- (too few to publish); BIO4 has the same students as BIO3 but for two, so
-- one of the two is left out
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year VALUES ('2026/27', '2026-08-01', '2027-07-31');
INSERT INTO engage.coefficients VALUES ('CLES', '2026/27', 0.446, 0.068, 1.11);
INSERT INTO engage.module SELECT 'BIO' || n, 'Module ' || n, 'CLES' FROM generate_series(1, 4) AS n;
SELECT setseed(0.31);
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
SELECT 's' || i, 'Student ' || i, 'CLES', CASE WHEN i <= 40 THEN 'BSc Biology' ELSE 'BSc Ecology' END, 1
FROM generate_series(1, 43) AS i;
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT student_id, '2026/27', true FROM engage.student;
INSERT INTO engage.enrolment
SELECT s.student_id, m.module_code, '2026/27'
FROM engage.student AS s, engage.module AS m
WHERE m.module_code = 'BIO1'
   OR (m.module_code = 'BIO2' AND random() < 0.5)
   OR (m.module_code = 'BIO3' AND substr(s.student_id, 2)::int % 3 <> 0)
   OR (m.module_code = 'BIO4' AND substr(s.student_id, 2)::int % 3 <> 0 AND s.student_id NOT IN ('s1', 's2'));
INSERT INTO engage.ele_event
SELECT e.student_id, engage.local_midnight(d::date) + interval '9 hours' + k * interval '3 minutes', e.module_code
FROM engage.enrolment AS e, generate_series('2026-10-05'::date, '2026-10-25', '1 day') AS d,
     generate_series(1, 3) AS k
WHERE random() < 0.4;
INSERT INTO engage.app_event
SELECT s.student_id, engage.local_midnight(d::date) + interval '13 hours', 'timetable'
FROM engage.student AS s, generate_series('2026-10-05'::date, '2026-10-25', '1 day') AS d
WHERE random() < 0.3;
INSERT INTO engage.attendance (student_id, module_code, session_id, session_type, starts_at, status)
SELECT e.student_id, e.module_code, e.module_code || '-' || d::date, 'lecture',
       engage.local_midnight(d::date) + interval '11 hours',
       (ARRAY['present', 'absent', 'authorised_absence'])[1 + floor(random() * 3)::int]
FROM engage.enrolment AS e, generate_series('2026-10-05'::date, '2026-10-25', '2 days') AS d;

SET LOCAL max_parallel_workers_per_gather = 0;
CALL engage.refresh('2026-10-05', '2026-10-25');
CREATE TEMP TABLE serial_cohort AS SELECT * FROM engage.cohort_week;
-- the figures of a table of cohort_week's shape, to the bit
CREATE FUNCTION pg_temp.bits(t regclass) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE figures text[];
BEGIN
    EXECUTE format('SELECT array_agg(f ORDER BY f) FROM (SELECT (c.college, c.programme, c.module_code, '
                   'c.week, c.students, float8send(c.mean_score), float8send(c.median_score), '
                   'c.attendance_rate)::text AS f FROM %s AS c) AS x', t) INTO figures;
    RETURN figures;
END
$$;

-- the rules in plain SQL, from the stored days
CREATE TEMP TABLE weekly AS
SELECT s.college, s.programme, d.module_code, engage.week_start(d.day) AS week, d.student_id,
       avg(d.score::numeric) AS score
FROM engage.daily_engagement AS d JOIN engage.student AS s USING (student_id)
GROUP BY 1, 2, 3, 4, 5;
CREATE TEMP TABLE reference AS
WITH groups AS (
    SELECT w.college, w.programme, w.module_code, w.week, count(*) AS students,
           avg(w.score) AS mean_score,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY w.score::float8) AS median_score,
           array_agg(w.student_id) AS members
    FROM weekly AS w GROUP BY 1, 2, 3, 4
), attended AS (
    SELECT g.college, g.programme, g.module_code, g.week,
           round(100.0 * count(*) FILTER (WHERE a.status = 'present')
                 / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'), 0), 1) AS rate
    FROM groups AS g
    JOIN engage.attendance AS a
      ON a.student_id = ANY (g.members) AND engage.week_start(engage.local_day(a.starts_at)) = g.week
     AND (g.module_code IS NULL OR a.module_code = g.module_code)
    GROUP BY 1, 2, 3, 4
), published AS (
    SELECT * FROM groups WHERE students >= 5
)
SELECT p.college, p.programme, p.module_code, p.week, p.students, p.mean_score, p.median_score, at.rate
FROM published AS p
LEFT JOIN attended AS at
       ON at.college = p.college AND at.programme = p.programme AND at.week = p.week
      AND at.module_code IS NOT DISTINCT FROM p.module_code
WHERE true
  -- left out: a module group within 1 to 4 students of another published
  -- group of its programme and week that is programme-wide, larger, or as
  -- large and first by module code
  AND NOT EXISTS (
    SELECT FROM published AS o
    WHERE o.college = p.college AND o.programme = p.programme AND o.week = p.week
      AND p.module_code IS NOT NULL AND o.module_code IS DISTINCT FROM p.module_code
      AND (SELECT count(*) FROM (SELECT unnest(p.members) EXCEPT SELECT unnest(o.members)) AS x)
        + (SELECT count(*) FROM (SELECT unnest(o.members) EXCEPT SELECT unnest(p.members)) AS y) BETWEEN 1 AND 4
      AND (o.module_code IS NULL OR o.students > p.students
           OR (o.students = p.students AND o.module_code < p.module_code)));
SELECT ok((SELECT count(*) FROM engage.cohort_week) >= 10, 'the refresh published cohort figures');
SELECT is(ARRAY(SELECT DISTINCT programme FROM engage.cohort_week), ARRAY['BSc Biology'],
          'the programme of 3 students is not published');
SELECT ok(EXISTS (SELECT FROM reference WHERE module_code = 'BIO3')
          <> EXISTS (SELECT FROM reference WHERE module_code = 'BIO4'),
          'of BIO3 and BIO4, two students apart, one is left out (the reference below is not trivial)');
SELECT is(ARRAY(SELECT (college, programme, module_code, week, students, attendance_rate)::text
                FROM engage.cohort_week ORDER BY 1),
          ARRAY(SELECT (college, programme, module_code, week, students, rate)::text FROM reference ORDER BY 1),
          'the same groups, sizes and attendance rates as the plain-SQL rules');
SELECT is((SELECT count(*) FROM engage.cohort_week AS c JOIN reference AS r
             ON r.college = c.college AND r.programme = c.programme AND r.week = c.week
            AND r.module_code IS NOT DISTINCT FROM c.module_code
           WHERE abs(c.mean_score - r.mean_score) > 1e-12 * greatest(1, abs(r.mean_score))
              OR abs(c.median_score - r.median_score) > 1e-12 * greatest(1, abs(r.median_score))),
          0::bigint, 'the same means and medians (to 1e-12: the reference sums in numeric)');

-- the refresh again with parallel workers wherever the planner can use them
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
CALL engage.refresh('2026-10-05', '2026-10-25');
SELECT is(pg_temp.bits('engage.cohort_week'), pg_temp.bits('serial_cohort'),
          'planned with parallel workers, the cohort figures have the same bits');

-- night by night: a run of one day reads its week back in one pass, a run of
-- three weeks student by student
DELETE FROM engage.cohort_week;
CALL pg_temp.refresh_day_by_day('2026-10-05', '2026-10-25');
SELECT is(pg_temp.bits('engage.cohort_week'), pg_temp.bits('serial_cohort'),
          'run night by night, the cohort figures have the same bits as from one run over the weeks');

-- a withdrawal recomputes the weeks it removes rows from, with the run's
-- own week three weeks later: weeks with others between them, which are
-- not the run's (six other students' rows written by hand in one)
INSERT INTO engage.daily_engagement (student_id, module_code, day, ele_minutes, app_choices, career_events,
                                     score, ele_minutes_7d, app_choices_7d, career_events_7d)
SELECT student_id, NULL, '2026-10-27', 1, 0, 0, 1, 1, 0, 0
FROM engage.student WHERE programme = 'BSc Biology' ORDER BY student_id DESC LIMIT 6;
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT min(student_id), '2026/27', false FROM engage.student WHERE programme = 'BSc Biology';
CALL engage.refresh('2026-11-10', '2026-11-10');
SELECT is_empty($$SELECT FROM engage.cohort_week WHERE week = '2026-10-26'$$,
                'a week between them is not the run''s: no figures for it');
CREATE TEMP TABLE weeks_apart AS SELECT * FROM engage.cohort_week WHERE week < '2026-10-26';
SELECT isnt(pg_temp.bits('weeks_apart'), pg_temp.bits('serial_cohort'),
            'the withdrawal changes the figures of the weeks it counted in');
CALL engage.refresh('2026-10-05', '2026-10-25');
CREATE TEMP TABLE weeks_again AS SELECT * FROM engage.cohort_week WHERE week < '2026-10-26';
SELECT is(pg_temp.bits('weeks_apart'), pg_temp.bits('weeks_again'),
          'recomputed with a week three weeks apart, they have the bits of a run over those weeks');

SELECT * FROM finish();
ROLLBACK;
