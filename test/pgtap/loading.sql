-- The loading path, as the loader role: COPY into every staging table, every
-- kind of bad row set aside with its line and reason while the good rows
-- load, re-sent files that change nothing, late rows the nightly run picks
-- up, and attacks on what the path could open.
BEGIN;
SELECT plan(62);
SET LOCAL client_min_messages = warning;

CREATE ROLE lt_a LOGIN IN ROLE engage_loader;
CREATE ROLE lt_b LOGIN IN ROLE engage_loader;
CREATE ROLE lt_tutor LOGIN IN ROLE engage_tutor;
CREATE ROLE lt_bi LOGIN IN ROLE engage_analyst;
CREATE ROLE lt_admin LOGIN IN ROLE engage_admin;

-- before any academic year is known, dates cannot be judged: the load
-- fails and keeps the staged rows for the next try
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
SET SESSION AUTHORIZATION lt_a;
INSERT INTO engage.stage_ele_event (student_id, ts, module_code) VALUES ('S1', '2026-10-01 10:00+00', NULL);
SELECT throws_ok($$SELECT engage.load('engage.ele_event')$$, '55000', NULL,
                 'a load of dated rows while no academic year is known fails');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM engage.stage_ele_event), 1::bigint, 'and the staged row is still there');
DELETE FROM engage.stage_ele_event;

-- academic years from 2020/21 to 2059/60: the fixed dates below stay inside
-- them (and 2059-01-01 in the future) whenever the suite runs
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM generate_series(2020, 2059) AS y;
INSERT INTO engage.coefficients SELECT 'CLES', label, 0.446, 0.068, 1.11 FROM engage.academic_year;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES');
INSERT INTO engage.staff VALUES ('T1', 'Dr One', 'lt_tutor');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
VALUES ('S1', 'Sam One', 'CLES', 'BSc Biology', 1, 'lt_s1'), ('S2', 'Sue Two', 'CLES', 'BSc Biology', 1, NULL);
INSERT INTO engage.consent (student_id, academic_year, granted)
VALUES ('S1', engage.current_academic_year(), true);
INSERT INTO engage.enrolment VALUES ('S1', 'BIO1001', engage.current_academic_year());
CREATE FUNCTION pg_temp.runs() RETURNS TABLE (source text, rows_in bigint, loaded bigint, rejected bigint, duplicates bigint)
LANGUAGE sql AS $$ SELECT source, rows_in, loaded, rejected, duplicates FROM engage.load_run ORDER BY run_id $$;

