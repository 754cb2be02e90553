-- The nightly run catches up by itself: consent granted again, page views
-- loaded late, a new enrolment and new coefficients mark the days they
-- change (engage.refresh_stale), and the next CALL engage.refresh() gives
-- exactly the rows a backfill from the raw events gives.
BEGIN;
SELECT plan(17);
SET LOCAL client_min_messages = warning;

CREATE TEMP TABLE today AS SELECT engage.today() AS d;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM (SELECT extract(year FROM d - 212)::int AS y FROM today) AS t;
INSERT INTO engage.coefficients SELECT 'CLES', label, 0.446, 0.068, 1.11 FROM engage.academic_year;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES'), ('BIO1002', 'Genetics', 'CLES');
-- A and B are twins: the same streams, so they must have the same rows
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
VALUES ('A', 'Ann', 'CLES', 'BSc Biology', 1), ('B', 'Ben', 'CLES', 'BSc Biology', 1);
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT s, engage.current_academic_year(), true FROM unnest(ARRAY['A', 'B']) AS s;
INSERT INTO engage.enrolment SELECT s, 'BIO1001', engage.current_academic_year() FROM unnest(ARRAY['A', 'B']) AS s;
INSERT INTO engage.ele_event
SELECT s, engage.local_midnight(d - k) + interval '10 hours' + i * interval '3 minutes',
       CASE WHEN i % 3 = 0 THEN 'BIO1002' ELSE 'BIO1001' END
FROM today, unnest(ARRAY['A', 'B']) AS s, generate_series(2, 20) AS k, generate_series(1, 6) AS i;
INSERT INTO engage.app_event
SELECT s, engage.local_midnight(d - k) + interval '12 hours', 'timetable'
FROM today, unnest(ARRAY['A', 'B']) AS s, generate_series(2, 20, 3) AS k;

CREATE FUNCTION pg_temp.rows_of(who text) RETURNS TABLE (module_code text, day date, ele_minutes float8,
    app_choices int, career_events int, score float8, ele_minutes_7d float8, app_choices_7d int, career_events_7d int)
LANGUAGE sql AS $$
    SELECT module_code, day, ele_minutes, app_choices, career_events, score,
           ele_minutes_7d, app_choices_7d, career_events_7d
    FROM engage.daily_engagement WHERE student_id = who
$$;

SELECT isnt((SELECT count(*) FROM engage.refresh_stale), 0::bigint, 'loading past page views marks the students');
SELECT starts AS year_start FROM engage.academic_year \gset
CALL engage.refresh(:'year_start', engage.today() - 1);
SELECT is((SELECT count(*) FROM engage.refresh_stale), 0::bigint,
          'a backfill up to yesterday settles the marks it covers');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of('A')$$, $$SELECT * FROM pg_temp.rows_of('B')$$,
              'twins have the same rows');

-- consent withdrawn, then granted again
INSERT INTO engage.consent (student_id, academic_year, granted) VALUES ('A', engage.current_academic_year(), false);
CALL engage.refresh();
SELECT is((SELECT count(*) FROM engage.daily_engagement WHERE student_id = 'A'), 0::bigint,
          'a withdrawal removes the student''s rows at the next nightly run');
INSERT INTO engage.consent (student_id, academic_year, granted) VALUES ('A', engage.current_academic_year(), true);
SELECT is((SELECT from_day FROM engage.refresh_stale WHERE student_id = 'A'),
          (SELECT starts FROM engage.academic_year WHERE label = engage.current_academic_year()),
          'consent granted again marks the student from the start of the year');
CALL engage.refresh();
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of('A')$$, $$SELECT * FROM pg_temp.rows_of('B')$$,
              'after one nightly run the student has exactly the rows of one who never withdrew');
SELECT is((SELECT students_caught_up FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1), 1,
          'the run reports the student it caught up');

-- page views loaded late for a day five days ago
INSERT INTO engage.ele_event
SELECT 'B', engage.local_midnight(d - 5) + interval '20 hours' + i * interval '1 minute', 'BIO1001'
FROM today, generate_series(1, 30) AS i;
SELECT is((SELECT from_day FROM engage.refresh_stale WHERE student_id = 'B'), (SELECT d - 5 FROM today),
          'late page views mark the student from their day');
