-- The dashboard views -----------------------------------------------------------------
--
-- One view per dashboard tab, all security_invoker: row-level security of the
-- caller decides what they show, so a tutor sees their tutees and a student
-- themself, through these views or straight from the tables alike.  The
-- tutee list also names its rows by the viewer's visible students: an
-- administrator may read every student, and one who also tutors must still
-- see only their tutees there.

-- The UK classification band of a mark: one home for the grades tab and the
-- tutee list's mean mark.
CREATE FUNCTION @extschema@.mark_class(mark numeric)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN CASE WHEN mark >= 70 THEN 'First'
            WHEN mark >= 60 THEN 'Upper second (2:1)'
            WHEN mark >= 50 THEN 'Lower second (2:2)'
            WHEN mark >= 40 THEN 'Third'
            WHEN mark IS NOT NULL THEN 'Fail' END;
COMMENT ON FUNCTION @extschema@.mark_class(numeric) IS
'The UK classification band of a mark out of 100: First (70+), Upper second (2:1), Lower second (2:2), Third (40-49) or Fail (under 40); NULL for NULL.';

-- Where each consenting student the viewer may see stands in their
-- programme, as a band: their mean daily score in the latest week whose
-- programme-wide cohort figures were published (engage.cohort_week: at least
-- 5 consenting students, and no group that differs from another by 1 to 4),
-- against that week's median.  It reads the cohort with the owner's rights
-- and returns only the band, so that no viewer reads a cohort's figures, nor
-- probes them with scores of their own choosing.  One call answers for all
-- of the viewer's students, so a tutee list costs one call.
CREATE FUNCTION @extschema@.programme_positions(OUT student_id text, OUT week date, OUT band text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- PL/pgSQL keeps the plan for the session: the tutee list runs this
    -- on every page
    RETURN QUERY
    SELECT s.student_id, c.week,
           CASE WHEN own.score > c.median_score THEN 'upper half'
                WHEN own.score < c.median_score THEN 'lower half'
                ELSE 'median' END
    FROM pg_catalog.unnest((SELECT @extschema@.consenting_students())) AS v(student_id)
    JOIN @extschema@.student AS s ON s.student_id = v.student_id
    CROSS JOIN LATERAL (
        SELECT cw.week, cw.median_score
        FROM @extschema@.cohort_week AS cw
        WHERE cw.college = s.college AND cw.programme = s.programme AND cw.module_code IS NULL
          AND cw.week <= @extschema@.today()
        ORDER BY cw.week DESC
        LIMIT 1
    ) AS c
    -- the weekly score exactly as engage.refresh computes it for the cohort
    CROSS JOIN LATERAL (
        SELECT @extschema@.stable_avg(d.score) AS score
        FROM @extschema@.daily_engagement AS d
        WHERE d.student_id = s.student_id AND d.module_code IS NULL
          AND d.day >= c.week AND d.day < c.week + 7
    ) AS own
    WHERE own.score IS NOT NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.programme_positions() IS
'For each consenting student the viewer may see: the latest week with published programme-wide cohort figures, and whether the student''s mean daily score that week was in the upper half, the lower half or at the median of their programme. No row for anyone else, or where nothing is published.';

CREATE VIEW @extschema@.my_students
WITH (security_invoker = true) AS
WITH today AS (
    SELECT @extschema@.today() AS day,
           @extschema@.local_midnight(@extschema@.today() - 28) AS four_weeks_ago,
           (SELECT y.starts FROM @extschema@.academic_year AS y
            WHERE @extschema@.today() BETWEEN y.starts AND y.ends) AS year_starts,
           (SELECT @extschema@.visible_students()) AS visible,
           (SELECT @extschema@.consenting_students()) AS consenting,
           (SELECT @extschema@.mark_students()) AS marked
)
SELECT s.student_id,
       s.full_name,
       s.college,
       s.programme,
       s.year_of_study,
       s.student_id = ANY (t.consenting) AS consent,
       att.rate_year AS attendance_rate,
       att.rate_4wk AS attendance_rate_4wk,
       eng.day AS score_day,
       eng.score,
       eng.score - eng.score_4wk_ago AS score_change_4wk,
       (SELECT max(n.met_on) FROM @extschema@.meeting_note AS n
        WHERE n.student_id = s.student_id) AS last_meeting,
       CASE WHEN s.student_id = ANY (t.consenting)
            THEN coalesce(eng.score < 0.5 * eng.mean_4wk, false) END AS flag_score_drop,
       CASE WHEN s.student_id = ANY (t.consenting)
            THEN coalesce(eng.ele_minutes_7d = 0, false) END AS flag_no_vle_7d,
       coalesce(att.last_three_absent, false) AS flag_absences,
       mk.mean_mark,
       @extschema@.mark_class(mk.mean_mark) AS mark_band,
       mk.marks,
       pos.week AS programme_week,
       pos.band AS programme_position
FROM @extschema@.student AS s
CROSS JOIN today AS t
LEFT JOIN LATERAL (
    SELECT round(100.0 * count(*) FILTER (WHERE a.status = 'present')
                 / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'), 0), 1) AS rate_year,
           round(100.0 * count(*) FILTER (WHERE a.status = 'present' AND a.starts_at >= t.four_weeks_ago)
                 / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'
                                             AND a.starts_at >= t.four_weeks_ago), 0), 1) AS rate_4wk,
           (SELECT count(*) = 3 AND bool_and(r.status = 'absent')
            FROM (SELECT a3.status FROM @extschema@.attendance AS a3
                  WHERE a3.student_id = s.student_id AND a3.starts_at < pg_catalog.statement_timestamp()
                    AND a3.status <> 'authorised_absence'
                  ORDER BY a3.starts_at DESC LIMIT 3) AS r) AS last_three_absent
    FROM @extschema@.attendance AS a
    WHERE a.student_id = s.student_id
      AND a.starts_at >= @extschema@.local_midnight(t.year_starts)
      AND a.starts_at < pg_catalog.statement_timestamp()
) AS att ON true
LEFT JOIN LATERAL (
    SELECT d.day, d.score,
           (SELECT p.score FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = s.student_id AND p.module_code IS NULL AND p.day = d.day - 28) AS score_4wk_ago,
           (SELECT @extschema@.stable_avg(p.score) FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = s.student_id AND p.module_code IS NULL
              AND p.day BETWEEN d.day - 28 AND d.day - 1) AS mean_4wk,
           d.ele_minutes_7d
    FROM @extschema@.daily_engagement AS d
    WHERE d.student_id = s.student_id AND d.module_code IS NULL AND d.day < t.day
    ORDER BY d.day DESC LIMIT 1
) AS eng ON true
-- this academic year's marks, under the grades tab's rule
LEFT JOIN LATERAL (
    SELECT round(avg(k.mark), 1) AS mean_mark, count(*) AS marks
    FROM @extschema@.assessment_mark AS k
    WHERE k.student_id = s.student_id AND s.student_id = ANY (t.marked)
      AND k.recorded_at >= @extschema@.local_midnight(t.year_starts)
    HAVING count(*) > 0
) AS mk ON true
LEFT JOIN @extschema@.programme_positions() AS pos ON pos.student_id = s.student_id
WHERE s.student_id = ANY (t.visible);

