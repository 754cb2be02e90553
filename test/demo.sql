-- What a personal tutor and a tutee see today, from the synthetic university.
-- "Today" is the day after the last computed day.
\pset footer off
\pset null '-'
SET TimeZone = 'Europe/London';

SELECT max(day) AS last_day, max(day) + 1 AS today FROM engage.daily_engagement \gset

-- The demo tutor: the one with the most current tutees; the demo students:
-- that tutor's tutee with consent and the most meeting notes, and a tutee
-- without consent.
SELECT t.tutor_id, s.full_name AS tutor_name
FROM engage.tutoring AS t JOIN engage.staff AS s ON s.staff_id = t.tutor_id
WHERE t.valid_from <= :'today' AND (t.valid_to IS NULL OR t.valid_to > :'today')
GROUP BY t.tutor_id, s.full_name ORDER BY count(*) DESC, t.tutor_id LIMIT 1 \gset

CREATE TEMP VIEW tutee AS
SELECT st.*, y.label AS academic_year,
       coalesce(cl.granted, false) AS consent
FROM engage.tutoring AS t
JOIN engage.student AS st ON st.student_id = t.student_id
JOIN engage.academic_year AS y ON :'today' BETWEEN y.starts AND y.ends
LEFT JOIN engage.consent_latest AS cl ON cl.student_id = st.student_id AND cl.academic_year = y.label
WHERE t.tutor_id = :'tutor_id'
  AND t.valid_from <= :'today' AND (t.valid_to IS NULL OR t.valid_to > :'today');

SELECT tt.student_id AS consenting_id, tt.full_name AS consenting_name
FROM tutee AS tt
WHERE tt.consent
ORDER BY (SELECT count(*) FROM engage.meeting_note AS n WHERE n.student_id = tt.student_id) DESC,
         tt.student_id
LIMIT 1 \gset
SELECT coalesce((SELECT tt.student_id FROM tutee AS tt WHERE NOT tt.consent ORDER BY tt.student_id LIMIT 1),
                :'consenting_id') AS refusing_id \gset
SELECT full_name AS refusing_name FROM engage.student WHERE student_id = :'refusing_id' \gset

\echo
\echo '================================================================================'
\echo ' My students:' :tutor_name '(personal tutor) on' :today
\echo '================================================================================'
SELECT tt.full_name AS student, tt.programme, tt.year_of_study AS yr,
       CASE WHEN tt.consent THEN 'yes' ELSE 'no' END AS consent,
       (SELECT round(100.0 * count(*) FILTER (WHERE a.status <> 'absent') / nullif(count(*), 0))
        FROM engage.attendance AS a
        WHERE a.student_id = tt.student_id AND a.starts_at >= :'today'::date - 28
          AND a.starts_at < :'today') AS "attend 4wk %",
       CASE WHEN tt.consent THEN round(now_.score::numeric, 2) END AS score,
       CASE WHEN tt.consent THEN round((now_.score - then_.score)::numeric, 2) END AS "vs 4wk ago",
       (SELECT max(n.met_on) FROM engage.meeting_note AS n WHERE n.student_id = tt.student_id) AS last_met,
       CASE WHEN tt.consent AND now_.score < 0.5 * prev.mean THEN 'score drop ' ELSE '' END ||
       CASE WHEN tt.consent AND NOT EXISTS (SELECT FROM engage.ele_event AS e
                                            WHERE e.student_id = tt.student_id
                                              AND e.ts >= :'today'::date - 7) THEN 'no VLE 7d' ELSE '' END
         AS flags
FROM tutee AS tt
LEFT JOIN engage.daily_engagement AS now_
       ON now_.student_id = tt.student_id AND now_.module_code IS NULL AND now_.day = :'last_day'
LEFT JOIN engage.daily_engagement AS then_
       ON then_.student_id = tt.student_id AND then_.module_code IS NULL AND then_.day = :'last_day'::date - 28
LEFT JOIN LATERAL (SELECT avg(d.score) AS mean FROM engage.daily_engagement AS d
                   WHERE d.student_id = tt.student_id AND d.module_code IS NULL
                     AND d.day BETWEEN :'last_day'::date - 28 AND :'last_day'::date - 1) AS prev ON true