CALL engage.refresh();
CREATE TEMP TABLE nightly AS SELECT * FROM pg_temp.rows_of('B');
CALL engage.refresh(:'year_start', engage.today() - 1);
SELECT bag_eq($$SELECT * FROM nightly$$, $$SELECT * FROM pg_temp.rows_of('B')$$,
              'the nightly run picks up late page views exactly as a backfill would');

-- a new enrolment, and new weights
INSERT INTO engage.enrolment VALUES ('A', 'BIO1002', engage.current_academic_year());
CALL engage.refresh();
SELECT is((SELECT count(*) FROM engage.daily_engagement WHERE student_id = 'A' AND module_code = 'BIO1002'),
          (SELECT count(*) FROM engage.daily_engagement WHERE student_id = 'A' AND module_code IS NULL),
          'a new enrolment gives the module''s rows for the days already stored');
UPDATE engage.coefficients SET ele = 0.5 WHERE college = 'CLES';
SELECT is((SELECT count(*) FROM engage.refresh_stale), 2::bigint, 'new weights mark every student of the college');
CALL engage.refresh();
SELECT is((SELECT count(*) FROM engage.daily_engagement
           WHERE abs(score - (0.5 * ele_minutes_7d / 7 + 0.068 * app_choices_7d / 7.0 + 1.11 * career_events_7d / 7.0)) > 1e-9),
          0::bigint, 'and the next nightly run scores every stored day with them');

-- a night the job did not run is caught up by the next one
DELETE FROM engage.refresh_run;
CALL engage.refresh(:'year_start', engage.today() - 3);
CREATE TEMP TABLE settled AS SELECT * FROM pg_temp.rows_of('B');
DELETE FROM engage.daily_engagement WHERE day >= engage.today() - 2;
CALL engage.refresh();
SELECT is((SELECT from_day FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1), (SELECT d - 2 FROM today),
          'the nightly run starts the day after the last day computed');
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of('B')$$, $$SELECT * FROM settled$$,
              'and gives the rows of the night it missed and of yesterday');

-- The nightly run reads one day of page views: the stored days before it
-- stand in for the raw events its windows reach.  So page views of those
-- days removed behind the marks' back (the trigger off) change nothing, and
-- once a stored day is missing the run reads the raw events again.
SELECT (SELECT d - 1 FROM today) - 6 < :'year_start'::date AS window_leaves_year \gset
\if :window_leaves_year
SELECT skip('the window of yesterday reaches into the last academic year, where the stored days do not stand in', 3);
\else
CREATE TEMP TABLE yesterday AS SELECT * FROM pg_temp.rows_of('A') WHERE day = (SELECT d - 1 FROM today);
SELECT ok((SELECT ele_minutes = 0 AND ele_minutes_7d > 0 FROM yesterday WHERE module_code IS NULL),
          'yesterday''s 7-day figures come from the days before it');
ALTER TABLE engage.ele_event DISABLE TRIGGER ele_event_mark_gone;
DELETE FROM engage.ele_event WHERE student_id = 'A' AND ts < engage.local_midnight((SELECT d - 1 FROM today));
ALTER TABLE engage.ele_event ENABLE TRIGGER ele_event_mark_gone;
CALL engage.refresh(engage.today() - 1, engage.today() - 1);
SELECT bag_eq($$SELECT * FROM pg_temp.rows_of('A') WHERE day = (SELECT d - 1 FROM today)$$, $$SELECT * FROM yesterday$$,
              'a one-day run takes the days before it from the stored rows, not from their page views');
DELETE FROM engage.daily_engagement WHERE student_id = 'A' AND day = (SELECT d - 3 FROM today);
CALL engage.refresh(engage.today() - 1, engage.today() - 1);
SELECT is((SELECT ele_minutes_7d FROM engage.daily_engagement
           WHERE student_id = 'A' AND module_code IS NULL AND day = (SELECT d - 1 FROM today)), 0::float8,
          'with a stored day missing it reads the raw events of the whole window instead');
\endif

SELECT * FROM finish();
ROLLBACK;
