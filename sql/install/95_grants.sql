-- Privileges -----------------------------------------------------------------------------
--
-- Nothing is granted to PUBLIC but the computation itself.  Viewers read the
-- dashboard views and, filtered by row-level security, the tables behind
-- them; analysts read the cohort view only; loaders write the source data and
-- run the refresh; administrators do the administrative work.

REVOKE ALL ON ALL TABLES IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA @extschema@ FROM PUBLIC;

GRANT USAGE ON SCHEMA @extschema@
    TO engage_app, engage_tutor, engage_student, engage_admin, engage_analyst, engage_loader;

-- the computation is for anyone allowed into the schema
GRANT EXECUTE ON FUNCTION
    @extschema@.ele_minutes(timestamptz, text),
    @extschema@.ele_minutes(timestamptz, text, interval, interval, text),
    @extschema@.ele_minutes_trans(internal, timestamptz, text),
    @extschema@.ele_minutes_trans(internal, timestamptz, text, interval, interval, text),
    @extschema@.ele_minutes_final(internal), @extschema@.ele_minutes_combine(internal, internal),
    @extschema@.ele_minutes_serialize(internal), @extschema@.ele_minutes_deserialize(bytea, internal),
    @extschema@.engagement_series(date, double precision, bigint, bigint, date, date),
    @extschema@.engagement_series_trans(internal, date, double precision, bigint, bigint, date, date),
    @extschema@.engagement_series_final(internal),
    @extschema@.score(double precision, double precision, double precision, double precision, double precision, double precision),
    @extschema@.daily_profile("char", timestamptz, text, date, date, double precision, double precision, double precision, date, date),
    @extschema@.daily_profile_trans(internal, "char", timestamptz, text, date, date, double precision, double precision, double precision, date, date),
    @extschema@.daily_profile_final(internal), @extschema@.profile_range(date, date),
    @extschema@.local_midnight(date),
    @extschema@.settings(), @extschema@.local_day(timestamptz), @extschema@.today(),
    @extschema@.week_start(date),
    @extschema@.stable_avg(double precision),
    @extschema@.stable_avg_trans(internal, double precision), @extschema@.stable_avg_final(internal),
    @extschema@.stable_avg_combine(internal, internal),
    @extschema@.stable_avg_serialize(internal), @extschema@.stable_avg_deserialize(bytea, internal),
    @extschema@.symmetric_difference_size(text[], text[]),
    @extschema@.stable_median(double precision), @extschema@.stable_median_final(internal),
    @extschema@.byte_sorted(text[]),
    @extschema@.current_academic_year(),
    @extschema@.in_exam_period(), @extschema@.mark_class(numeric),
    @extschema@.ordinal_fit(integer, double precision[]),
    @extschema@.ordinal_fit(integer, double precision[], double precision),
    @extschema@.ordinal_fit_trans(internal, integer, double precision[]),
    @extschema@.ordinal_fit_trans(internal, integer, double precision[], double precision),
    @extschema@.ordinal_fit_final(internal), @extschema@.ordinal_fit_combine(internal, internal),
    @extschema@.ordinal_fit_serialize(internal), @extschema@.ordinal_fit_deserialize(bytea, internal),
    @extschema@.ordinal_predict(@extschema@.ordinal_model, double precision[]),
    -- where this node keeps a table's rows (the triggers' helpers)
    @extschema@.here(regclass, text), @extschema@.local_shards(regclass), @extschema@.node_rows(regclass),
    @extschema@.distributed()
    TO PUBLIC;

-- viewers: the web front end, tutors and students
GRANT SELECT ON @extschema@.my_students, @extschema@.my_students_cluster, @extschema@.dashboard_grades, @extschema@.dashboard_attendance,
                @extschema@.dashboard_engagement, @extschema@.dashboard_employability,
                @extschema@.dashboard_meetings, @extschema@.consent,
                @extschema@.consent_latest, @extschema@.module, @extschema@.college,
                @extschema@.academic_year, @extschema@.exam_period, @extschema@.enrolment,
                @extschema@.attendance, @extschema@.assessment_mark, @extschema@.employability,
                @extschema@.meeting_note, @extschema@.daily_engagement
    TO engage_app, engage_tutor, engage_student;
