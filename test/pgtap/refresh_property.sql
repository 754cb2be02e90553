-- engage.refresh against a plain-SQL statement of the whole method, on a
-- random small university; and the invariants of the nightly run: it is
-- idempotent, day by day equals one run over the range, and only consenting
-- students are profiled.
BEGIN;
SELECT plan(23);
SET LOCAL TimeZone = 'America/Los_Angeles';  -- must not matter

INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences'), ('HUMS', 'Humanities');
INSERT INTO engage.academic_year VALUES
  ('2025/26', '2025-08-01', '2026-07-31'), ('2026/27', '2026-08-01', '2027-07-31');
INSERT INTO engage.coefficients VALUES
  ('CLES', '2025/26', 0.446, 0.068, 1.11), ('HUMS', '2025/26', 0.5, 0.05, 1.0),
  ('CLES', '2026/27', 0.4, 0.07, 1.2), ('HUMS', '2026/27', 0.55, 0.06, 0.9);
INSERT INTO engage.module
SELECT c || n, 'Module ' || c || n, c FROM unnest(ARRAY['CLES', 'HUMS']) AS c, generate_series(1, 4) AS n;

SELECT setseed(0.77);
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
SELECT 's' || i, 'Student ' || i, CASE WHEN i % 2 = 0 THEN 'CLES' ELSE 'HUMS' END, 'BA Test', 1
FROM generate_series(1, 48) AS i;
-- two or three modules a year, different in each year
INSERT INTO engage.enrolment
SELECT DISTINCT s.student_id, s.college || (1 + floor(random() * 4)::int), y.label
FROM engage.student AS s, engage.academic_year AS y, generate_series(1, 3);
-- consent: i % 6 = 0 none; 1 refused; 2 granted then withdrawn; 3 withdrawn then granted;
-- otherwise granted; in 2026/27 only even students consent
INSERT INTO engage.consent (student_id, academic_year, granted, recorded_at, recorded_by)
SELECT 's' || i, '2025/26', g, t, 'student'
FROM generate_series(1, 48) AS i,
     LATERAL (VALUES (i % 6 IN (1, 2, 3, 4, 5) AND i % 6 <> 1, '2025-09-20 10:00'::timestamptz),
                     (i % 6 = 3, '2026-01-10 10:00'::timestamptz)) AS v(g, t)
WHERE i % 6 <> 0 AND (t = '2025-09-20 10:00' OR i % 6 IN (2, 3));
INSERT INTO engage.consent (student_id, academic_year, granted, recorded_at, recorded_by)
SELECT 's' || i, '2026/27', i % 2 = 0, '2026-08-01 00:00', 'student' FROM generate_series(1, 48) AS i;

-- page views around the year boundary and the October DST change, on a
-- 20-second grid so that ties and exact 5-minute gaps occur
INSERT INTO engage.ele_event
SELECT s.student_id,
       b + floor(random() * 4000) * interval '20 seconds',
       CASE WHEN random() < 0.15 THEN NULL ELSE s.college || (1 + floor(random() * 4)::int) END
FROM engage.student AS s,
     unnest(ARRAY['2026-07-24 20:00+00', '2026-07-28 06:00+00', '2026-08-02 21:00+00',
                  '2026-10-22 08:00+00', '2026-10-24 20:00+00', '2026-10-27 12:00+00']::timestamptz[]) AS b,
     generate_series(1, 25);
INSERT INTO engage.app_event
SELECT s.student_id, b + random() * interval '3 days', 'timetable'
FROM engage.student AS s,
     unnest(ARRAY['2026-07-22 00:00+00', '2026-07-30 00:00+00', '2026-10-20 00:00+00',
                  '2026-10-25 00:00+00']::timestamptz[]) AS b,
     generate_series(1, 6);
INSERT INTO engage.career_event
SELECT s.student_id, 'E' || n, d, random() < 0.7
FROM engage.student AS s, generate_series(1, 3) AS n,
     LATERAL (SELECT (ARRAY['2026-07-27', '2026-08-01', '2026-10-24'])[n]::date AS d) AS x
WHERE random() < 0.5;

\ir ../method.sql
\ir ../day_by_day.sql

-- rows whose values differ between the refresh and the plain-SQL method
CREATE FUNCTION pg_temp.mismatches(f date, t date) RETURNS SETOF engage.daily_engagement
LANGUAGE sql AS $$
    SELECT s.* FROM engage.daily_engagement s JOIN pg_temp.reference(f, t) r
      ON r.student_id = s.student_id AND r.day = s.day AND r.module_code IS NOT DISTINCT FROM s.module_code
    WHERE abs(s.ele_minutes - r.ele_minutes) > 1e-9 OR s.app_choices <> r.app_choices
       OR s.career_events <> r.career_events OR abs(s.score - r.score) > 1e-9
