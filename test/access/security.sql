-- Who sees what, attacked from every role.  Login roles are switched with
-- SET SESSION AUTHORIZATION, which changes the session's login role exactly
-- as a new connection would.  Runs in a database of its own, each statement
-- in its own transaction unless a test needs one (see test/access/README).
SELECT plan(74);
SET client_min_messages = warning;

-- people and roles -------------------------------------------------------------
DROP ROLE IF EXISTS sec_tutor1, sec_tutor2, sec_s1, sec_s2, sec_app, sec_bi, sec_loader, sec_admin, sec_nobody;
CREATE ROLE sec_tutor1 LOGIN IN ROLE engage_tutor;
CREATE ROLE sec_tutor2 LOGIN IN ROLE engage_tutor;
CREATE ROLE sec_s1 LOGIN IN ROLE engage_student;
CREATE ROLE sec_s2 LOGIN IN ROLE engage_student;
CREATE ROLE sec_app LOGIN IN ROLE engage_app;
CREATE ROLE sec_bi LOGIN IN ROLE engage_analyst;
CREATE ROLE sec_loader LOGIN IN ROLE engage_loader;
CREATE ROLE sec_admin LOGIN IN ROLE engage_admin;
CREATE ROLE sec_nobody LOGIN;

CREATE TEMP TABLE today AS SELECT engage.local_day(now()) AS d;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM (SELECT extract(year FROM d - 212)::int AS y FROM today) AS t;
INSERT INTO engage.coefficients SELECT 'CLES', label, 0.446, 0.068, 1.11 FROM engage.academic_year;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES');
INSERT INTO engage.staff VALUES ('T1', 'Dr One', 'sec_tutor1'), ('T2', 'Dr Two', 'sec_tutor2'),
                                ('A1', 'Desk', 'sec_admin');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
VALUES ('S1', 'Sam One', 'CLES', 'BSc Biology', 1, 'sec_s1'),     -- T1's tutee, consents
       ('S2', 'Sue Two', 'CLES', 'BSc Biology', 1, 'sec_s2'),     -- T1's tutee, no consent
       ('S3', 'Sid Three', 'CLES', 'BSc Biology', 1, NULL),      -- T1's until last month, now T2's
       ('S4', 'Sal Four', 'CLES', 'BSc Biology', 1, NULL);       -- T1's from tomorrow
INSERT INTO engage.tutoring SELECT 'T1', 'S1', d - 100, NULL::date FROM today
    UNION ALL SELECT 'T1', 'S2', d - 100, NULL FROM today
    UNION ALL SELECT 'T1', 'S3', d - 100, d - 30 FROM today
    UNION ALL SELECT 'T2', 'S3', d - 30, NULL FROM today
    UNION ALL SELECT 'T1', 'S4', d + 1, NULL FROM today;
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT s, engage.current_academic_year(), true FROM unnest(ARRAY['S1', 'S3', 'S4']) AS s;
INSERT INTO engage.enrolment SELECT s, 'BIO1001', engage.current_academic_year()
FROM unnest(ARRAY['S1', 'S2', 'S3', 'S4']) AS s;
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark)
SELECT s, 'BIO1001', 'Essay', 'coursework', 65 FROM unnest(ARRAY['S1', 'S2', 'S3', 'S4']) AS s;
INSERT INTO engage.attendance
SELECT s, 'BIO1001', 'L' || i, 'lecture', now() - i * interval '1 day',
       CASE WHEN s = 'S2' AND i <= 3 THEN 'absent' ELSE 'present' END
FROM unnest(ARRAY['S1', 'S2', 'S3', 'S4']) AS s, generate_series(1, 5) AS i;
INSERT INTO engage.employability (student_id, academic_year, readiness_stage)
SELECT s, engage.current_academic_year(), 'plan' FROM unnest(ARRAY['S1', 'S2', 'S3', 'S4']) AS s;
-- (daily_engagement keeps a partition per academic year, which the refresh
-- makes; these stored figures are written by hand)
DO $$ BEGIN
    PERFORM engage.open_years(engage.today() - 60, engage.today());
    PERFORM engage.index_years();