-- names and ids, but not the database roles people log in with
GRANT SELECT (student_id, full_name, college, programme, year_of_study) ON @extschema@.student
    TO engage_app, engage_tutor, engage_student;
GRANT SELECT (staff_id, full_name) ON @extschema@.staff TO engage_app, engage_tutor, engage_student;
GRANT EXECUTE ON FUNCTION @extschema@.viewer(), @extschema@.app_viewer(), @extschema@.session_is_app(),
                          @extschema@.visible_students(), @extschema@.consenting_students(),
                          @extschema@.mark_students(),
                          @extschema@.record_meeting_note(text, date, text, text, jsonb, text),
                          @extschema@.set_consent(text, boolean),
                          @extschema@.request_note_removal(bigint, text),
                          @extschema@.programme_positions(),
                          @extschema@.node_students(text), @extschema@.node_students_compute(text),
                          @extschema@.programme_positions_cluster()
    TO engage_app, engage_tutor, engage_student;

-- analysts: cohorts only
GRANT SELECT ON @extschema@.cohort_engagement TO engage_analyst;

-- loaders: the source data and the nightly run
GRANT SELECT, INSERT, UPDATE, DELETE ON
    @extschema@.college, @extschema@.academic_year, @extschema@.student, @extschema@.staff,
    @extschema@.tutoring, @extschema@.module, @extschema@.enrolment, @extschema@.ele_event,
    @extschema@.app_event, @extschema@.career_event, @extschema@.attendance,
    @extschema@.assessment_mark, @extschema@.employability, @extschema@.daily_engagement,
    @extschema@.student_college
    TO engage_loader;
GRANT SELECT, INSERT ON @extschema@.consent, @extschema@.refresh_run TO engage_loader;
-- engage.stamp_consent numbers a loader's consent rows from the sequence
GRANT USAGE ON SEQUENCE @extschema@.consent_consent_id_seq TO engage_loader;
GRANT SELECT, INSERT, DELETE ON @extschema@.cohort_week, @extschema@.refresh_stale TO engage_loader;
GRANT SELECT ON @extschema@.coefficients, @extschema@.exam_period, @extschema@.consent_latest,
                @extschema@.college_spans TO engage_loader;
GRANT EXECUTE ON PROCEDURE @extschema@.refresh(date, date) TO engage_loader;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_on_workers(date, date, text[]), @extschema@.hold_consent_decisions(),
                          @extschema@.open_years(date, date), @extschema@.index_years()
    TO engage_loader;

-- administrators: consent on a student's behalf, exam periods, weights, note removal
GRANT SELECT ON @extschema@.student, @extschema@.staff, @extschema@.tutoring, @extschema@.consent,
                @extschema@.consent_latest, @extschema@.meeting_note_removal, @extschema@.student_college,
                @extschema@.college_spans,
                @extschema@.college, @extschema@.academic_year, @extschema@.module,
                @extschema@.refresh_run
    TO engage_admin;
-- which notes exist, to remove one; not what they say
GRANT SELECT ON @extschema@.meeting_note_index, @extschema@.note_removal_queue,
                @extschema@.note_removal_request TO engage_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.exam_period, @extschema@.coefficients TO engage_admin;
GRANT EXECUTE ON FUNCTION @extschema@.set_consent(text, boolean),
                          @extschema@.remove_meeting_note(bigint, text),
                          @extschema@.decide_note_removal(bigint, boolean, text),
                          @extschema@.note_index(), @extschema@.pending_note_removals(),
                          @extschema@.viewer(), @extschema@.app_viewer(), @extschema@.session_is_app(),
                          @extschema@.visible_students()
    TO engage_admin;