$$;

CREATE TEMP VIEW snapshot AS
SELECT student_id, module_code, day, ele_minutes, app_choices, career_events, score
FROM engage.daily_engagement;

-- year boundary: 2026-07-26 .. 2026-08-04
CALL engage.refresh('2026-07-26', '2026-08-04');
SELECT isnt((SELECT count(*) FROM engage.daily_engagement), 0::bigint, 'the refresh wrote rows');
SELECT set_eq($$SELECT student_id, module_code, day FROM snapshot$$,
              $$SELECT student_id, module_code, day FROM pg_temp.reference('2026-07-26', '2026-08-04')$$,
              'rows exist for exactly the consenting students, their enrolled modules and overall, on consenting days');
SELECT is_empty($$SELECT * FROM pg_temp.mismatches('2026-07-26', '2026-08-04')$$,
                'across the year boundary every value matches the plain-SQL method');
SELECT is((SELECT students FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1),
          (SELECT count(DISTINCT student_id)::integer FROM engage.daily_engagement),
          'a run of more than a week counts the students it wrote rows for');

CREATE TEMP TABLE whole AS SELECT * FROM snapshot;
CALL engage.refresh('2026-07-26', '2026-08-04');
SELECT bag_eq('SELECT * FROM snapshot', 'SELECT * FROM whole', 'a second run changes nothing');

DELETE FROM engage.daily_engagement;
CALL pg_temp.refresh_day_by_day('2026-08-04', '2026-07-26');
SELECT bag_eq('SELECT * FROM snapshot', 'SELECT * FROM whole', 'day by day, in any order, equals one run over the range');
SELECT is((SELECT students FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1),
          (SELECT count(DISTINCT student_id)::integer FROM engage.daily_engagement WHERE day = '2026-07-26'),
          'a run of one day counts the students it wrote rows for');


-- s2 moved from CLES to HUMS on 2026-10-25, recorded by the loader with its date
INSERT INTO engage.student_college VALUES ('s2', 'CLES', '-infinity', '2026-10-25'), ('s2', 'HUMS', '2026-10-25', NULL);

-- DST: 2026-10-20 .. 2026-10-30
CALL engage.refresh('2026-10-20', '2026-10-30');
SELECT is((SELECT array_agg(DISTINCT e) FROM (
              SELECT round(score::numeric - (c.ele * ele_minutes_7d / 7 + c.app * app_choices_7d / 7.0
                                             + c.events * career_events_7d / 7.0)::numeric, 9) AS e
              FROM engage.daily_engagement AS d
              JOIN engage.coefficients AS c
                ON c.academic_year = '2026/27' AND c.college = CASE WHEN d.day < '2026-10-25' THEN 'CLES' ELSE 'HUMS' END
              WHERE d.student_id = 's2' AND d.day BETWEEN '2026-10-20' AND '2026-10-30') AS x),
          ARRAY[0::numeric], 'a change of college keeps the earlier days'' weights and gives the later ones the new college''s');
SELECT set_eq($$SELECT student_id, module_code, day FROM snapshot WHERE day >= '2026-10-01'$$,
              $$SELECT student_id, module_code, day FROM pg_temp.reference('2026-10-20', '2026-10-30')$$,
              'around the change of clocks the same rows exist as in the plain-SQL method');
SELECT is_empty($$SELECT * FROM pg_temp.mismatches('2026-10-20', '2026-10-30')$$,
                'around the change of clocks every value matches the plain-SQL method');
SELECT bag_eq($$SELECT * FROM snapshot WHERE day < '2026-10-01'$$, 'SELECT * FROM whole',
              'a refresh of other days leaves earlier days as they were');

-- Runs of up to a week whose look-back days are stored read the range's
-- events of all those students in bulk; the same rows, to the bit, as runs
-- from the raw events.  The marks of the loads are cleared, so that from
-- 2026-10-20 on every student's six days before are stored.
CREATE TEMP TABLE october AS
SELECT * FROM snapshot WHERE day BETWEEN '2026-10-20' AND '2026-10-30';
DELETE FROM engage.refresh_stale;
CALL engage.refresh('2026-10-14', '2026-10-19');
CALL pg_temp.refresh_day_by_day('2026-10-20', '2026-10-30');
SELECT bag_eq($$SELECT * FROM snapshot WHERE day BETWEEN '2026-10-20' AND '2026-10-30'$$,
              'SELECT * FROM october',
              'day by day from stored look-back days (read in bulk) equals one run from the raw events');
CALL engage.refresh('2026-10-20', '2026-10-26');
CALL engage.refresh('2026-10-27', '2026-10-30');
SELECT bag_eq($$SELECT * FROM snapshot WHERE day BETWEEN '2026-10-20' AND '2026-10-30'$$,
              'SELECT * FROM october',
              'runs of a week and of four days from stored look-back days give the same rows');