COMMENT ON VIEW @extschema@.my_students IS
'The tutee list: one row per student the viewer may see (a tutor''s current tutees, a student themself) with headline figures and flags; consent-dependent figures are NULL without consent.';
COMMENT ON COLUMN @extschema@.my_students.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.my_students.full_name IS 'Name.';
COMMENT ON COLUMN @extschema@.my_students.college IS 'College.';
COMMENT ON COLUMN @extschema@.my_students.programme IS 'Programme of study.';
COMMENT ON COLUMN @extschema@.my_students.year_of_study IS 'Year of study.';
COMMENT ON COLUMN @extschema@.my_students.consent IS 'Whether consent to learning analytics is in force for the current academic year.';
COMMENT ON COLUMN @extschema@.my_students.attendance_rate IS 'Percentage of this academic year''s past sessions attended; authorised absences are not counted against the student.';
COMMENT ON COLUMN @extschema@.my_students.attendance_rate_4wk IS 'The same over the last 4 weeks.';
COMMENT ON COLUMN @extschema@.my_students.score_day IS 'The day of the latest engagement score (normally yesterday). NULL without consent.';
COMMENT ON COLUMN @extschema@.my_students.score IS 'Overall engagement score on score_day. NULL without consent.';
COMMENT ON COLUMN @extschema@.my_students.score_change_4wk IS 'score minus the score 28 days earlier. NULL without consent.';
COMMENT ON COLUMN @extschema@.my_students.last_meeting IS 'Day of the latest meeting note.';
COMMENT ON COLUMN @extschema@.my_students.flag_score_drop IS 'Sudden drop-off: score under half its mean over the previous 4 weeks. NULL without consent.';
COMMENT ON COLUMN @extschema@.my_students.flag_no_vle_7d IS 'No VLE activity in the 7 days up to score_day. NULL without consent.';
COMMENT ON COLUMN @extschema@.my_students.flag_absences IS 'The last three sessions (authorised absences aside) were all unauthorised absences.';
COMMENT ON COLUMN @extschema@.my_students.mean_mark IS 'Provisional mean of this academic year''s marks, to one decimal. NULL without consent, during an exam period, or without marks.';
COMMENT ON COLUMN @extschema@.my_students.mark_band IS 'Classification band of mean_mark (engage.mark_class).';
COMMENT ON COLUMN @extschema@.my_students.marks IS 'Number of marks behind mean_mark.';
COMMENT ON COLUMN @extschema@.my_students.programme_week IS 'Monday of the week programme_position is about: the latest with published programme-wide cohort figures. NULL without consent or where the cohort is too small to publish.';
COMMENT ON COLUMN @extschema@.my_students.programme_position IS 'upper half, lower half or median: the student''s mean daily score in programme_week against the median of their programme''s consenting students (engage.programme_positions).';

