-- The attacks an independent review of 1.0 found to work, each replayed
-- against the fix that closes it (docs/security.md, "Attacks tried").  Runs
-- in a database of its own, each statement in its own transaction (see
-- test/access/README).
SELECT plan(23);
SET client_min_messages = warning;

DROP ROLE IF EXISTS atk_tutor, atk_deskt, atk_s1, atk_loader;
CREATE ROLE atk_tutor LOGIN IN ROLE engage_tutor;
CREATE ROLE atk_deskt LOGIN IN ROLE engage_tutor, engage_admin;
CREATE ROLE atk_s1 LOGIN IN ROLE engage_student;
CREATE ROLE atk_loader LOGIN IN ROLE engage_loader;

CREATE TEMP TABLE today AS SELECT engage.local_day(now()) AS d;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM (SELECT extract(year FROM d - 212)::int AS y FROM today) AS t;
INSERT INTO engage.coefficients SELECT 'CLES', label, 0.446, 0.068, 1.11 FROM engage.academic_year;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES'), ('BIO1002', 'Genetics', 'CLES');
INSERT INTO engage.staff VALUES ('T1', 'Dr One', 'atk_tutor'), ('T9', 'Desk Tutor', 'atk_deskt');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
SELECT 'S' || i, 'Student ' || i, 'CLES', 'BSc Biology', 1, CASE i WHEN 1 THEN 'atk_s1' END
FROM generate_series(1, 12) AS i;
-- T1 tutors S1 and S2; the desk administrator T9 tutors S3 only
INSERT INTO engage.tutoring SELECT 'T1', 'S' || i, d - 100, NULL::date FROM today, generate_series(1, 2) AS i;
INSERT INTO engage.tutoring SELECT 'T9', 'S3', d - 100, NULL::date FROM today;
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT 'S' || i, engage.current_academic_year(), true FROM generate_series(1, 12) AS i;
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark)
SELECT 'S' || i, 'BIO1001', 'Essay', 'coursework', 60 + i FROM generate_series(1, 12) AS i;
INSERT INTO engage.meeting_note (student_id, author_id, met_on, focus, discussed, summary)
SELECT 'S' || i, 'T1', d - 10, 'routine', 'Settling in', 'Private words about S' || i
FROM today, generate_series(1, 12) AS i;