-- COPY works for every source table -------------------------------------------------------
SET SESSION AUTHORIZATION lt_a;
COPY engage.stage_college (code, name) FROM STDIN WITH (FORMAT csv);
HUMS,Humanities
\.
SELECT engage.load('engage.college') \g /dev/null
COPY engage.stage_module (module_code, title, college) FROM STDIN WITH (FORMAT csv);
ENG1001,English Literature,HUMS
\.
SELECT engage.load('engage.module') \g /dev/null
COPY engage.stage_staff (staff_id, full_name, login_role) FROM STDIN WITH (FORMAT csv);
T9,Dr Nine,
\.
SELECT engage.load('engage.staff') \g /dev/null
COPY engage.stage_student (student_id, full_name, college, programme, year_of_study, login_role) FROM STDIN WITH (FORMAT csv);
S3,Sid Three,HUMS,BA English,1,
\.
SELECT engage.load('engage.student') \g /dev/null
COPY engage.stage_tutoring (tutor_id, student_id, valid_from, valid_to) FROM STDIN WITH (FORMAT csv);
T9,S3,2026-09-01,
\.
SELECT engage.load('engage.tutoring') \g /dev/null
COPY engage.stage_consent (student_id, academic_year, granted, recorded_at) FROM STDIN WITH (FORMAT csv);
S3,2026/27,true,2026-09-01 10:00+00
\.
SELECT engage.load('engage.consent') \g /dev/null
COPY engage.stage_enrolment (student_id, module_code, academic_year) FROM STDIN WITH (FORMAT csv);
S3,ENG1001,2026/27
\.
SELECT engage.load('engage.enrolment') \g /dev/null
COPY engage.stage_ele_event (student_id, ts, module_code) FROM STDIN WITH (FORMAT csv);
S3,2026-10-01 10:00:00+00,ENG1001
\.
SELECT engage.load('engage.ele_event') \g /dev/null
COPY engage.stage_app_event (student_id, ts, menu_item) FROM STDIN WITH (FORMAT csv);
S3,2026-10-01 10:00:00+00,timetable
\.
SELECT engage.load('engage.app_event') \g /dev/null
COPY engage.stage_career_event (student_id, event_id, event_day, attended) FROM STDIN WITH (FORMAT csv);
S3,E1,2026-10-02,true
\.
SELECT engage.load('engage.career_event') \g /dev/null
COPY engage.stage_attendance (student_id, module_code, session_id, session_type, starts_at, status) FROM STDIN WITH (FORMAT csv);
S3,ENG1001,X1,lecture,2026-10-01 09:00+00,present
\.
SELECT engage.load('engage.attendance') \g /dev/null
COPY engage.stage_assessment_mark (student_id, module_code, assessment, kind, mark, provisional, recorded_at) FROM STDIN WITH (FORMAT csv);
S3,ENG1001,Essay 1,coursework,65.5,true,2026-10-05 10:00+00
\.
SELECT engage.load('engage.assessment_mark') \g /dev/null
COPY engage.stage_employability (student_id, academic_year, readiness_stage, sector, work_experience, activities, registered_at) FROM STDIN WITH (FORMAT csv);
S3,2026/27,plan,Media,false,2,2026-10-01 10:00+00
\.
SELECT engage.load('engage.employability') \g /dev/null
SELECT results_eq('SELECT * FROM pg_temp.runs()',
    $$VALUES ('college', 1::bigint, 1::bigint, 0::bigint, 0::bigint), ('module', 1, 1, 0, 0), ('staff', 1, 1, 0, 0),
             ('student', 1, 1, 0, 0), ('tutoring', 1, 1, 0, 0), ('consent', 1, 1, 0, 0), ('enrolment', 1, 1, 0, 0),
             ('ele_event', 1, 1, 0, 0), ('app_event', 1, 1, 0, 0), ('career_event', 1, 1, 0, 0),
             ('attendance', 1, 1, 0, 0), ('assessment_mark', 1, 1, 0, 0), ('employability', 1, 1, 0, 0)$$,
    'a loader COPYs a row into the staging table of every source table and loads it');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT (SELECT count(*) FROM engage.ele_event WHERE student_id = 'S3')
                         + (SELECT count(*) FROM engage.employability WHERE student_id = 'S3')
                         + (SELECT count(*) FROM engage.assessment_mark WHERE student_id = 'S3' AND mark = 65.5 AND provisional)$$,
                  ARRAY[3::bigint], 'the rows are in the tables, typed');
SELECT is((SELECT recorded_by FROM engage.consent WHERE student_id = 'S3'), 'lt_a',
          'a loaded consent decision is recorded by the loader''s login');
SELECT is((SELECT count(*) FROM engage.stage_ele_event), 0::bigint, 'a load empties the staged rows it took');
DELETE FROM engage.load_run;
INSERT INTO engage.coefficients SELECT 'HUMS', label, 0.4, 0.07, 1.1 FROM engage.academic_year;