-- A run of more than a week goes student by student, and there too the
-- stored look-back days stand in for their events: removed behind the
-- marks' back, they change nothing.
SAVEPOINT look_back_events;
ALTER TABLE engage.ele_event DISABLE TRIGGER ele_event_mark_gone;
ALTER TABLE engage.app_event DISABLE TRIGGER app_event_mark_gone;
DELETE FROM engage.ele_event
WHERE ts >= engage.local_midnight('2026-10-20') AND ts < engage.local_midnight('2026-10-26');
DELETE FROM engage.app_event
WHERE ts >= engage.local_midnight('2026-10-20') AND ts < engage.local_midnight('2026-10-26');
ALTER TABLE engage.ele_event ENABLE TRIGGER ele_event_mark_gone;
ALTER TABLE engage.app_event ENABLE TRIGGER app_event_mark_gone;
CALL engage.refresh('2026-10-26', '2026-11-02');
SELECT bag_eq($$SELECT * FROM snapshot WHERE day BETWEEN '2026-10-26' AND '2026-10-30'$$,
              $$SELECT * FROM october WHERE day >= '2026-10-26'$$,
              'a run of eight days reads each student''s stored look-back days, not their events');
ROLLBACK TO SAVEPOINT look_back_events;

SELECT is_empty($$
    SELECT de.student_id FROM engage.daily_engagement de
    JOIN engage.academic_year y ON de.day BETWEEN y.starts AND y.ends
    WHERE NOT EXISTS (SELECT FROM engage.consent_latest cl WHERE cl.student_id = de.student_id
                        AND cl.academic_year = y.label AND cl.granted)
$$, 'no row exists for a student without consent in force for that day''s year');

-- Withdrawal in 2026/27 removes that year's rows and keeps 2025/26's.
INSERT INTO engage.consent (student_id, academic_year, granted, recorded_by)
VALUES ('s4', '2026/27', false, 'student');
CALL engage.refresh('2026-10-30', '2026-10-30');
SELECT is((SELECT count(*) FROM engage.daily_engagement WHERE student_id = 's4' AND day >= '2026-08-01'),
          0::bigint, 'a withdrawal removes the year''s rows at the next refresh');
SELECT cmp_ok((SELECT count(*) FROM engage.daily_engagement WHERE student_id = 's4' AND day < '2026-08-01'),
              '>', 0::bigint, 'rows of an earlier year with consent in force stay');

-- The college history is kept as students change college.
SELECT is((SELECT count(*) FROM engage.college_spans WHERE valid_from = '-infinity' AND valid_to IS NULL
           AND student_id <> 's2'),
          47::bigint, 'a student who never moved has been in their engage.student college all along');
UPDATE engage.student SET college = 'HUMS' WHERE student_id = 's4';
SELECT is(ARRAY(SELECT college || ' ' || valid_from || ' ' || coalesce(valid_to::text, '-')
                FROM engage.student_college WHERE student_id = 's4' ORDER BY valid_from),
          ARRAY['CLES -infinity ' || engage.today(), 'HUMS ' || engage.today() || ' -'],
          'a change of college closes the span today and opens the next');
UPDATE engage.student SET college = 'CLES' WHERE student_id = 's4';
SELECT is((SELECT array_agg(college ORDER BY valid_from) FROM engage.student_college WHERE student_id = 's4'),
          ARRAY['CLES', 'CLES'], 'a second change on the same day corrects that day''s span');
SELECT throws_ok($$INSERT INTO engage.student_college VALUES ('s4', 'HUMS', '2026-01-01', NULL)$$,
                 '23P01', 'college spans of student s4 overlap', 'overlapping spans of college are refused');

-- No foreign key keeps daily_engagement consistent: deleting a student or a
-- module deletes their computed rows instead.
INSERT INTO engage.module VALUES ('TMP1', 'Temporary', 'CLES');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
VALUES ('gone', 'Gone Away', 'CLES', 'BA Test', 1);
INSERT INTO engage.daily_engagement VALUES
    ('s2', 'TMP1', '2026-10-30', 1, 0, 0, 0.1, 1, 0, 0), ('gone', NULL, '2026-10-30', 1, 0, 0, 0.1, 1, 0, 0);
DELETE FROM engage.module WHERE module_code = 'TMP1';
SELECT is((SELECT count(*) FROM engage.daily_engagement WHERE module_code = 'TMP1'), 0::bigint,
          'deleting a module deletes its computed rows');
DELETE FROM engage.student WHERE student_id = 'gone';
SELECT is((SELECT count(*) FROM engage.daily_engagement WHERE student_id = 'gone'), 0::bigint,
          'deleting a student deletes their computed rows');

SELECT * FROM finish();
ROLLBACK;