END $$;
INSERT INTO engage.daily_engagement
SELECT s, m, d - i, 10, 1, 0, 5, 10 * (4 - i), 4 - i, 0 FROM today, unnest(ARRAY['S1', 'S2', 'S3', 'S4']) AS s,
       unnest(ARRAY[NULL, 'BIO1001']) AS m, generate_series(1, 3) AS i;
INSERT INTO engage.meeting_note (student_id, author_id, met_on, focus, discussed, summary)
SELECT s, 'T1', d - 10, 'routine', 'Settling in', 'Fine' FROM today, unnest(ARRAY['S1', 'S2', 'S3']) AS s;

-- helpers: the rows a query counts, the students it shows and its plan
-- (each query planned on its own), and a leaky function, cheap enough for
-- the planner to run it first if it could, which fails the query when it
-- is shown a row outside the set the caller may see.  They are not
-- temporary, so that a cluster can run them where the rows are.
CREATE SCHEMA access_test;
GRANT USAGE ON SCHEMA access_test TO PUBLIC;
CREATE FUNCTION access_test.leak(seen text, allowed text[]) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN
    IF NOT seen = ANY (allowed) THEN
        RAISE EXCEPTION 'leaked: %', seen USING ERRCODE = 'P0001';
    END IF;
    RETURN true;
END $$;
GRANT EXECUTE ON FUNCTION access_test.leak(text, text[]) TO PUBLIC;

CREATE FUNCTION access_test.n(q text) RETURNS bigint LANGUAGE plpgsql AS
$$ DECLARE r bigint; BEGIN EXECUTE format('SELECT count(*) FROM (%s) AS x', q) INTO r; RETURN r; END $$;
CREATE FUNCTION access_test.ids(q text) RETURNS text[] LANGUAGE plpgsql AS
$$ DECLARE r text[]; BEGIN EXECUTE format('SELECT array_agg(DISTINCT student_id ORDER BY student_id) FROM (%s) AS x', q) INTO r; RETURN coalesce(r, '{}'); END $$;
GRANT EXECUTE ON FUNCTION access_test.n(text), access_test.ids(text) TO PUBLIC;
CREATE FUNCTION access_test.plan(q text) RETURNS TABLE (line text) LANGUAGE plpgsql AS
$$ BEGIN RETURN QUERY EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) ' || q; END $$;
GRANT EXECUTE ON FUNCTION access_test.plan(text) TO PUBLIC;

-- a tutor ------------------------------------------------------------------------
SET SESSION AUTHORIZATION sec_tutor1;
SELECT is(engage.viewer(), 'T1', 'a tutor logging in with their own role is their staff id');
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), ARRAY['S1', 'S2'],
          'a tutor sees exactly their current tutees: not a former tutee, not a future one');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_attendance'), ARRAY['S1', 'S2'],
          'attendance of both tutees, with or without consent');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_meetings'), ARRAY['S1', 'S2'],
          'meeting notes of both tutees, with or without consent');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_grades'), ARRAY['S1'],
          'grades only of the consenting tutee');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_engagement'), ARRAY['S1'],
          'engagement only of the consenting tutee');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_employability'), ARRAY['S1'],
          'employability only of the consenting tutee');
SELECT results_eq($$SELECT consent, score IS NULL, flag_score_drop IS NULL, flag_no_vle_7d IS NULL, flag_absences
                    FROM engage.my_students ORDER BY student_id$$,
                  $$VALUES (true, false, false, false, false), (false, true, true, true, true)$$,
                  'my_students: consent-dependent figures are NULL without consent; the absence flag works regardless');
SELECT is(access_test.ids('SELECT student_id FROM engage.assessment_mark'), ARRAY['S1'],
          'reading the marks table directly is filtered the same way');
SELECT is(access_test.ids('SELECT student_id FROM engage.student'), ARRAY['S1', 'S2'],
          'reading the student table directly is filtered');