-- the owner's rights: engage_owner owns the functions and views that read
-- past the rules for the caller, and may touch only what they touch
ALTER FUNCTION @extschema@.viewer() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.visible_students() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.consenting_students() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.mark_students() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.require_student_or_tutor(text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.record_meeting_note(text, date, text, text, jsonb, text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.set_consent(text, boolean) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.remove_meeting_note(bigint, text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.mark_stale() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.request_note_removal(bigint, text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.decide_note_removal(bigint, boolean, text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.programme_positions() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.node_students_compute(text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.programme_positions_cluster() OWNER TO engage_owner;
GRANT EXECUTE ON FUNCTION @extschema@.node_students(text), @extschema@.node_students_compute(text) TO engage_owner;
ALTER FUNCTION @extschema@.note_index() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.pending_note_removals() OWNER TO engage_owner;
ALTER VIEW @extschema@.note_removal_queue OWNER TO engage_owner;
ALTER VIEW @extschema@.cohort_engagement OWNER TO engage_owner;
ALTER VIEW @extschema@.meeting_note_index OWNER TO engage_owner;
GRANT USAGE ON SCHEMA @extschema@ TO engage_owner;
GRANT SELECT ON @extschema@.student, @extschema@.staff, @extschema@.tutoring, @extschema@.consent,
                @extschema@.consent_latest, @extschema@.academic_year, @extschema@.exam_period,
                @extschema@.meeting_note, @extschema@.cohort_week, @extschema@.student_college,
                @extschema@.college_spans, @extschema@.daily_engagement
    TO engage_owner;
GRANT SELECT, INSERT, UPDATE ON @extschema@.refresh_stale, @extschema@.note_removal_request TO engage_owner;
GRANT INSERT ON @extschema@.consent, @extschema@.meeting_note, @extschema@.meeting_note_removal TO engage_owner;
GRANT DELETE ON @extschema@.meeting_note TO engage_owner;
-- engage.load: the tables it loads and reads keys in (and academic_year)
GRANT SELECT, INSERT ON @extschema@.college, @extschema@.module, @extschema@.staff, @extschema@.student,
                        @extschema@.tutoring, @extschema@.consent, @extschema@.enrolment, @extschema@.ele_event,
                        @extschema@.app_event, @extschema@.career_event, @extschema@.attendance,
                        @extschema@.assessment_mark, @extschema@.employability
    TO engage_owner;
GRANT EXECUTE ON FUNCTION @extschema@.app_viewer(), @extschema@.session_is_app() TO engage_owner;
-- engage.fit_coefficients and engage.apply_fit (85_ordinal_fit.sql)
GRANT SELECT ON @extschema@.college, @extschema@.enrolment, @extschema@.assessment_mark, @extschema@.ele_event,
                @extschema@.app_event, @extschema@.career_event
    TO engage_owner;
GRANT SELECT, INSERT, UPDATE ON @extschema@.coefficients TO engage_owner;

-- every policy says what it is for
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT pol.polname, c.relname FROM pg_catalog.pg_policy AS pol
             JOIN pg_catalog.pg_class AS c ON c.oid = pol.polrelid
             WHERE c.relnamespace = '@extschema@'::regnamespace LOOP
        EXECUTE pg_catalog.format('COMMENT ON POLICY %I ON @extschema@.%I IS %L', p.polname, p.relname,
            CASE p.polname
                WHEN 'viewer_read' THEN 'Tutors, students and the web front end read the rows of students they may see (see docs/security.md).'
                WHEN 'loader_all' THEN 'Loaders read and write every row.'
                WHEN 'loader_own' THEN 'Loaders read the runs and rejects of their own login.'
                WHEN 'admin_read' THEN 'Administrators read every row of what they manage.'
            END);
    END LOOP;
END
$$;