-- every kind of bad row, each between good rows ---------------------------------------------
SET SESSION AUTHORIZATION lt_a;
COPY engage.stage_ele_event (student_id, ts, module_code) FROM STDIN WITH (FORMAT csv);
S1,2026-10-01 10:00:00+00,BIO1001
S9,2026-10-01 10:00:00+00,BIO1001
S1,2026-10-01 10:01:00+00,BIO1001
S1,9999-01-01 00:00:00+00,BIO1001
S1,2026-10-01 10:02:00+00,BIO1001
S1,0100-01-01 00:00:00+00,BIO1001
S1,2026-10-01 10:03:00+00,BIO1001
S1,294276-12-31 00:00:00+00,BIO1001
S1,2026-10-01 10:04:00+00,
S1,4714-11-24 00:00:00+00 BC,BIO1001
S1,2026-10-01 10:05:00+00,BIO1001
S1,,BIO1001
S1,2026-10-01 10:06:00+00,BIO1001
S1,infinity,BIO1001
S1,2026-10-01 10:07:00+00,BIO1001
S1,not a time,BIO1001
S1,2026-10-01 10:08:00+00,BIO1001
\.
INSERT INTO engage.stage_ele_event (student_id, ts, module_code) VALUES ('S1', '2026-10-01 10:09:00+00', repeat('X', 10000));
SELECT is((SELECT (r.rows_in, r.loaded, r.rejected, r.duplicates)::text FROM engage.load('engage.ele_event') AS r),
          '(18,9,9,0)', 'the good page views load and the bad ones are counted as rejected');
SELECT results_eq($$SELECT line, column_name FROM engage.load_reject ORDER BY line$$,
    $$VALUES (2::bigint, 'student_id'), (4, 'ts'), (6, 'ts'), (8, 'ts'), (10, 'ts'), (12, 'ts'), (14, 'ts'),
             (16, 'ts'), (18, 'module_code')$$,
    'each bad page view is set aside with its line and column');
SELECT is((SELECT reason FROM engage.load_reject WHERE line = 2), 'names no row of engage.student',
          'a page view of an unknown student says so');
SELECT results_eq($$SELECT line FROM engage.load_reject
                    WHERE reason = 'is outside the academic years known (2020-08-01 to 2060-07-31) widened by 1 year'
                    ORDER BY line$$, ARRAY[4::bigint, 6, 8, 10, 14],
          'instants of 9999, 0100, 294276, 4714 BC and infinity are outside the known academic years');
SELECT is((SELECT reason FROM engage.load_reject WHERE line = 16), 'is not a valid timestamp with time zone',
          'an instant that is no instant is not valid');
SELECT is((SELECT reason FROM engage.load_reject WHERE line = 12), 'is missing', 'a missing instant is missing');
SELECT is((SELECT value FROM engage.load_reject WHERE line = 16), 'not a time', 'a reject shows the value');
SELECT is((SELECT length(value) FROM engage.load_reject WHERE line = 18), 43,
          'a 10 kB module code is cut to 40 characters in the reject');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT count(*) FROM engage.ele_event WHERE student_id = 'S1'), 9::bigint, 'the nine good page views are in');
SELECT lives_ok('SELECT count(*) FROM (SELECT engage.ele_minutes(ts, module_code) FROM engage.ele_event GROUP BY student_id) AS m',
                'a whole-table ele_minutes query works after the load');

SET SESSION AUTHORIZATION lt_a;
COPY engage.stage_app_event (student_id, ts, menu_item) FROM STDIN WITH (FORMAT csv);
S1,2026-10-01 10:00:00+00,timetable
S1,2026-10-01 10:00:00+00,  
S1,2026-10-01 10:00:30+00,grades
S1,2026-10-01 10:00:30+00,grades
\.
SELECT is((SELECT (r.rows_in, r.loaded, r.rejected, r.duplicates)::text FROM engage.load('engage.app_event') AS r),
          '(4,2,1,1)', 'a blank menu item is rejected, and a row repeated within a file loads once');
SELECT matches((SELECT column_name || ': ' || reason FROM engage.load_reject AS j JOIN engage.load_run USING (run_id)
                WHERE source = 'app_event'), '^menu_item: breaks app_event_menu_item_not_blank',
               'the blank menu item breaks its rule, by name');

COPY engage.stage_career_event (student_id, event_id, event_day, attended) FROM STDIN WITH (FORMAT csv);
S1,E1,2026-10-02,true
S1,E2,2059-01-01,true
S1,E3,2059-01-01,false
S1,E4,2026-10-03,perhaps
\.
SELECT is((SELECT (r.rows_in, r.loaded, r.rejected)::text FROM engage.load('engage.career_event') AS r),
          '(4,2,2)', 'careers events: an attended one in the future and an unreadable flag are rejected');
