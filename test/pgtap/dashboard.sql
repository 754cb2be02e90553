-- The tutor's screen: the mean mark and programme position in my_students,
-- engage.dashboard and engage.my_students_json, under every role; nothing
-- through them that the views would hide.
BEGIN;
SELECT plan(43);
SET LOCAL client_min_messages = warning;

CREATE ROLE db_t1 LOGIN IN ROLE engage_tutor;
CREATE ROLE db_t2 LOGIN IN ROLE engage_tutor;
CREATE ROLE db_s1 LOGIN IN ROLE engage_student;
CREATE ROLE db_app LOGIN IN ROLE engage_app;
CREATE ROLE db_analyst LOGIN IN ROLE engage_analyst;
CREATE ROLE db_admin LOGIN IN ROLE engage_admin;

CREATE TEMP TABLE today AS SELECT engage.today() AS d, date_trunc('week', engage.today() - 1)::date AS week;
GRANT SELECT ON today TO PUBLIC;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), d - 200, d + 164
FROM today, LATERAL (SELECT extract(year FROM d - 200)::int AS y) AS t;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES'), ('BIO1002', 'Genetics', 'CLES');
INSERT INTO engage.staff VALUES ('T1', 'Dr One', 'db_t1'), ('T2', 'Dr Two', 'db_t2'), ('A1', 'Desk', 'db_admin');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
SELECT 'S' || i, 'Student ' || i, 'CLES', CASE WHEN i = 4 THEN 'BSc Chemistry' ELSE 'BSc Biology' END, 1,
       CASE i WHEN 1 THEN 'db_s1' END
FROM generate_series(1, 8) AS i;
-- T1 tutors S1, S2 (no consent) and S3; T2 tutors S4
INSERT INTO engage.tutoring SELECT 'T1', 'S' || i, d - 100, NULL::date FROM today, generate_series(1, 3) AS i;
INSERT INTO engage.tutoring SELECT 'T2', 'S4', d - 100, NULL::date FROM today;
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT 'S' || i, engage.current_academic_year(), true FROM generate_series(1, 8) AS i WHERE i <> 2;

-- marks: this year's and one from before the year began
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark, recorded_at)
SELECT s, 'BIO1001', a, 'coursework', m, engage.local_midnight(d - ago)
FROM today, (VALUES ('S1', 'Essay 1', 60, 10), ('S1', 'Essay 2', 70, 5), ('S1', 'Old essay', 20, 300),
                    ('S2', 'Essay 1', 50, 10), ('S3', 'Essay 1', 45, 10), ('S4', 'Essay 1', 80, 10)) AS v(s, a, m, ago);

-- (daily_engagement keeps a partition per academic year, which the refresh
-- makes; these stored figures are written by hand)
DO $$ BEGIN
    PERFORM engage.open_years(engage.today() - 60, engage.today());
    PERFORM engage.index_years();
END $$;
-- the last 14 days of stored figures; S1 scores 8 and S3 scores 2 against a
-- published programme median of 5; S4's programme has no published figures
INSERT INTO engage.daily_engagement
    (student_id, module_code, day, ele_minutes, app_choices, career_events, score,
     ele_minutes_7d, app_choices_7d, career_events_7d)
SELECT s, m, d - i, 10, 1, 0, CASE s WHEN 'S1' THEN 8 WHEN 'S3' THEN 2 ELSE 5 END, 70, 7, 0
FROM today, unnest(ARRAY['S1', 'S3', 'S4']) AS s, unnest(ARRAY[NULL, 'BIO1001']) AS m, generate_series(1, 14) AS i;
INSERT INTO engage.cohort_week (college, programme, module_code, week, students, mean_score, median_score)
SELECT 'CLES', 'BSc Biology', NULL, week, 7, 5, 5 FROM today
UNION ALL SELECT 'CLES', 'BSc Biology', NULL, week - 7, 7, 5, 9 FROM today;

INSERT INTO engage.attendance (student_id, module_code, session_id, session_type, starts_at, status)
SELECT 'S' || i, 'BIO1001', 'L' || j, 'lecture', engage.local_midnight(d - j) + interval '10 hours',
       CASE WHEN j = 2 THEN 'absent' ELSE 'present' END