CREATE VIEW @extschema@.dashboard_grades
WITH (security_invoker = true) AS
SELECT k.student_id, k.module_code, m.title AS module_title, k.assessment, k.kind, k.mark,
       @extschema@.mark_class(k.mark) AS band,
       true AS provisional,
       k.recorded_at
FROM @extschema@.assessment_mark AS k
JOIN @extschema@.module AS m ON m.module_code = k.module_code;

COMMENT ON VIEW @extschema@.dashboard_grades IS
'The grades tab: marks of students the viewer may see, with consent, hidden entirely while today is in an exam period; every mark is shown as provisional.';
COMMENT ON COLUMN @extschema@.dashboard_grades.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.dashboard_grades.module_code IS 'Module.';
COMMENT ON COLUMN @extschema@.dashboard_grades.module_title IS 'Title of the module.';
COMMENT ON COLUMN @extschema@.dashboard_grades.assessment IS 'Name of the assessment.';
COMMENT ON COLUMN @extschema@.dashboard_grades.kind IS 'Kind of assessment.';
COMMENT ON COLUMN @extschema@.dashboard_grades.mark IS 'Mark out of 100.';
COMMENT ON COLUMN @extschema@.dashboard_grades.band IS 'UK classification band: First (70+), Upper second (2:1, 60-69), Lower second (2:2, 50-59), Third (40-49), Fail (under 40).';
COMMENT ON COLUMN @extschema@.dashboard_grades.provisional IS 'Always true: the dashboard shows every mark as provisional.';
COMMENT ON COLUMN @extschema@.dashboard_grades.recorded_at IS 'When the mark was recorded.';

