-- Alerts with a history: what fires and clears, under which thresholds, and
-- who may read an alert (the rule of the data behind it), attacked.
BEGIN;
SELECT plan(30);
SET LOCAL client_min_messages = warning;

CREATE ROLE al_t1 LOGIN IN ROLE engage_tutor;
CREATE ROLE al_t2 LOGIN IN ROLE engage_tutor;
CREATE ROLE al_s1 LOGIN IN ROLE engage_student;
CREATE ROLE al_app LOGIN IN ROLE engage_app;
CREATE ROLE al_admin LOGIN IN ROLE engage_admin;
CREATE ROLE al_analyst LOGIN IN ROLE engage_analyst;
CREATE ROLE al_loader LOGIN IN ROLE engage_loader;

-- today is well inside the academic year, whatever the date
CREATE TEMP TABLE today AS SELECT engage.today() AS d;
GRANT SELECT ON today TO PUBLIC;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), d - 200, d + 164
FROM today, LATERAL (SELECT extract(year FROM d - 200)::int AS y) AS t;
INSERT INTO engage.coefficients SELECT 'CLES', label, 0.446, 0.068, 1.11 FROM engage.academic_year;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES'), ('BIO1002', 'Genetics', 'CLES');
INSERT INTO engage.staff VALUES ('T1', 'Dr One', 'al_t1'), ('T2', 'Dr Two', 'al_t2'), ('A1', 'Desk', 'al_admin');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
VALUES ('S1', 'Sam One', 'CLES', 'BSc Biology', 1, 'al_s1'), ('S2', 'Sue Two', 'CLES', 'BSc Biology', 1, NULL),
       ('S3', 'Sid Three', 'CLES', 'BSc Biology', 1, NULL), ('S4', 'Sal Four', 'CLES', 'BSc Biology', 1, NULL);
-- T1 tutors S1, S2 (no consent) and S3; T2 tutors S4
INSERT INTO engage.tutoring SELECT 'T1', s, d - 100, NULL::date FROM today, unnest(ARRAY['S1', 'S2', 'S3']) AS s;
INSERT INTO engage.tutoring SELECT 'T2', 'S4', d - 100, NULL::date FROM today;
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT s, engage.current_academic_year(), true FROM unnest(ARRAY['S1', 'S3', 'S4']) AS s;

-- (daily_engagement keeps a partition per academic year, which the refresh
-- makes; these stored figures are written by hand)
DO $$ BEGIN
    PERFORM engage.open_years(engage.today() - 60, engage.today());
    PERFORM engage.index_years();
END $$;
-- stored figures (as the refresh stores them) for the 30 days up to yesterday:
-- S1 steady at 10 then 3 yesterday (a drop); S3 near zero, 0.07 then 0.02,
-- with no VLE for a week; S4 steady
INSERT INTO engage.daily_engagement
    (student_id, module_code, day, ele_minutes, app_choices, career_events, score,
     ele_minutes_7d, app_choices_7d, career_events_7d)
SELECT s, NULL, d - i, 1, 0, 0,
       CASE s WHEN 'S1' THEN CASE WHEN i = 1 THEN 3 ELSE 10 END
              WHEN 'S3' THEN CASE WHEN i = 1 THEN 0.02 ELSE 0.07 END
              ELSE 10 END,
       CASE WHEN s = 'S3' AND i <= 7 THEN 0 ELSE 20 END, 0, 0
FROM today, unnest(ARRAY['S1', 'S3', 'S4']) AS s, generate_series(1, 30) AS i;

-- attendance: S2 (no consent) attended all 6 sessions before the last four
-- weeks, then missed the last 3 of 5
INSERT INTO engage.attendance (student_id, module_code, session_id, session_type, starts_at, status)
SELECT 'S2', 'BIO1001', 'old' || i, 'lecture', engage.local_midnight(d - 40 - i) + interval '10 hours', 'present'
FROM today, generate_series(1, 6) AS i
UNION ALL
SELECT 'S2', 'BIO1001', 'new' || i, 'lecture', engage.local_midnight(d - 10 + i) + interval '10 hours',
       CASE WHEN i <= 2 THEN 'present' ELSE 'absent' END
FROM today, generate_series(1, 5) AS i;

-- marks: S1 fails BIO1001; S2 (no consent) fails BIO1002; S4 passes one
-- module and fails another; a fail of last year counts no more
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark, recorded_at)
SELECT 'S1', 'BIO1001', 'Essay', 'coursework', 35, engage.local_midnight(d - 5) FROM today
UNION ALL SELECT 'S2', 'BIO1002', 'Test', 'test', 20, engage.local_midnight(d - 5) FROM today
UNION ALL SELECT 'S4', 'BIO1001', 'Essay', 'coursework', 65, engage.local_midnight(d - 5) FROM today
UNION ALL SELECT 'S4', 'BIO1002', 'Essay', 'coursework', 30, engage.local_midnight(d - 5) FROM today
UNION ALL SELECT 'S3', 'BIO1002', 'Old essay', 'coursework', 10, engage.local_midnight(d - 300) FROM today;