SELECT results_eq($$SELECT line, reason FROM engage.load_reject JOIN engage.load_run USING (run_id)
                    WHERE source = 'career_event' ORDER BY line$$,
    $$VALUES (2::bigint, 'is in the future, so it cannot have been attended'), (4, 'is not a valid boolean')$$,
    'an attended careers event in the future cannot have been attended; registering for one is fine');

COPY engage.stage_assessment_mark (student_id, module_code, assessment, kind, mark) FROM STDIN WITH (FORMAT csv);
S1,BIO1001,Essay 1,coursework,55.555
S1,BIO1001,Essay 2,coursework,55.56
S1,BIO1001,Essay 3,coursework,101
S1,BIO1001,Essay 4,coursework,-1
S1,BIO1001,Essay 5,coursework,abc
S1,BIO1001,Essay 6,cake,50
S1,BIO1001,Essay 7,coursework,1000
S1,BIO1001,Essay 8,exam,70
\.
SELECT is((SELECT (r.rows_in, r.loaded, r.rejected)::text FROM engage.load('engage.assessment_mark') AS r),
          '(8,2,6)', 'marks: only the two good marks load');
SELECT results_eq($$SELECT line, column_name, split_part(reason, ':', 1) FROM engage.load_reject
                    JOIN engage.load_run USING (run_id) WHERE source = 'assessment_mark' ORDER BY line$$,
    $$VALUES (1::bigint, 'mark', 'has more than 2 decimals'), (3, 'mark', 'breaks assessment_mark_range'),
             (4, 'mark', 'breaks assessment_mark_range'), (5, 'mark', 'is not a valid numeric(5,2)'),
             (6, 'kind', 'breaks assessment_mark_kind_known'), (7, 'mark', 'is not a valid numeric(5,2)')$$,
    'a mark of 55.555 is rejected, not rounded; marks out of range and unknown kinds are rejected');

COPY engage.stage_attendance (student_id, module_code, session_id, session_type, starts_at, status) FROM STDIN WITH (FORMAT csv);
S1,BIO1001,L1,lecture,2026-10-01 09:00+00,present
S1,BIO1001,L2,party,2026-10-02 09:00+00,present
S1,BIO1001,L3,lecture,2026-10-03 09:00+00,late
S1,BIO1001,L4,lecture,2026-10-04 09:00+00,absent
\.
COPY engage.stage_enrolment (student_id, module_code, academic_year) FROM STDIN WITH (FORMAT csv);
S1,BIO1001,2027/28
S1,BIO1001,2099/00
S1,BIO9999,2027/28
\.
COPY engage.stage_tutoring (tutor_id, student_id, valid_from, valid_to) FROM STDIN WITH (FORMAT csv);
T1,S1,2026-09-01,
T1,S2,2026-09-01,2026-08-01
T7,S2,2026-09-01,
\.
COPY engage.stage_student (student_id, full_name, college, programme, year_of_study, login_role) FROM STDIN WITH (FORMAT csv);
S4,Sal Four,CLES,BSc Biology,2,
S 5,Bad Id,CLES,BSc Biology,1,
S6,Sly Six,CLES,BSc Biology,9,
S7,Stu Seven,CLES,BSc Biology,1,lt_s1
S8,Sid Eight,CLES,BSc Biology,1,lt_s8
S9,Sue Nine,CLES,BSc Biology,1,lt_s8
S10,,CLES,BSc Biology,1,
\.
COPY engage.stage_employability (student_id, academic_year, readiness_stage, activities) FROM STDIN WITH (FORMAT csv);
S1,2026/27,compete,3
S2,2026/27,ready,1
S2,2027/28,plan,-1
\.
COPY engage.stage_consent (student_id, academic_year, granted, recorded_at) FROM STDIN WITH (FORMAT csv);
S2,2026/27,true,2026-09-01 10:00+00
S2,2026/27,perhaps,2026-09-02 10:00+00
S2,2026/27,false,2099-01-01 10:00+00
\.
SELECT engage.load(t) FROM unnest(ARRAY['engage.attendance', 'engage.enrolment', 'engage.tutoring', 'engage.student',
                                        'engage.employability', 'engage.consent']::regclass[]) AS t \g /dev/null