ORDER BY tt.full_name;

\echo
\echo '================================================================================'
\echo ' My Progress:' :consenting_name '(' :consenting_id ') - seen alike by student and tutor'
\echo '================================================================================'
\echo 'Engagement, last 14 days (overall; one # per 0.5 of score)'
SELECT d.day, to_char(d.day, 'Dy') AS dow, round(d.ele_minutes::numeric, 1) AS ele_min,
       d.app_choices AS app, d.career_events AS careers, round(d.score::numeric, 2) AS score,
       repeat('#', least(60, round(d.score * 2)::int)) AS trend
FROM engage.daily_engagement AS d
WHERE d.student_id = :'consenting_id' AND d.module_code IS NULL AND d.day > :'last_day'::date - 14
ORDER BY d.day;

\echo 'Engagement by module, as of' :last_day
SELECT d.module_code, m.title, round(d.score::numeric, 2) AS score,
       round(sum(w.ele_minutes)::numeric, 1) AS "ele min 7d"
FROM engage.daily_engagement AS d
JOIN engage.module AS m USING (module_code)
JOIN engage.daily_engagement AS w
  ON w.student_id = d.student_id AND w.module_code = d.module_code
 AND w.day BETWEEN d.day - 6 AND d.day
WHERE d.student_id = :'consenting_id' AND d.day = :'last_day'
GROUP BY d.module_code, m.title, d.score ORDER BY d.module_code;

\echo 'Attendance this year (authorised absences not counted against the student)'
SELECT a.module_code, count(*) AS sessions,
       count(*) FILTER (WHERE a.status = 'present') AS present,
       count(*) FILTER (WHERE a.status = 'authorised_absence') AS authorised,
       count(*) FILTER (WHERE a.status = 'absent') AS absent,
       round(100.0 * count(*) FILTER (WHERE a.status = 'present')
             / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'), 0)) AS "rate %"
FROM engage.attendance AS a
WHERE a.student_id = :'consenting_id' AND a.starts_at < :'today'
GROUP BY a.module_code ORDER BY a.module_code;

\echo 'Marks (hidden while an exam period is on)'
SELECT k.module_code, k.assessment, k.kind, k.mark,
       CASE WHEN k.provisional THEN 'provisional' ELSE 'ratified' END AS status
FROM engage.assessment_mark AS k
WHERE k.student_id = :'consenting_id'
  AND NOT EXISTS (SELECT FROM engage.exam_period AS e WHERE :'today' BETWEEN e.starts AND e.ends)
ORDER BY k.recorded_at, k.module_code;

\echo 'Employability'
SELECT e.academic_year, e.readiness_stage, e.sector, e.work_experience, e.activities
FROM engage.employability AS e WHERE e.student_id = :'consenting_id';

\echo 'Meeting notes'
SELECT n.met_on, n.focus, n.issue, n.summary,
       (SELECT string_agg(a ->> 'action' || ' (' || (a ->> 'by') || ')', '; ')
        FROM jsonb_array_elements(n.actions) AS a) AS actions
FROM engage.meeting_note AS n WHERE n.student_id = :'consenting_id' ORDER BY n.met_on;

\echo
\echo '================================================================================'
\echo ' My Progress:' :refusing_name '(' :refusing_id ') - no consent: attendance and notes only'
\echo '================================================================================'
SELECT a.module_code, count(*) AS sessions,
       round(100.0 * count(*) FILTER (WHERE a.status = 'present')
             / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'), 0)) AS "rate %"
FROM engage.attendance AS a
WHERE a.student_id = :'refusing_id' AND a.starts_at < :'today'
GROUP BY a.module_code ORDER BY a.module_code;
SELECT n.met_on, n.focus, n.summary FROM engage.meeting_note AS n
WHERE n.student_id = :'refusing_id' ORDER BY n.met_on;
SELECT count(*) AS engagement_rows_computed FROM engage.daily_engagement WHERE student_id = :'refusing_id';