SELECT throws_ok('SELECT count(*) FROM engage.ele_event', '42501', NULL, 'raw page views are refused');
SELECT throws_ok('SELECT login_role FROM engage.staff', '42501', NULL, 'other people''s login roles are refused');
SELECT throws_ok('SELECT count(*) FROM engage.cohort_engagement', '42501', NULL, 'the BI view is refused');

SELECT throws_ok($$SELECT count(*) FROM engage.tutoring$$, '42501', NULL, 'who tutors whom is not readable directly');
SELECT throws_ok($$SET engage.time_zone = 'XXX-167'$$, '42501', NULL,
                 'nobody but a superuser moves the institution''s time zone, and with it "today"');
SELECT throws_ok($$SELECT engage.record_meeting_note('S1', engage.today() - 400, 'routine', 'x', '[]', 'y')$$,
                 '22023', NULL, 'a meeting more than a year ago is refused');

-- forged viewers do nothing outside the web front end
SET engage.viewer = 'S3';
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), ARRAY['S1', 'S2'],
          'a tutor who sets engage.viewer gains nothing');
BEGIN;
DO $$ BEGIN PERFORM set_config('engage.viewer', 'S4', true); END $$;
SELECT is(engage.viewer(), 'T1', 'nor with set_config');
COMMIT;
RESET engage.viewer;

-- leaky functions see only visible rows
SELECT is(ARRAY[access_test.n($$SELECT FROM engage.my_students WHERE access_test.leak(student_id, '{S1, S2}')$$),
                access_test.n($$SELECT FROM engage.dashboard_grades WHERE access_test.leak(student_id, '{S1}')$$),
                access_test.n($$SELECT FROM engage.assessment_mark WHERE access_test.leak(student_id, '{S1}')$$)],
          ARRAY[2, 1, 1]::bigint[],
          'a leaky function in a WHERE clause is shown only rows the tutor may see, and is shown them');

-- writing
SELECT lives_ok($$SELECT engage.record_meeting_note('S1', engage.local_day(now()), 'wellbeing', 'Sleep and workload',
                   '[{"action": "Book a wellbeing appointment", "by": "student"}]', 'Referred to wellbeing')$$,
                'a tutor records a note for a tutee');
SELECT results_eq($$SELECT author_id || ':' || focus || ':' || issue FROM engage.dashboard_meetings
                    WHERE student_id = 'S1' AND summary = 'Referred to wellbeing'$$,
                  $$VALUES ('T1:issue:wellbeing')$$, 'the note is theirs, about the issue named');
SELECT throws_ok($$SELECT engage.record_meeting_note('S3', engage.local_day(now()), 'routine', 'x', '[]', 'y')$$,
                 '42501', NULL, 'a former tutor cannot write about a former tutee');
SELECT throws_ok($$SELECT engage.record_meeting_note('S1', engage.local_day(now()) + 1, 'routine', 'x', '[]', 'y')$$,
                 '22023', NULL, 'a meeting in the future is refused');
SELECT throws_ok($$SELECT engage.record_meeting_note('S1', engage.local_day(now()), 'routine', 'x', '[{"action": "x"}]', 'y')$$,
                 '22023', NULL, 'an action without who does it is refused');
SELECT throws_ok($$UPDATE engage.meeting_note SET summary = 'changed'$$, '42501', NULL, 'a tutor cannot edit a note');
SELECT throws_ok($$DELETE FROM engage.meeting_note$$, '42501', NULL, 'a tutor cannot delete a note');
SELECT throws_ok($$INSERT INTO engage.meeting_note (student_id, author_id, met_on, focus, discussed, summary)
                   VALUES ('S3', 'T1', now(), 'routine', 'x', 'y')$$, '42501', NULL,
                 'a tutor cannot insert a note directly');
SELECT throws_ok($$SELECT engage.remove_meeting_note(1, 'no')$$, '42501', NULL, 'a tutor cannot remove a note');
SELECT throws_ok($$SELECT engage.set_consent('S1', false)$$, '42501', NULL, 'a tutor cannot change consent');
SELECT throws_ok($$INSERT INTO engage.consent (student_id, academic_year, granted) VALUES ('S2', engage.current_academic_year(), true)$$,
                 '42501', NULL, 'a tutor cannot write consent directly');