SELECT results_eq($$SELECT source, line, column_name, split_part(reason, ':', 1) FROM engage.load_reject
                    JOIN engage.load_run USING (run_id)
                    WHERE source IN ('attendance', 'enrolment', 'tutoring', 'student', 'employability', 'consent')
                    ORDER BY run_id, line$$,
    $$VALUES ('attendance', 2::bigint, 'session_type', 'breaks attendance_session_type_known'),
             ('attendance', 3, 'status', 'breaks attendance_status_known'),
             ('enrolment', 2, 'academic_year', 'names no row of engage.academic_year'),
             ('enrolment', 3, 'module_code', 'names no row of engage.module'),
             ('tutoring', 2, 'valid_from, valid_to', 'breaks tutoring_valid_from_before_valid_to'),
             ('tutoring', 3, 'tutor_id', 'names no row of engage.staff'),
             ('student', 2, 'student_id', 'breaks student_id_format'),
             ('student', 3, 'year_of_study', 'breaks student_year_of_study_range'),
             ('student', 4, 'login_role', 'is already another row''s'),
             ('student', 6, 'login_role', 'is already another row''s'),
             ('student', 7, 'full_name', 'is missing'),
             ('employability', 2, 'readiness_stage', 'breaks employability_readiness_stage_known'),
             ('employability', 3, 'activities', 'breaks employability_activities_not_negative'),
             ('consent', 2, 'granted', 'is not a valid boolean'),
             ('consent', 3, 'recorded_at', 'is outside the academic years known (2020-08-01 to 2060-07-31) widened by 1 year')$$,
    'attendance, enrolment, tutoring, student, employability and consent rows are checked the same way');
SELECT results_eq($$SELECT source, loaded FROM engage.load_run
                    WHERE source IN ('attendance', 'enrolment', 'tutoring', 'student', 'employability', 'consent')
                    ORDER BY run_id$$,
    $$VALUES ('attendance', 2::bigint), ('enrolment', 1), ('tutoring', 1), ('student', 2), ('employability', 1),
             ('consent', 1)$$,
    'and their good rows load');
SELECT is((SELECT work_experience::text || activities FROM engage.employability WHERE student_id = 'S1'), 'false3',
          'a column left out of the file takes the table''s default');

-- a re-sent file changes nothing ------------------------------------------------------------
CREATE TEMP TABLE before AS
SELECT (SELECT count(*) FROM engage.ele_event) AS ele, (SELECT count(*) FROM engage.app_event) AS app,
       (SELECT count(*) FROM engage.attendance) AS att, (SELECT count(*) FROM engage.enrolment) AS enr,
       (SELECT count(*) FROM engage.career_event) AS car, (SELECT count(*) FROM engage.consent) AS con;
COPY engage.stage_app_event (student_id, ts, menu_item) FROM STDIN WITH (FORMAT csv);
S1,2026-10-01 10:00:00+00,timetable
S1,2026-10-01 10:00:30+00,grades
\.
SELECT is((SELECT (r.loaded, r.duplicates)::text FROM engage.load('engage.app_event') AS r), '(0,2)',
          'a re-sent day of app choices is reported as duplicates');
COPY engage.stage_ele_event (student_id, ts, module_code) FROM STDIN WITH (FORMAT csv);
S1,2026-10-01 10:00:00+00,BIO1001
S1,2026-10-01 10:04:00+00,
S1,2026-10-01 10:04:00+00,BIO1001
\.
SELECT is((SELECT (r.loaded, r.duplicates)::text FROM engage.load('engage.ele_event') AS r), '(1,2)',
          'page views are the same when student, instant and module are (no module counts as a module)');