FROM today, generate_series(1, 4) AS i, generate_series(1, 3) AS j;
INSERT INTO engage.meeting_note (student_id, author_id, met_on, focus, discussed, summary)
SELECT 'S' || i, 'T1', d - 3, 'routine', 'Settling in', 'Note about S' || i FROM today, generate_series(1, 4) AS i;
INSERT INTO engage.employability (student_id, academic_year, readiness_stage)
SELECT 'S' || i, engage.current_academic_year(), 'plan' FROM generate_series(1, 4) AS i;
INSERT INTO engage.alert (student_id, kind, module_code, fired_on)
SELECT s, k, CASE WHEN k = 'failed_mark' THEN 'BIO1001' END, d - 1
FROM today, (VALUES ('S1', 'score_drop'), ('S2', 'absence_run'), ('S2', 'failed_mark'), ('S4', 'no_vle_7d')) AS v(s, k);
-- an engagement alert of S2 kept from a year with consent
INSERT INTO engage.alert (student_id, kind, fired_on) SELECT 'S2', 'score_drop', d - 250 FROM today;

-- Every tab of the dashboard counted beside the view it comes from, as the caller
CREATE FUNCTION pg_temp.tabs(sid text) RETURNS text LANGUAGE sql AS $$
    SELECT format('grades %s/%s attendance %s/%s engagement %s/%s employability %s/%s meetings %s/%s alerts %s/%s',
        jsonb_array_length(j -> 'grades'), (SELECT count(*) FROM engage.dashboard_grades WHERE student_id = sid),
        jsonb_array_length(j -> 'attendance' -> 'modules'),
        (SELECT count(DISTINCT module_code) FROM engage.dashboard_attendance WHERE student_id = sid),
        (SELECT coalesce(sum(jsonb_array_length(e -> 'days')), 0) FROM jsonb_array_elements(j -> 'engagement') AS e),
        (SELECT count(*) FROM engage.dashboard_engagement WHERE student_id = sid),
        jsonb_array_length(j -> 'employability'), (SELECT count(*) FROM engage.dashboard_employability WHERE student_id = sid),
        jsonb_array_length(j -> 'meetings'), (SELECT count(*) FROM engage.dashboard_meetings WHERE student_id = sid),
        jsonb_array_length(j -> 'alerts'), (SELECT count(*) FROM engage.dashboard_alerts WHERE student_id = sid))
    FROM (SELECT engage.dashboard(sid) AS j) AS x $$;
GRANT EXECUTE ON FUNCTION pg_temp.tabs(text) TO PUBLIC;

-- engage.mark_class ------------------------------------------------------------------
SELECT is(ARRAY[engage.mark_class(70), engage.mark_class(69.99), engage.mark_class(60), engage.mark_class(50),
                engage.mark_class(40), engage.mark_class(39.99), engage.mark_class(0)],
          ARRAY['First', 'Upper second (2:1)', 'Upper second (2:1)', 'Lower second (2:2)', 'Third', 'Fail', 'Fail'],
          'mark_class: each class from its lower edge');
SELECT is(engage.mark_class(NULL), NULL, 'mark_class of NULL is NULL');

-- my_students: marks and position ---------------------------------------------------
SET SESSION AUTHORIZATION db_t1;
SELECT results_eq(
    $$SELECT student_id, mean_mark, mark_band, marks, programme_week, programme_position
      FROM engage.my_students ORDER BY student_id$$,
    $$SELECT * FROM (VALUES
        ('S1', 65.0, 'Upper second (2:1)', 2::bigint, (SELECT week FROM today), 'upper half'),
        ('S2', NULL::numeric, NULL, NULL, NULL::date, NULL),
        ('S3', 45.0, 'Third', 1::bigint, (SELECT week FROM today), 'lower half')) AS v$$,
    'the tutor reads this year''s mean mark and band and the position in the programme of consenting tutees only');
SELECT is((SELECT count(*) FROM engage.programme_positions() WHERE student_id = 'S4'), 0::bigint,
          'programme_positions says nothing of another tutor''s tutee');
SELECT is((SELECT count(*) FROM engage.programme_positions() WHERE student_id = 'S2'), 0::bigint,
          'nor of a tutee without consent');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION db_t2;