CREATE VIEW @extschema@.dashboard_attendance
WITH (security_invoker = true) AS
SELECT a.student_id, a.module_code, m.title AS module_title, a.session_id, a.session_type,
       a.starts_at, a.status,
       a.status = 'absent' AS counts_against,
       count(*) OVER w AS module_sessions,
       count(*) FILTER (WHERE a.status = 'present') OVER w AS module_present,
       count(*) FILTER (WHERE a.status = 'authorised_absence') OVER w AS module_authorised,
       count(*) FILTER (WHERE a.status = 'absent') OVER w AS module_absent,
       round(100.0 * count(*) FILTER (WHERE a.status = 'present') OVER w
             / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence') OVER w, 0), 1) AS module_rate
FROM @extschema@.attendance AS a
JOIN @extschema@.module AS m ON m.module_code = a.module_code
WHERE a.starts_at < pg_catalog.statement_timestamp()
WINDOW w AS (PARTITION BY a.student_id, a.module_code);

COMMENT ON VIEW @extschema@.dashboard_attendance IS
'The attendance tab: every past session of students the viewer may see (regardless of consent), with the module''s rates alongside.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.module_code IS 'Module of the session.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.module_title IS 'Title of the module.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.session_id IS 'Timetabled session.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.session_type IS 'lecture, seminar, tutorial, practical or clinical_skills.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.starts_at IS 'When the session started.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.status IS 'present, absent or authorised_absence.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.counts_against IS 'Whether the session counts against the student (unauthorised absence).';
COMMENT ON COLUMN @extschema@.dashboard_attendance.module_sessions IS 'Past sessions of the module.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.module_present IS 'Of which attended.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.module_authorised IS 'Of which authorised absences.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.module_absent IS 'Of which unauthorised absences.';
COMMENT ON COLUMN @extschema@.dashboard_attendance.module_rate IS 'Percentage attended, authorised absences left out.';

CREATE VIEW @extschema@.dashboard_engagement
WITH (security_invoker = true) AS
SELECT d.student_id, d.module_code, coalesce(m.title, 'All modules') AS module_title, d.day,
       d.ele_minutes, d.app_choices, d.career_events, d.score,
       d.ele_minutes_7d, d.app_choices_7d, d.career_events_7d
FROM @extschema@.daily_engagement AS d
LEFT JOIN @extschema@.module AS m ON m.module_code = d.module_code;

COMMENT ON VIEW @extschema@.dashboard_engagement IS
'The engagement tab: the daily series per module and overall (module_code NULL) of consenting students the viewer may see.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.module_code IS 'Module, or NULL for all modules together.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.module_title IS 'Title of the module, or All modules.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.day IS 'Day in the institution''s time zone.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.ele_minutes IS 'ELE minutes that day.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.app_choices IS 'Student-app choices that day.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.career_events IS 'Careers events attended that day.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.score IS 'Engagement score (7-day moving average).';
COMMENT ON COLUMN @extschema@.dashboard_engagement.ele_minutes_7d IS 'ELE minutes over the 7 days ending on the day.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.app_choices_7d IS 'App choices over the 7 days ending on the day.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.career_events_7d IS 'Careers events attended over the 7 days ending on the day.';

CREATE VIEW @extschema@.dashboard_employability
WITH (security_invoker = true) AS
SELECT e.student_id, e.academic_year, e.readiness_stage, e.sector, e.work_experience,
       e.activities, e.registered_at
FROM @extschema@.employability AS e;

COMMENT ON VIEW @extschema@.dashboard_employability IS
'The employability tab: careers registration of consenting students the viewer may see.';
COMMENT ON COLUMN @extschema@.dashboard_employability.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.dashboard_employability.academic_year IS 'Academic year.';
COMMENT ON COLUMN @extschema@.dashboard_employability.readiness_stage IS 'decide, plan, compete or sorted.';
COMMENT ON COLUMN @extschema@.dashboard_employability.sector IS 'Sector of interest.';
COMMENT ON COLUMN @extschema@.dashboard_employability.work_experience IS 'Whether the student has relevant work experience.';
COMMENT ON COLUMN @extschema@.dashboard_employability.activities IS 'Careers activities completed this year.';
COMMENT ON COLUMN @extschema@.dashboard_employability.registered_at IS 'When the stage was registered.';

CREATE VIEW @extschema@.dashboard_meetings
WITH (security_invoker = true) AS
SELECT n.note_id, n.student_id, n.met_on, n.focus, n.issue, n.discussed, n.actions, n.summary,
       n.author_id, coalesce(f.full_name, s.full_name) AS author_name,
       CASE WHEN n.author_id = n.student_id THEN 'student' ELSE 'tutor' END AS author_role,
       n.recorded_at
FROM @extschema@.meeting_note AS n
LEFT JOIN @extschema@.staff AS f ON f.staff_id = n.author_id
LEFT JOIN @extschema@.student AS s ON s.student_id = n.author_id;

COMMENT ON VIEW @extschema@.dashboard_meetings IS
'The meetings tab: meeting notes of students the viewer may see (regardless of consent); removed notes are gone.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.note_id IS 'The note.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.student_id IS 'The tutee.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.met_on IS 'Day of the meeting.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.focus IS 'routine or issue.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.issue IS 'The issue, when focus is issue.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.discussed IS 'What was discussed, in general terms.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.actions IS 'Referrals and actions: a JSON array of {"action", "by"}.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.summary IS 'Summary.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.author_id IS 'Who wrote the note.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.author_name IS 'Name of the author.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.author_role IS 'tutor or student.';
COMMENT ON COLUMN @extschema@.dashboard_meetings.recorded_at IS 'When the note was recorded.';
