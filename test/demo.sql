-- What a personal tutor and a tutee see today, from the synthetic university.
-- "Today" is the day after the last computed day.
\pset footer off
\pset null '-'
SET TimeZone = 'Europe/London';

SELECT max(day) AS last_day, max(day) + 1 AS today FROM engage.daily_engagement \gset

-- The demo tutor: the one with the most current tutees.
SELECT t.tutor_id, s.full_name AS tutor_name
FROM engage.tutoring AS t JOIN engage.staff AS s ON s.staff_id = t.tutor_id
WHERE t.valid_from <= :'today' AND (t.valid_to IS NULL OR t.valid_to > :'today')
GROUP BY t.tutor_id, s.full_name ORDER BY count(*) DESC, t.tutor_id LIMIT 1 \gset

SELECT y.label AS academic_year FROM engage.academic_year AS y WHERE :'today' BETWEEN y.starts AND y.ends \gset

-- the tutor's tutee with consent and the most meeting notes, and one without consent
SELECT t.student_id AS consenting_id, s.full_name AS consenting_name
FROM engage.tutoring AS t JOIN engage.student AS s USING (student_id)
JOIN engage.consent_latest AS cl ON cl.student_id = t.student_id AND cl.academic_year = :'academic_year' AND cl.granted
WHERE t.tutor_id = :'tutor_id' AND t.valid_from <= :'today' AND (t.valid_to IS NULL OR t.valid_to > :'today')
ORDER BY (SELECT count(*) FROM engage.meeting_note AS n WHERE n.student_id = t.student_id) DESC, t.student_id
LIMIT 1 \gset
SELECT coalesce((SELECT t.student_id FROM engage.tutoring AS t
                 WHERE t.tutor_id = :'tutor_id' AND t.valid_from <= :'today'
                   AND (t.valid_to IS NULL OR t.valid_to > :'today')
                   AND NOT EXISTS (SELECT FROM engage.consent_latest AS cl
                                   WHERE cl.student_id = t.student_id AND cl.academic_year = :'academic_year'
                                     AND cl.granted)
                 ORDER BY t.student_id LIMIT 1), :'consenting_id') AS refusing_id \gset
SELECT full_name AS refusing_name FROM engage.student WHERE student_id = :'refusing_id' \gset

-- From here on, exactly what the web front end does: log in as a member of
-- engage_app and name the viewer in each transaction.
CREATE ROLE demo_web LOGIN IN ROLE engage_app;
SET SESSION AUTHORIZATION demo_web;

\echo
\echo '================================================================================'
\echo ' My students:' :tutor_name '(personal tutor) on' :today
\echo '================================================================================'
BEGIN;
SET LOCAL engage.viewer = :'tutor_id';
SELECT full_name AS student, programme, year_of_study AS yr,
       CASE WHEN consent THEN 'yes' ELSE 'no' END AS consent,
       attendance_rate_4wk AS "attend 4wk %",
       round(score::numeric, 2) AS score, round(score_change_4wk::numeric, 2) AS "vs 4wk ago",
       last_meeting,
       concat_ws(' ', CASE WHEN flag_score_drop THEN 'score-drop' END,
                      CASE WHEN flag_no_vle_7d THEN 'no-VLE-7d' END,
                      CASE WHEN flag_absences THEN '3-absences' END) AS flags
FROM engage.my_students ORDER BY full_name;
COMMIT;

\echo
\echo '================================================================================'
\echo ' My Progress:' :consenting_name '(' :consenting_id ') - the student''s own view'
\echo '================================================================================'
BEGIN;
SET LOCAL engage.viewer = :'consenting_id';
\echo 'Engagement, last 14 days (overall; one # per 0.5 of score)'
SELECT day, to_char(day, 'Dy') AS dow, round(ele_minutes::numeric, 1) AS ele_min,
       app_choices AS app, career_events AS careers, round(score::numeric, 2) AS score,
       repeat('#', least(60, round(score * 2)::int)) AS trend
FROM engage.dashboard_engagement
WHERE module_code IS NULL AND day > :'last_day'::date - 14 ORDER BY day;

\echo 'Engagement by module, as of' :last_day
SELECT module_code, module_title, round(score::numeric, 2) AS score
FROM engage.dashboard_engagement WHERE module_code IS NOT NULL AND day = :'last_day' ORDER BY module_code;

\echo 'Attendance (authorised absences not counted against the student)'
SELECT DISTINCT module_code, module_sessions AS sessions, module_present AS present,
       module_authorised AS authorised, module_absent AS absent, module_rate AS "rate %"
FROM engage.dashboard_attendance ORDER BY module_code;