SELECT results_eq($$SELECT mean_mark, programme_week, programme_position FROM engage.my_students$$,
                  $$VALUES (80.0, NULL::date, NULL::text)$$,
                  'no position where the programme''s cohort is too small to be published');
RESET SESSION AUTHORIZATION;

INSERT INTO engage.exam_period SELECT 'Exams', d - 1, d + 1 FROM today;
SET SESSION AUTHORIZATION db_s1;
SELECT results_eq($$SELECT mean_mark, mark_band, programme_position FROM engage.my_students$$,
                  $$VALUES (NULL::numeric, NULL::text, 'upper half'::text)$$,
                  'during an exam period the student''s own row shows no mean mark, and still the position');
RESET SESSION AUTHORIZATION;
DELETE FROM engage.exam_period;

-- engage.dashboard --------------------------------------------------------------------
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'engage.dashboard(text)'::regprocedure), false,
          'dashboard runs with the caller''s rights');
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'engage.my_students_json()'::regprocedure), false,
          'my_students_json runs with the caller''s rights');

SET SESSION AUTHORIZATION db_t1;
SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(engage.dashboard('S1')) AS k),
          ARRAY['alerts', 'attendance', 'employability', 'engagement', 'exam_period', 'grades', 'meetings', 'student'],
          'a dashboard has every tab');
SELECT is(pg_temp.tabs('S1'),
          'grades 3/3 attendance 1/1 engagement 28/28 employability 1/1 meetings 1/1 alerts 1/1',
          'each tab holds what its view shows the tutor of a consenting tutee');
SELECT is(pg_temp.tabs('S2'),
          'grades 0/0 attendance 1/1 engagement 0/0 employability 0/0 meetings 1/1 alerts 1/1',
          'of a tutee without consent only attendance, notes and attendance alerts');
SELECT is(engage.dashboard('S2') -> 'alerts' -> 0 ->> 'kind', 'absence_run',
          'the tutee''s engagement and mark alerts are not among them');
SELECT is((SELECT array_agg(e ->> 'module_code' ORDER BY ord) FROM jsonb_array_elements(engage.dashboard('S1') -> 'engagement')
           WITH ORDINALITY AS x(e, ord)), ARRAY[NULL, 'BIO1001'], 'the overall series comes first, then each module');