CREATE FUNCTION pg_temp.open_alerts() RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(student_id || ':' || kind ORDER BY student_id, kind), '{}')
    FROM engage.alert WHERE cleared_at IS NULL $$;
CREATE FUNCTION pg_temp.seen() RETURNS text[] LANGUAGE sql AS $$
    SELECT coalesce(array_agg(student_id || ':' || kind ORDER BY student_id, kind), '{}')
    FROM engage.dashboard_alerts $$;
GRANT EXECUTE ON FUNCTION pg_temp.seen() TO PUBLIC;

-- What fires ----------------------------------------------------------------------
SET SESSION AUTHORIZATION al_loader;
CALL engage.refresh_alerts();
RESET SESSION AUTHORIZATION;
SELECT is(pg_temp.open_alerts(),
          ARRAY['S1:failed_mark', 'S1:score_drop', 'S2:absence_run', 'S2:attendance_falling',
                'S2:failed_mark', 'S3:no_vle_7d', 'S4:failed_mark'],
          'a loader''s run fires each condition that holds as of yesterday');
SELECT is((SELECT fired_on FROM engage.alert WHERE student_id = 'S1' AND kind = 'score_drop'),
          (SELECT d - 1 FROM today), 'an alert is dated by the day whose figures fired it');
SELECT is((SELECT detail FROM engage.alert WHERE student_id = 'S1' AND kind = 'score_drop'),
          '{"score": 3, "mean_4wk": 10}'::jsonb, 'and keeps the figures behind it');
SELECT ok(NOT ('S3:score_drop' = ANY (pg_temp.open_alerts())),
          'a relative drop of a near-zero score (0.07 to 0.02) stays under the absolute floor');

CALL engage.refresh_alerts();
SELECT is((SELECT count(*) FROM engage.alert), 7::bigint, 'a second run fires nothing twice');

-- an authorised absence after the run, or a session of today (after the
-- figures' day), leaves it as it is
INSERT INTO engage.attendance (student_id, module_code, session_id, session_type, starts_at, status)
SELECT 'S2', 'BIO1001', 'excused', 'lecture', engage.local_midnight(d - 3) + interval '10 hours', 'authorised_absence'
FROM today
UNION ALL
SELECT 'S2', 'BIO1001', 'today', 'lecture', engage.local_midnight(d) + interval '1 hour', 'present' FROM today;
CALL engage.refresh_alerts();
SELECT is(pg_temp.open_alerts(),
          ARRAY['S1:failed_mark', 'S1:score_drop', 'S2:absence_run', 'S2:attendance_falling',
                'S2:failed_mark', 'S3:no_vle_7d', 'S4:failed_mark'],
          'an authorised absence does not break a run of absences, and today''s sessions count from tomorrow');
DELETE FROM engage.attendance WHERE session_id IN ('excused', 'today');

-- the thresholds are settings
SET engage.alert_score_floor = 0;
CALL engage.refresh_alerts();
SELECT ok('S3:score_drop' = ANY (pg_temp.open_alerts()), 'with engage.alert_score_floor at 0 the near-zero drop fires');
RESET engage.alert_score_floor;
CALL engage.refresh_alerts();
SELECT ok(NOT ('S3:score_drop' = ANY (pg_temp.open_alerts())), 'and clears again at the default floor');
SET engage.alert_absence_run = 4;
CALL engage.refresh_alerts();
SELECT ok(NOT ('S2:absence_run' = ANY (pg_temp.open_alerts())), 'engage.alert_absence_run sets the length of the run');
RESET engage.alert_absence_run;
CALL engage.refresh_alerts();
SELECT throws_ok('SET engage.alert_score_drop_ratio = 2', '22023', NULL, 'a threshold out of range is refused');
SET SESSION AUTHORIZATION al_loader;
SELECT throws_ok('SET engage.alert_score_floor = 0', '42501', NULL, 'only a superuser sets a threshold');
RESET SESSION AUTHORIZATION;

-- Clearing keeps the history --------------------------------------------------------
UPDATE engage.daily_engagement SET score = 10
WHERE student_id = 'S1' AND day = (SELECT d - 1 FROM today);
CALL engage.refresh_alerts();
SELECT ok((SELECT cleared_at IS NOT NULL FROM engage.alert WHERE student_id = 'S1' AND kind = 'score_drop'),
          'an alert whose condition no longer holds is cleared, not deleted');
UPDATE engage.daily_engagement SET score = 3
WHERE student_id = 'S1' AND day = (SELECT d - 1 FROM today);
CALL engage.refresh_alerts();
SELECT is((SELECT count(*) FILTER (WHERE cleared_at IS NULL) || ' open of ' || count(*)
           FROM engage.alert WHERE student_id = 'S1' AND kind = 'score_drop'),
          '1 open of 2', 'firing again opens a new alert beside the cleared one');
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark, recorded_at)
SELECT 'S2', 'BIO1002', 'Resit', 'test', 55, engage.local_midnight(d - 2) FROM today;
CALL engage.refresh_alerts();
SELECT ok(NOT ('S2:failed_mark' = ANY (pg_temp.open_alerts())), 'a later pass in the module clears a failed mark');
SELECT throws_ok($$INSERT INTO engage.alert (student_id, kind, fired_on) SELECT 'S1', 'score_drop', d FROM today$$,
                 '23505', NULL, 'one open alert per student and kind');