-- F1: a statement started before midnight keeps yesterday's rules ------------------
--
-- engage.time_zone is set so that local midnight comes a few seconds from
-- now; an exam period begins on the new day.  A student's PL/pgSQL loop,
-- started before midnight, must see the marks vanish when the day turns.
-- (A query still running at midnight may be judged by either day.)  On a
-- Citus cluster each worker judges the day of its part of a query by its
-- own configured zone (docs/scaling.md), so the zone is set there too.
CREATE SCHEMA access_test;
GRANT USAGE ON SCHEMA access_test TO PUBLIC;
CREATE FUNCTION access_test.set_time_zone(zone text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    done boolean;
BEGIN
    IF zone IS NULL THEN
        RESET engage.time_zone;
    ELSE
        PERFORM set_config('engage.time_zone', zone, false);
    END IF;
    IF engage.distributed() THEN
        -- (ALTER SYSTEM knows engage's settings where engage is preloaded)
        EXECUTE format($f$SELECT bool_and(success) FROM run_command_on_workers(%L)$f$,
                       CASE WHEN zone IS NULL THEN 'ALTER SYSTEM RESET engage.time_zone'
                            ELSE format('ALTER SYSTEM SET engage.time_zone = %L', zone) END) INTO done;
        IF done THEN
            EXECUTE $f$SELECT bool_and(success) FROM run_command_on_workers('SELECT pg_reload_conf()')$f$
            INTO done;
        END IF;
        IF NOT done THEN
            RAISE EXCEPTION 'the workers did not take the time zone %', zone;
        END IF;
        PERFORM pg_sleep(0.2);
    END IF;
END $$;
CREATE FUNCTION access_test.midnight_in(seconds int) RETURNS date LANGUAGE plpgsql AS $$
DECLARE
    utc_second int := floor(extract(epoch FROM clock_timestamp()))::bigint % 86400;
    east int := (86400 - (utc_second + seconds) % 86400) % 86400;
BEGIN
    IF east > 43200 THEN east := east - 86400; END IF;
    PERFORM access_test.set_time_zone(format('CLK%s%s:%s:%s', CASE WHEN east > 0 THEN '-' ELSE '+' END,
                                             abs(east) / 3600, abs(east) / 60 % 60, abs(east) % 60));
    RETURN engage.local_day(clock_timestamp()) + 1;
END $$;
-- Each pass of a loop notes the day before and after its query: a query
-- begun and ended on one day was judged by that day, however slow the
-- server (valgrind) is.  A loop ends one pass after the day has turned, or
-- after 200 passes.
CREATE TEMP TABLE seen (day_before date, n bigint, day_after date);
GRANT ALL ON seen TO PUBLIC;
CREATE FUNCTION access_test.loop(q text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    started date := engage.local_day(clock_timestamp());
    before date;
    after date;
    n bigint;
BEGIN
    FOR i IN 1 .. 200 LOOP
        SELECT engage.today() INTO before;
        EXECUTE q INTO n;
        SELECT engage.today() INTO after;
        INSERT INTO pg_temp.seen VALUES (before, n, after);
        EXIT WHEN before > started;
        PERFORM pg_sleep(0.1);
    END LOOP;
END $$;
GRANT EXECUTE ON FUNCTION access_test.loop(text) TO PUBLIC;

SELECT access_test.midnight_in(5) AS exam_day \gset
INSERT INTO engage.exam_period VALUES ('Exams', :'exam_day', :'exam_day'::date + 14);
SET SESSION AUTHORIZATION atk_s1;
SELECT access_test.loop('SELECT count(*) FROM engage.dashboard_grades');
RESET SESSION AUTHORIZATION;
SELECT ok((SELECT n FROM seen WHERE day_after < :'exam_day' LIMIT 1) = 1,
          'F1: before midnight the student sees their mark');
SELECT is((SELECT array_agg(n) FROM seen WHERE day_before >= :'exam_day'), ARRAY[0::bigint],
          'F1: the same loop, once the exam period has begun, sees no mark');
DELETE FROM engage.exam_period;
DELETE FROM seen;

-- a tutor's tutoring ends at midnight: their loop must lose the tutee's notes
SELECT access_test.midnight_in(5) AS end_day \gset
UPDATE engage.tutoring SET valid_to = :'end_day' WHERE tutor_id = 'T1' AND student_id = 'S2';
SET SESSION AUTHORIZATION atk_tutor;
SELECT access_test.loop($$SELECT count(*) FROM engage.dashboard_meetings WHERE student_id = 'S2'$$);
RESET SESSION AUTHORIZATION;
SELECT ok((SELECT n FROM seen WHERE day_after < :'end_day' LIMIT 1) = 1,
          'F1: before midnight the tutor reads the tutee''s note');
SELECT is((SELECT array_agg(n) FROM seen WHERE day_before >= :'end_day'), ARRAY[0::bigint],
          'F1: after midnight the former tutor''s loop reads nothing of theirs');
DELETE FROM seen;

-- and a note for a former tutee is refused inside such a statement
SELECT access_test.midnight_in(3) AS end_day \gset
UPDATE engage.tutoring SET valid_to = :'end_day' WHERE tutor_id = 'T1' AND student_id = 'S1';
SET SESSION AUTHORIZATION atk_tutor;
SELECT throws_ok(format($q$DO $do$ BEGIN
                            WHILE engage.local_day(clock_timestamp()) < %L LOOP
                                PERFORM pg_sleep(0.1);
                            END LOOP;
                            PERFORM engage.record_meeting_note('S1', %L, 'routine', 'x', '[]', 'y');
                          END $do$$q$, :'end_day', :'end_day'::date - 1),
                 '42501', NULL, 'F1: a former tutee''s note is refused inside a statement begun before midnight');
RESET SESSION AUTHORIZATION;
SELECT access_test.set_time_zone(NULL);
UPDATE engage.tutoring SET valid_to = NULL WHERE tutor_id = 'T1';

-- F2: cohort differencing ---------------------------------------------------------
--
-- 12 students in the programme; BIO1001 taken by S1-S6, BIO1002 by S1-S5.
-- BIO1002 differs from BIO1001 by one student, whose score would follow.
INSERT INTO engage.enrolment SELECT 'S' || i, 'BIO1001', engage.current_academic_year() FROM generate_series(1, 6) AS i;
INSERT INTO engage.enrolment SELECT 'S' || i, 'BIO1002', engage.current_academic_year() FROM generate_series(1, 5) AS i;
INSERT INTO engage.ele_event SELECT 'S' || i, now() - interval '1 day' + i * interval '1 minute', 'BIO1001'
FROM generate_series(1, 12) AS i;
CALL engage.refresh(engage.today() - 1, engage.today() - 1);
SELECT is(ARRAY(SELECT coalesce(module_code, 'all') || ' ' || students FROM engage.cohort_week ORDER BY 1),
          ARRAY['BIO1001 6', 'all 12'],
          'F2: a module group one student short of another is not published');
-- now BIO1001 is taken by S1-S10: two students short of the programme
INSERT INTO engage.enrolment SELECT 'S' || i, 'BIO1001', engage.current_academic_year() FROM generate_series(7, 10) AS i;
CALL engage.refresh(engage.today() - 1, engage.today() - 1);
SELECT is(ARRAY(SELECT coalesce(module_code, 'all') || ' ' || students FROM engage.cohort_week ORDER BY 1),
          ARRAY['BIO1002 5', 'all 12'],
          'F2: nor a module group two students short of its programme');
SELECT is((SELECT count(*) FROM engage.cohort_week AS a, engage.cohort_week AS b
           WHERE a.week = b.week AND a.programme = b.programme
             AND a.module_code IS DISTINCT FROM b.module_code AND abs(a.students - b.students) BETWEEN 1 AND 4),
          0::bigint, 'F2: no two published groups of a programme and week differ in size by 1 to 4 students here');

-- F3: the loader cannot pin consent -------------------------------------------------
SET SESSION AUTHORIZATION atk_loader;
SELECT lives_ok($$INSERT INTO engage.consent (consent_id, student_id, academic_year, granted, recorded_by)
                  OVERRIDING SYSTEM VALUE
                  VALUES (9223372036854775807, 'S1', engage.current_academic_year(), true, 'S1')$$,
                'F3: a loader may insert a consent row naming its own number');
SELECT results_eq($$SELECT count(*) FROM engage.consent WHERE consent_id = 9223372036854775807$$, $$VALUES (0::bigint)$$,
                  'F3: but the number is the database''s, not the loader''s');
SELECT results_eq($$SELECT recorded_by FROM engage.consent WHERE student_id = 'S1' ORDER BY consent_id DESC LIMIT 1$$,
                  $$VALUES ('atk_loader')$$, 'F3: and the row says the loader recorded it, not the student');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION atk_s1;
SELECT lives_ok($$SELECT engage.set_consent('S1', false)$$,
                'F3: the student''s own withdrawal afterwards does not collide with a number the loader took');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT granted FROM engage.consent_latest WHERE student_id = 'S1'$$, $$VALUES (false)$$,
                  'F3: and the withdrawal is in force');

-- F4: an administrator who tutors ---------------------------------------------------
SET SESSION AUTHORIZATION atk_deskt;
SELECT results_eq($$SELECT student_id FROM engage.my_students$$, $$VALUES ('S3')$$,
                  'F4: an administrator who tutors sees only their own tutees in the tutee list');
SELECT results_eq($$SELECT DISTINCT student_id FROM engage.dashboard_meetings$$, $$VALUES ('S3')$$,
                  'F4: and only their tutees'' notes');
SELECT results_eq($$SELECT count(*) FROM engage.meeting_note WHERE summary LIKE 'Private%' AND student_id <> 'S3'$$,
                  $$VALUES (0::bigint)$$, 'F4: no other note''s text, read straight from the table');
SELECT results_eq($$SELECT count(*) FROM engage.meeting_note_index$$, $$VALUES (12::bigint)$$,
                  'F4: while as an administrator they still find every note in the index');
SELECT throws_ok($$SELECT summary FROM engage.meeting_note_index$$, '42703', NULL,
                 'F4: and the index has no text');
RESET SESSION AUTHORIZATION;

-- Smaller findings ------------------------------------------------------------------
SET SESSION AUTHORIZATION atk_s1;
SELECT throws_ok($$SELECT engage.record_meeting_note('S1', engage.today(), 'routine', repeat('x', 20001), '[]', 'y')$$,
                 '22001', 'meeting note too long', 'a note of more than 20000 characters is refused');
SELECT throws_ok($$SELECT engage.record_meeting_note('S1', engage.today(), 'routine', 'x',
                     (SELECT jsonb_agg(jsonb_build_object('action', 'a', 'by', 'b')) FROM generate_series(1, 51)), 'y')$$,
                 '22001', NULL, 'a note with more than 50 actions is refused');
SELECT throws_ok($$SELECT count(engage.record_meeting_note('S1', engage.today(), 'routine', 'x', '[]', 'y'))
                   FROM generate_series(1, 61)$$,
                 '54000', NULL, 'the 61st note within an hour by one author is refused');
SELECT throws_ok($$EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM engage.assessment_mark WHERE module_code = 'BIO1001'$$,
                 '42501', NULL, 'EXPLAIN ANALYZE cannot count the marks the rules hide');
SELECT lives_ok($$EXPLAIN (COSTS OFF) SELECT * FROM engage.assessment_mark WHERE module_code = 'BIO1001'$$,
                'plain EXPLAIN, which runs nothing, is allowed');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
DROP ROLE atk_tutor, atk_deskt, atk_s1, atk_loader;