SELECT is(engage.dashboard('S1') #>> '{student,programme_position}', 'upper half', 'the student''s row is that of my_students');
SELECT is(engage.dashboard('S4'), NULL, 'another tutor''s tutee has no dashboard');
SELECT is(engage.dashboard('S99'), NULL, 'nor has an unknown student, told apart from a hidden one in no way');
SELECT is(engage.dashboard(NULL), NULL, 'nor NULL');
SELECT is((SELECT array_agg(e ->> 'student_id' || ':' || (e -> 'open_alerts')::text ORDER BY ord)
           FROM jsonb_array_elements(engage.my_students_json()) WITH ORDINALITY AS x(e, ord)),
          ARRAY['S1:["score_drop"]', 'S2:["absence_run"]', 'S3:[]'],
          'my_students_json lists the tutees by name with the open alerts the tutor may read');
-- a tutor who names another viewer gains nothing
SET engage.viewer = 'T2';
SELECT is(engage.dashboard('S4'), NULL, 'a forged engage.viewer opens no other tutor''s tutee');
SELECT is(jsonb_array_length(engage.my_students_json()), 3, 'nor another tutor''s list');
RESET engage.viewer;
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION db_s1;
SELECT is(pg_temp.tabs('S1'),
          'grades 3/3 attendance 1/1 engagement 28/28 employability 1/1 meetings 1/1 alerts 1/1',
          'the student sees the dashboard their tutor sees');
SELECT is(engage.dashboard('S3'), NULL, 'and no other student''s');
SELECT is(jsonb_array_length(engage.my_students_json()), 1, 'their list is themself');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION db_app;
SELECT is(engage.my_students_json(), '[]'::jsonb, 'the web front end naming nobody lists nobody');
SELECT is(engage.dashboard('S1'), NULL, 'and shows no dashboard');
SELECT set_config('engage.viewer', 'T1', true);
SELECT is(pg_temp.tabs('S1'),
          'grades 3/3 attendance 1/1 engagement 28/28 employability 1/1 meetings 1/1 alerts 1/1',
          'naming the tutor, it shows the tutor''s dashboard');
RESET engage.viewer;
RESET SESSION AUTHORIZATION;

SELECT is(engage.dashboard('S1'), NULL, 'a superuser who is nobody''s viewer gets no dashboard');
SET SESSION AUTHORIZATION db_analyst;
SELECT throws_ok($$SELECT engage.dashboard('S1')$$, '42501', NULL, 'an analyst may not call dashboard');
SELECT throws_ok($$SELECT engage.my_students_json()$$, '42501', NULL, 'nor my_students_json');
SELECT throws_ok($$SELECT engage.programme_positions()$$, '42501', NULL, 'nor programme_positions');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION db_admin;
SELECT throws_ok($$SELECT engage.dashboard('S1')$$, '42501', NULL, 'nor may an administrator');
RESET SESSION AUTHORIZATION;

-- The tutee list and the programme positions as a Citus cluster computes
-- them (engage.distribute makes the views read these) give the same rows
CREATE FUNCTION pg_temp.same_as_cluster(who text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT results_eq('SELECT m::text FROM engage.my_students AS m ORDER BY m.student_id',
                      'SELECT m::text FROM engage.my_students_cluster AS m ORDER BY m.student_id',
                      'the cluster''s tutee list is the same for ' || who)
    UNION ALL
    SELECT results_eq('SELECT p::text FROM engage.programme_positions() AS p ORDER BY 1',
                      'SELECT p::text FROM engage.programme_positions_cluster() AS p ORDER BY 1',
                      'and so are its programme positions')
$$;
GRANT EXECUTE ON FUNCTION pg_temp.same_as_cluster(text) TO PUBLIC;
SET SESSION AUTHORIZATION db_t1;
SELECT pg_temp.same_as_cluster('a tutor');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION db_s1;
SELECT pg_temp.same_as_cluster('a student');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION db_app;
SELECT set_config('engage.viewer', 'T1', true);
SELECT pg_temp.same_as_cluster('the web front end naming a tutor');
RESET engage.viewer;
RESET SESSION AUTHORIZATION;

-- engage.node_students (the cluster's rules) keeps a set only while what
-- decides it holds: an expression PL/pgSQL keeps for the transaction must
-- not carry one viewer's students to the next viewer named
CREATE FUNCTION pg_temp.visible_now() RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    r text[] := engage.node_students('visible');
BEGIN
    RETURN (SELECT array_agg(s ORDER BY s) FROM unnest(r) AS s);
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.visible_now() TO PUBLIC;
GRANT EXECUTE ON FUNCTION engage.node_students(text) TO db_app;
SET SESSION AUTHORIZATION db_app;
SELECT set_config('engage.viewer', 'T1', true);
SELECT is(pg_temp.visible_now(), ARRAY['S1', 'S2', 'S3'], 'node_students for the web role naming a tutor');
SELECT set_config('engage.viewer', 'S1', true);
SELECT is(pg_temp.visible_now(), ARRAY['S1'], 'then, naming a student in the same transaction, only that student');
RESET engage.viewer;
RESET SESSION AUTHORIZATION;

-- A withdrawal counts on the very next query
SET SESSION AUTHORIZATION db_s1;
SELECT engage.set_consent('S1', false);
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION db_t1;
SELECT is(pg_temp.tabs('S1'),
          'grades 0/0 attendance 1/1 engagement 0/0 employability 0/0 meetings 1/1 alerts 0/0',
          'after a withdrawal the tutor''s dashboard of the student keeps only attendance and notes');
SELECT results_eq($$SELECT mean_mark, programme_position FROM engage.my_students WHERE student_id = 'S1'$$,
                  $$VALUES (NULL::numeric, NULL::text)$$, 'and the list neither mark nor position');
SELECT is((SELECT e -> 'open_alerts' FROM jsonb_array_elements(engage.my_students_json()) AS e
           WHERE e ->> 'student_id' = 'S1'), '[]'::jsonb, 'nor an engagement alert');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
