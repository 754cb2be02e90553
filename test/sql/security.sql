-- Attacks on the rules, with readable output: a leaky function, COPY, and a
-- search_path trap.  (test/pgtap/security.sql attacks every rule under every role.)
SET DateStyle = 'ISO, YMD';
SET client_min_messages = notice;
CREATE ROLE reg_tutor LOGIN IN ROLE engage_tutor;
INSERT INTO engage.college VALUES ('HUMS', 'Humanities');
INSERT INTO engage.academic_year
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM (SELECT extract(year FROM engage.local_day(now()) - 212)::int AS y) AS t;
INSERT INTO engage.module VALUES ('HIS1001', 'Early Modern Europe', 'HUMS');
INSERT INTO engage.staff VALUES ('T1', 'Dr One', 'reg_tutor');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study) VALUES
  ('S1', 'Sam One', 'HUMS', 'BA History', 1), ('S2', 'Sue Two', 'HUMS', 'BA History', 1),
  ('S9', 'Not A Tutee', 'HUMS', 'BA History', 1);
INSERT INTO engage.tutoring VALUES ('T1', 'S1', engage.local_day(now()) - 10, NULL),
                                   ('T1', 'S2', engage.local_day(now()) - 10, NULL);
INSERT INTO engage.consent (student_id, academic_year, granted)
VALUES ('S1', engage.current_academic_year(), true), ('S9', engage.current_academic_year(), true);
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark)
VALUES ('S1', 'HIS1001', 'Essay', 'coursework', 71), ('S2', 'HIS1001', 'Essay', 'coursework', 55),
       ('S9', 'HIS1001', 'Essay', 'coursework', 48);

CREATE FUNCTION public.f_leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS
$$ BEGIN RAISE NOTICE 'f_leak => %', $1; RETURN true; END $$;

-- a schema of traps: functions and an operator with engage's names
CREATE SCHEMA evil;
CREATE FUNCTION evil.visible_students() RETURNS text[] LANGUAGE sql AS $$ SELECT ARRAY['S1', 'S2', 'S9'] $$;
CREATE FUNCTION evil.viewer() RETURNS text LANGUAGE sql AS $$ SELECT 'T1' $$;
CREATE FUNCTION evil.local_day(timestamptz) RETURNS date LANGUAGE sql AS $$ SELECT '2000-01-01'::date $$;
CREATE FUNCTION evil.texteq_always(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = evil.texteq_always);
GRANT USAGE ON SCHEMA evil TO PUBLIC;

SET SESSION AUTHORIZATION reg_tutor;
-- The leaky function is shown only the tutor's tutees, and marks only with consent.
SELECT student_id, full_name FROM engage.my_students WHERE f_leak(full_name) ORDER BY 1;
SELECT student_id, mark, band FROM engage.dashboard_grades WHERE f_leak(student_id || ':' || mark) ORDER BY 1;
SELECT student_id, mark FROM engage.assessment_mark WHERE f_leak(student_id) ORDER BY 1;

-- COPY goes through the same rules, from a view or straight from a table.
COPY (SELECT student_id, mark FROM engage.dashboard_grades ORDER BY 1) TO STDOUT;
COPY engage.assessment_mark (student_id, mark) TO STDOUT;
COPY engage.student (student_id) TO STDOUT;

-- With the traps first on the search_path, nothing changes.
SET search_path = evil, public, pg_catalog;
SELECT student_id FROM engage.my_students ORDER BY 1;
SELECT engage.viewer(), engage.visible_students(), engage.local_day('2026-10-24 23:30+00');
SELECT student_id, mark FROM engage.dashboard_grades ORDER BY 1;
RESET search_path;
RESET SESSION AUTHORIZATION;

DROP SCHEMA evil CASCADE;
DROP FUNCTION public.f_leak(text);
DELETE FROM engage.assessment_mark;
DELETE FROM engage.tutoring;
DELETE FROM engage.staff;
DROP ROLE reg_tutor;