-- Who reads which alert -------------------------------------------------------------
SET SESSION AUTHORIZATION al_t1;
SELECT is(pg_temp.seen(),
          ARRAY['S1:failed_mark', 'S1:score_drop', 'S1:score_drop', 'S2:absence_run', 'S2:absence_run',
                'S2:attendance_falling', 'S3:no_vle_7d', 'S3:score_drop'],
          'the tutor reads every alert of their tutees, cleared ones included, but none of a non-consenting tutee''s mark');
SELECT is((SELECT count(*) FROM engage.alert WHERE student_id = 'S2' AND kind = 'failed_mark'), 0::bigint,
          'nor straight from the table');
-- a forged viewer: a tutor who names another person gains nothing
SET engage.viewer = 'T2';
SELECT ok(NOT ('S4:failed_mark' = ANY (pg_temp.seen()) OR EXISTS (SELECT FROM engage.alert WHERE student_id = 'S4')),
          'a tutor who sets engage.viewer reads no other tutor''s tutee');
RESET engage.viewer;
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION al_t2;
SELECT is(pg_temp.seen(), ARRAY['S4:failed_mark'], 'another tutor reads only their own tutee''s');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION al_s1;
SELECT is(pg_temp.seen(), ARRAY['S1:failed_mark', 'S1:score_drop', 'S1:score_drop'], 'a student reads their own alerts');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION al_app;
SELECT is(pg_temp.seen(), '{}'::text[], 'the web front end naming nobody reads nothing');
SELECT set_config('engage.viewer', 'T2', true);
SELECT is(pg_temp.seen(), ARRAY['S4:failed_mark'], 'and reads as the viewer it names');
RESET engage.viewer;
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION al_analyst;
SELECT throws_ok('SELECT * FROM engage.alert', '42501', NULL, 'an analyst reads no alert');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION al_admin;
SELECT throws_ok('SELECT * FROM engage.dashboard_alerts', '42501', NULL, 'nor does an administrator');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION al_t1;
SELECT throws_ok('CALL engage.refresh_alerts()', '42501', NULL, 'a tutor cannot run the alerts');
RESET SESSION AUTHORIZATION;

-- a leaky function in the tutor's WHERE sees only rows the policy lets through
CREATE TEMP TABLE leaked (student_id text, kind text);
GRANT INSERT ON leaked TO PUBLIC;
CREATE FUNCTION pg_temp.f_leak(s text, k text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN INSERT INTO pg_temp.leaked VALUES (s, k); RETURN true; END $$;
GRANT EXECUTE ON FUNCTION pg_temp.f_leak(text, text) TO PUBLIC;
SET SESSION AUTHORIZATION al_t2;
SELECT count(*) FROM engage.dashboard_alerts AS a WHERE pg_temp.f_leak(a.student_id, a.kind);
RESET SESSION AUTHORIZATION;
SELECT is((SELECT array_agg(DISTINCT student_id) FROM leaked), ARRAY['S4'],
          'a leaky function in a WHERE clause sees no hidden alert');

-- Live rules: exam periods and consent ----------------------------------------------
INSERT INTO engage.exam_period SELECT 'Exams', d - 1, d + 1 FROM today;
SET SESSION AUTHORIZATION al_t1;
SELECT ok(NOT ('S1:failed_mark' = ANY (pg_temp.seen())), 'during an exam period no failed mark is read');
RESET SESSION AUTHORIZATION;
DELETE FROM engage.exam_period;

-- S1 withdraws consent: their engagement and mark alerts vanish at once
SET SESSION AUTHORIZATION al_s1;
SELECT engage.set_consent('S1', false);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION al_t1;
SELECT ok(NOT EXISTS (SELECT FROM engage.dashboard_alerts WHERE student_id = 'S1'),
          'after a withdrawal the tutor reads none of the student''s alerts, on the very next query');
RESET SESSION AUTHORIZATION;
CALL engage.refresh_alerts();
SELECT is((SELECT array_agg(DISTINCT kind) FROM engage.alert WHERE student_id = 'S1'), ARRAY['failed_mark'],
          'and the next run removes the engagement alerts of the withdrawn year');

-- The nightly refresh runs the alerts at its end
DELETE FROM engage.alert;
DELETE FROM engage.daily_engagement;
SELECT d - 1 AS yesterday FROM today \gset
CALL engage.refresh(:'yesterday', :'yesterday');
SELECT ok('S3:no_vle_7d' = ANY (pg_temp.open_alerts()), 'engage.refresh calls engage.refresh_alerts at its end');

SELECT * FROM finish();
ROLLBACK;