SELECT throws_ok($$CALL engage.refresh()$$, '42501', NULL, 'a tutor cannot run the refresh');

-- a prepared plan does not carry one role's rows to another
PREPARE tutees AS SELECT count(*) FROM engage.my_students;
SELECT results_eq('EXECUTE tutees', $$VALUES (2::bigint)$$, 'the tutor''s prepared statement counts two tutees');
RESET SESSION AUTHORIZATION;

-- a student ------------------------------------------------------------------------
SET SESSION AUTHORIZATION sec_s2;
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), ARRAY['S2'], 'a student sees only themself');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_attendance'), ARRAY['S2'], 'their own attendance');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_grades'), '{}'::text[], 'no grades without consent');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_engagement'), '{}'::text[], 'no engagement without consent');
SELECT lives_ok($$SELECT engage.set_consent('S2', true)$$, 'the student grants consent');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_grades'), ARRAY['S2'], 'grades show on the very next query');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_engagement'), ARRAY['S2'], 'and engagement');
SELECT lives_ok($$SELECT engage.set_consent('S2', false)$$, 'the student withdraws consent');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_grades'), '{}'::text[], 'grades are hidden on the next query');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_attendance'), ARRAY['S2'], 'attendance still works');
SELECT throws_ok($$SELECT engage.set_consent('S1', false)$$, '42501', NULL, 'a student cannot change another''s consent');
SELECT throws_ok($$SELECT engage.record_meeting_note('S1', engage.local_day(now()), 'routine', 'x', '[]', 'y')$$,
                 '42501', NULL, 'a student cannot write about another student');
SELECT lives_ok($$SELECT engage.record_meeting_note('S2', engage.local_day(now()), 'routine', 'My own notes', '[]', 'Fine')$$,
                'a student records a note about their own meeting');
SELECT results_eq('EXECUTE tutees', $$VALUES (1::bigint)$$,
                  'the same prepared statement, run by the student, counts one');
SET ROLE engage_student;
SELECT is(engage.viewer(), 'S2', 'SET ROLE does not change who the viewer is');
RESET ROLE;
RESET SESSION AUTHORIZATION;

-- exam period ------------------------------------------------------------------------
INSERT INTO engage.exam_period SELECT 'now', d - 1, d + 1 FROM today;
SET SESSION AUTHORIZATION sec_s1;
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_grades'), '{}'::text[],
          'during an exam period a consenting student sees no marks');
SELECT is(access_test.ids('SELECT student_id FROM engage.dashboard_engagement'), ARRAY['S1'], 'engagement is still shown');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION sec_tutor1;
SELECT is(access_test.ids('SELECT student_id FROM engage.assessment_mark'), '{}'::text[],
          'nor does the tutor, even from the table');
RESET SESSION AUTHORIZATION;
DELETE FROM engage.exam_period;

-- the web front end ---------------------------------------------------------------------
SET SESSION AUTHORIZATION sec_app;
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), '{}'::text[], 'the pooled role alone sees nobody');
BEGIN;
SET LOCAL engage.viewer = 'T1';
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), ARRAY['S1', 'S2'], 'naming a tutor shows their tutees');
SET LOCAL engage.viewer = 'S1';
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), ARRAY['S1'], 'naming a student shows that student');
SET LOCAL engage.viewer = 'nobody-at-all';
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), '{}'::text[], 'naming an unknown id shows nothing');
COMMIT;
SELECT is(access_test.ids('SELECT student_id FROM engage.my_students'), '{}'::text[],
          'the next transaction, naming nobody, sees nobody');
RESET SESSION AUTHORIZATION;