\echo 'Grades (shown as provisional; hidden while an exam period is on)'
SELECT module_code, assessment, kind, mark, band, CASE WHEN provisional THEN 'provisional' END AS status
FROM engage.dashboard_grades ORDER BY recorded_at, module_code;

\echo 'Employability'
SELECT academic_year, readiness_stage, sector, work_experience, activities FROM engage.dashboard_employability;

\echo 'Meetings'
SELECT met_on, focus, issue, summary, author_name,
       (SELECT string_agg(a ->> 'action' || ' (' || (a ->> 'by') || ')', '; ')
        FROM jsonb_array_elements(actions) AS a) AS actions
FROM engage.dashboard_meetings ORDER BY met_on;
COMMIT;

\echo
\echo '================================================================================'
\echo ' The same dashboard after' :consenting_name 'withdraws consent (next query)'
\echo '================================================================================'
BEGIN;
SET LOCAL engage.viewer = :'consenting_id';
SELECT engage.set_consent(:'consenting_id', false) IS NOT NULL AS consent_withdrawn;
SELECT consent, score, flag_score_drop, flag_no_vle_7d, attendance_rate_4wk, last_meeting FROM engage.my_students;
SELECT DISTINCT module_code, module_sessions AS sessions, module_rate AS "rate %"
FROM engage.dashboard_attendance ORDER BY module_code;
SELECT (SELECT count(*) FROM engage.dashboard_grades) AS grades_shown,
       (SELECT count(*) FROM engage.dashboard_engagement) AS engagement_rows_shown,
       (SELECT count(*) FROM engage.dashboard_employability) AS employability_shown,
       (SELECT count(*) FROM engage.dashboard_meetings) AS meetings_shown;
ROLLBACK;

\echo
\echo '================================================================================'
\echo ' My Progress:' :refusing_name '(' :refusing_id ') - no consent: attendance and notes only'
\echo '================================================================================'
BEGIN;
SET LOCAL engage.viewer = :'refusing_id';
SELECT DISTINCT module_code, module_sessions AS sessions, module_rate AS "rate %"
FROM engage.dashboard_attendance ORDER BY module_code;
SELECT met_on, focus, summary, author_name FROM engage.dashboard_meetings ORDER BY met_on;
SELECT (SELECT count(*) FROM engage.dashboard_grades) AS grades_shown,
       (SELECT count(*) FROM engage.dashboard_engagement) AS engagement_rows_shown,
       (SELECT count(*) FROM engage.dashboard_employability) AS employability_shown;
COMMIT;
RESET SESSION AUTHORIZATION;
DROP ROLE demo_web;

\echo
\echo '================================================================================'
\echo ' Weights from the data: a fit for CLES' :academic_year 'beside the weights in force'
\echo '================================================================================'
-- the UK degree classes as the bands of a module mark (an administrator's table)
INSERT INTO engage.mark_band VALUES (1, 'fail', 0), (2, 'third', 40), (3, '2:2', 50), (4, '2:1', 60), (5, 'first', 70);
CREATE ROLE demo_analyst LOGIN IN ROLE engage_analyst;
SET SESSION AUTHORIZATION demo_analyst;
CREATE TEMP TABLE demo_fit AS SELECT * FROM engage.fit_coefficients('CLES', :'academic_year');
SELECT fit_id, array_to_string(programmes, ', ') AS programmes, students, (model).n AS "student-modules",
       from_day, to_day, (model).converged, (model).iterations
FROM demo_fit;
SELECT p.predictor, round(p.coefficient::numeric, 4) AS coefficient, round(p.se::numeric, 4) AS se,
       round(p.z::numeric, 2) AS z, to_char(p.p, '9.9EEEE') AS p
FROM demo_fit, unnest(ARRAY['ELE minutes a day', 'app choices a day', 'careers events a week'],
                      (model).coefficients, (model).coefficient_se, (model).coefficient_z, (model).coefficient_p)
     AS p(predictor, coefficient, se, z, p);
RESET SESSION AUTHORIZATION;
-- what an administrator compares before engage.apply_fit(fit_id)
SELECT 'fitted (fit ' || f.fit_id || ')' AS weights, round(f.ele::numeric, 3) AS ele, round(f.app::numeric, 3) AS app,
       round(f.events::numeric, 3) AS events
FROM demo_fit AS f
UNION ALL
SELECT 'in force', round(c.ele::numeric, 3), round(c.app::numeric, 3), round(c.events::numeric, 3)
FROM engage.coefficients AS c WHERE c.college = 'CLES' AND c.academic_year = :'academic_year';
DROP TABLE demo_fit;
DROP ROLE demo_analyst;