COPY engage.stage_attendance (student_id, module_code, session_id, session_type, starts_at, status) FROM STDIN WITH (FORMAT csv);
S1,BIO1001,L1,lecture,2026-10-01 09:00+00,present
S1,BIO1001,L4,lecture,2026-10-04 09:00+00,absent
\.
COPY engage.stage_enrolment (student_id, module_code, academic_year) FROM STDIN WITH (FORMAT csv);
S1,BIO1001,2027/28
\.
COPY engage.stage_career_event (student_id, event_id, event_day, attended) FROM STDIN WITH (FORMAT csv);
S1,E1,2026-10-02,true
\.
COPY engage.stage_consent (student_id, academic_year, granted, recorded_at) FROM STDIN WITH (FORMAT csv);
S2,2026/27,true,2026-09-01 10:00+00
\.
SELECT results_eq($$SELECT r.loaded, r.duplicates FROM unnest(ARRAY['engage.attendance', 'engage.enrolment',
                        'engage.career_event', 'engage.consent']::regclass[]) AS t, engage.load(t) AS r$$,
    $$VALUES (0::bigint, 2::bigint), (0, 1), (0, 1), (0, 1)$$,
    're-sent attendance, enrolments, careers events and consent decisions are duplicates, not failures');
RESET SESSION AUTHORIZATION;
SELECT results_eq($$SELECT (SELECT count(*) FROM engage.ele_event) - 1, (SELECT count(*) FROM engage.app_event),
                          (SELECT count(*) FROM engage.attendance), (SELECT count(*) FROM engage.enrolment),
                          (SELECT count(*) FROM engage.career_event), (SELECT count(*) FROM engage.consent)$$,
                  'SELECT * FROM before', 'the re-sent rows changed nothing (but the one new page view)');

-- lines count from 1 in every batch, across the COPYs of one batch
SET SESSION AUTHORIZATION lt_a;
COPY engage.stage_module (module_code, title, college) FROM STDIN WITH (FORMAT csv);
BIO2001,Ecology,CLES
\.
COPY engage.stage_module (module_code, title, college) FROM STDIN WITH (FORMAT csv);
BIO2002,Zoology,XXX
\.
SELECT engage.load('engage.module') \g /dev/null
SELECT is((SELECT line FROM engage.load_reject WHERE run_id = (SELECT max(run_id) FROM engage.load_run)),
          2::bigint, 'a second COPY in the same batch goes on counting lines');

-- a late page view is picked up by the next nightly run ---------------------------------------
CALL engage.refresh();
INSERT INTO engage.stage_ele_event (student_id, ts, module_code)
SELECT 'S1', (engage.local_midnight(engage.today() - 3) + interval '10 hours')::text, 'BIO1001';
SELECT is((SELECT loaded FROM engage.load('engage.ele_event')), 1::bigint, 'a late page view loads');
SELECT ok((SELECT from_day <= engage.today() - 3 FROM engage.refresh_stale WHERE student_id = 'S1'),
          'loading it marks its day stale');
CALL engage.refresh();
SELECT is((SELECT ele_minutes FROM engage.daily_engagement
           WHERE student_id = 'S1' AND module_code IS NULL AND day = engage.today() - 3),
          2::float8, 'the next nightly run counts it');
SELECT is((SELECT count(*) FROM engage.refresh_stale), 0::bigint, 'and settles the mark');

-- the window is a parameter
INSERT INTO engage.stage_ele_event (student_id, ts, module_code) VALUES ('S1', '2020-06-01 10:00+00', 'BIO1001');
SELECT is((SELECT rejected FROM engage.load('engage.ele_event', '0')), 1::bigint,
          'with no window, a view before the first academic year is rejected');
INSERT INTO engage.stage_ele_event (student_id, ts, module_code) VALUES ('S1', '2020-06-01 10:00+00', 'BIO1001');
SELECT is((SELECT loaded FROM engage.load('engage.ele_event', '3 months')), 1::bigint,
          'with three months, it loads');
SELECT throws_ok($$SELECT engage.load('engage.ele_event', '-1 day')$$, '22023', NULL, 'a negative window is refused');
SELECT throws_ok($$SELECT engage.load('engage.ele_event', NULL)$$, '22023', NULL, 'a missing window too');