-- analysts, loaders, others ----------------------------------------------------------------
SET SESSION AUTHORIZATION sec_bi;
SET engage.viewer = 'T1';
SELECT throws_ok('SELECT count(*) FROM engage.my_students', '42501', NULL, 'an analyst cannot read the dashboard, forged viewer or not');
SELECT throws_ok('SELECT count(*) FROM engage.student', '42501', NULL, 'an analyst cannot read a base table');
SELECT lives_ok('SELECT count(*) FROM engage.cohort_engagement', 'an analyst reads the cohort view');
SELECT is_empty($$SELECT * FROM access_test.plan('SELECT * FROM engage.cohort_engagement')
                  WHERE line ~ 'daily_engagement|consent|student|attendance'$$,
                'EXPLAIN of the cohort view shows only the stored, suppressed figures');
SELECT is((SELECT count(*) FROM engage.cohort_engagement), 0::bigint, 'groups of fewer than 5 students are suppressed');
RESET engage.viewer;
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION sec_loader;
SELECT lives_ok($$INSERT INTO engage.ele_event VALUES ('S1', now() - interval '1 day', 'BIO1001')$$, 'a loader writes page views');
SELECT lives_ok($$INSERT INTO engage.consent (student_id, academic_year, granted, recorded_at)
                  VALUES ('S3', engage.current_academic_year(), true, '2099-01-01')$$,
                'a loader records a consent decision claiming a date in the future');
SELECT throws_ok('SELECT count(*) FROM engage.my_students', '42501', NULL, 'a loader does not read the dashboard');
RESET SESSION AUTHORIZATION;

SELECT note_id AS wrong_note FROM engage.meeting_note WHERE summary = 'Referred to wellbeing' \gset
SET SESSION AUTHORIZATION sec_admin;
SELECT lives_ok(format('SELECT engage.remove_meeting_note(%s, %L)', :wrong_note, 'Recorded against the wrong student'),
                'an administrator removes a note, giving a reason');
SELECT throws_ok($$SELECT engage.remove_meeting_note(1, '  ')$$, '22023', NULL, 'a removal needs a reason');
SELECT lives_ok($$SELECT engage.set_consent('S4', false)$$, 'an administrator records consent on a student''s behalf');
SELECT lives_ok($$SELECT engage.set_consent('S3', false)$$, 'and records a withdrawal after the loader''s row');
SELECT throws_ok($$SELECT summary FROM engage.meeting_note$$, '42501', NULL, 'an administrator does not read what notes say');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT granted FROM engage.consent_latest WHERE student_id = 'S3'$$, $$VALUES (false)$$,
                  'the decision recorded last is in force, whatever date an earlier row claims');

-- the cohort figures: stored by the refresh, small groups never stored
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
SELECT 'S' || i, 'Student ' || i, 'CLES', 'BSc Biology', 1 FROM generate_series(5, 9) AS i;
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT 'S' || i, engage.current_academic_year(), true FROM generate_series(5, 9) AS i;
CALL engage.refresh(engage.today() - 1, engage.today() - 1);
SELECT is((SELECT students FROM engage.cohort_week WHERE module_code IS NULL), 6,
          'six consenting students make a cohort row');
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT 'S' || i, engage.current_academic_year(), false FROM generate_series(5, 6) AS i;
CALL engage.refresh(engage.today() - 1, engage.today() - 1);
SELECT is((SELECT count(*) FROM engage.cohort_week), 0::bigint,
          'after two withdrawals four remain, and the group is not stored at all');

SELECT results_eq($$SELECT count(*) FROM engage.meeting_note WHERE summary = 'Referred to wellbeing'$$,
                  $$VALUES (0::bigint)$$, 'the removed note and its text are gone');
SELECT results_eq($$SELECT removed_by || ': ' || reason FROM engage.meeting_note_removal$$,
                  $$VALUES ('sec_admin: Recorded against the wrong student')$$, 'who removed it, and why, is kept');

SET SESSION AUTHORIZATION sec_nobody;
SELECT throws_ok('SELECT count(*) FROM engage.my_students', '42501', NULL, 'a role outside engage reads nothing');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
DROP ROLE sec_tutor1, sec_tutor2, sec_s1, sec_s2, sec_app, sec_bi, sec_loader, sec_admin, sec_nobody;