-- attacks --------------------------------------------------------------------------------------
COPY engage.stage_ele_event (student_id, ts, module_code) FROM STDIN WITH (FORMAT csv);
S2,2026-10-01 11:00:00+00,BIO1001
S9,2026-10-01 11:00:00+00,"x'); DELETE FROM engage.student; --"
\.
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION lt_b;
SELECT throws_ok('SELECT * FROM engage.stage_ele_event', '42501', NULL, 'a loader cannot read staged rows, its own or another''s');
SELECT is((SELECT rows_in FROM engage.load('engage.ele_event')), 0::bigint, 'another loader''s load does not take them');
SELECT is_empty('SELECT loaded_by FROM engage.load_reject UNION ALL SELECT loaded_by FROM engage.load_run
                 EXCEPT SELECT session_user',
                'a loader reads only its own runs and rejects');
SELECT is((SELECT count(*) FROM engage.load_run), 1::bigint, 'its own run it reads');
SELECT throws_ok($$INSERT INTO engage.stage_ele_event (student_id, ts, module_code, loaded_by) VALUES ('S1', 'x', NULL, 'lt_a')$$,
                 '42501', NULL, 'a loader cannot stage rows in another login''s name');
SELECT throws_ok($$INSERT INTO engage.stage_ele_event (student_id, ts, module_code, line) VALUES ('S1', 'x', NULL, 1)$$,
                 '42501', NULL, 'nor choose the line');
SELECT throws_ok($$INSERT INTO engage.load_reject VALUES (1, 1, 'x', 'x', 'x', 'lt_a')$$, '42501', NULL,
                 'nor write rejects');
SELECT throws_ok($$UPDATE engage.load_run SET loaded = 0$$, '42501', NULL, 'nor rewrite runs');
SELECT throws_ok(format('SELECT engage.load(%L)', t), '22023', NULL, format('a loader cannot load %s', t))
FROM unnest(ARRAY['engage.meeting_note', 'engage.coefficients', 'engage.exam_period', 'engage.stage_ele_event',
                  'engage.daily_engagement', 'engage.load_reject', 'pg_catalog.pg_authid']) AS t;
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION lt_a;
SELECT is((SELECT (r.loaded, r.rejected)::text FROM engage.load('engage.ele_event') AS r), '(1,1)',
          'the loader who staged them loads them; a quoted value is data, never SQL');
SELECT is((SELECT count(*) FROM engage.student), 5::bigint, 'and the students are all there');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION lt_tutor;
SELECT throws_ok($$INSERT INTO engage.stage_ele_event (student_id, ts) VALUES ('S1', '2026-10-01')$$, '42501', NULL,
                 'a tutor cannot stage rows');
SELECT throws_ok($$SELECT engage.load('engage.ele_event')$$, '42501', NULL, 'nor load');
SELECT throws_ok('SELECT * FROM engage.load_reject', '42501', NULL, 'nor read rejects');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION lt_bi;
SELECT throws_ok($$SELECT engage.load('engage.ele_event')$$, '42501', NULL, 'an analyst cannot load');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION lt_admin;
SELECT throws_ok('SELECT * FROM engage.load_run', '42501', NULL, 'an administrator does not read the loaders'' runs');
RESET SESSION AUTHORIZATION;

-- A reject says whether a key names a row (a student, a module, a tutor...).
-- That is only what the loader may read already: if a loader lost the right
-- to read every row of a table that a loadable table's key names, the
-- rejects would tell it more, and this test goes red.
SET SESSION AUTHORIZATION lt_a;
SELECT is_empty($$
    SELECT c.confrelid::regclass::text FROM pg_constraint AS c
    WHERE c.contype IN ('f', 'u') AND c.conrelid IN (SELECT format('engage.%s', substr(relname, 7))::regclass
                                                    FROM pg_class WHERE relname LIKE 'stage\_%'
                                                      AND relnamespace = 'engage'::regnamespace)
      AND NOT has_table_privilege(coalesce(nullif(c.confrelid, 0), c.conrelid), 'SELECT')
$$, 'a loader may read every table a loadable table''s keys name');
SELECT results_eq($$SELECT (SELECT count(*) FROM engage.student), (SELECT count(*) FROM engage.staff),
                          (SELECT count(*) FROM engage.module)$$,
                  $$VALUES (5::bigint, 2::bigint, 3::bigint)$$,
                  'and row-level security hides none of their rows from it');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
