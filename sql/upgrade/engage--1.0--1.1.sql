-- engage 1.0 to 1.1: ALTER EXTENSION engage UPDATE TO '1.1'.
--
-- Every change to the schema in 1.1 is made in sql/install/ (a fresh
-- install) and here (an upgrade); test/t/upgrade.t proves the two give the
-- same catalog.  A definition that is the same in both is written once, in
-- sql/install/, and named here by a directive (--@include, --@replace) that
-- the build expands into sql/engage--1.0--1.1.sql (sql/upgrade/expand.sh).
\echo Use "ALTER EXTENSION engage UPDATE TO '1.1'" to load this file. \quit

-- Objects that are members of the extension are replaced in place with
-- CREATE OR REPLACE, which keeps their grants and comments; PostgreSQL
-- refuses it for an object the extension does not own.

-- The owner's-rights functions and views run as engage_owner, not as the
-- superuser who installed engage ----------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'engage_owner') THEN
        CREATE ROLE engage_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT BYPASSRLS;
    END IF;
END
$$;

-- Consent: only the database numbers a decision and says who recorded it ------
-- The decision in force is the one with the highest consent_id, so only the
-- database may number a decision: a loader who chose the number (OVERRIDING
-- SYSTEM VALUE) could pin consent for good, or make later set_consent calls
-- fail on a taken number.  Nor may a loader say who recorded it.  Rows
-- written by the extension's own functions (set_consent, as engage_owner),
-- or by a superuser restoring a dump, keep theirs.
--@include 50_consent.sql stamp_consent
COMMENT ON FUNCTION @extschema@.stamp_consent() IS
'Trigger function: numbers every consent decision that a loader records from the sequence, whatever number it gave, and records the loader''s login as recorded_by; and makes a refresh about to purge withdrawn consent wait for the decision.';

CREATE TRIGGER consent_stamp
    BEFORE INSERT ON @extschema@.consent
    FOR EACH ROW EXECUTE FUNCTION @extschema@.stamp_consent();
REVOKE ALL ON FUNCTION @extschema@.stamp_consent() FROM PUBLIC;
-- engage.stamp_consent numbers a loader's consent rows from the sequence
GRANT USAGE ON SEQUENCE @extschema@.consent_consent_id_seq TO engage_loader;

-- Notes: administrators find notes through an index that has no text; an
-- administrator who also tutors reads only their tutees' notes --------------
DROP POLICY admin_read ON @extschema@.meeting_note;
REVOKE SELECT (note_id, student_id, author_id, met_on, focus, recorded_at) ON @extschema@.meeting_note FROM engage_admin;
-- Which notes exist, for administrators to find the one they are asked to
-- remove: never what a note says.  The view reads with its owner's rights, so
-- that no policy on meeting_note opens rows to administrators (one would open
-- the text too to an administrator who also tutors).  It reads through a
-- function with the owner's rights rather than from the table: on a Citus
-- cluster the workers check the reader's own rights on the table's shards,
-- and the function's query reaches them as engage_owner.
--@include 75_notes.sql note_index
COMMENT ON FUNCTION @extschema@.note_index() IS
'For administrators: the rows of engage.meeting_note_index (which reads them), read with the owner''s rights.';

CREATE VIEW @extschema@.meeting_note_index
WITH (security_barrier = true) AS
SELECT n.note_id, n.student_id, n.author_id, n.met_on, n.focus, n.recorded_at
FROM @extschema@.note_index() AS n;
REVOKE ALL ON FUNCTION @extschema@.note_index() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.note_index() TO engage_admin;
ALTER FUNCTION @extschema@.note_index() OWNER TO engage_owner;
COMMENT ON VIEW @extschema@.meeting_note_index IS
'For administrators: every meeting note''s id, student, author, day and focus, without its text.';
COMMENT ON COLUMN @extschema@.meeting_note_index.note_id IS 'The note.';
COMMENT ON COLUMN @extschema@.meeting_note_index.student_id IS 'The tutee the meeting was with.';
COMMENT ON COLUMN @extschema@.meeting_note_index.author_id IS 'staff_id or student_id of the author.';
COMMENT ON COLUMN @extschema@.meeting_note_index.met_on IS 'Day of the meeting.';
COMMENT ON COLUMN @extschema@.meeting_note_index.focus IS 'routine or issue.';
COMMENT ON COLUMN @extschema@.meeting_note_index.recorded_at IS 'When the note was recorded.';
REVOKE ALL ON @extschema@.meeting_note_index FROM PUBLIC;
GRANT SELECT ON @extschema@.meeting_note_index TO engage_admin;

-- Notes have a size and a rate limit
CREATE INDEX ON @extschema@.meeting_note (author_id, recorded_at);
--@replace 75_notes.sql record_meeting_note
COMMENT ON FUNCTION @extschema@.record_meeting_note(text, date, text, text, jsonb, text) IS
'Records a meeting note about a student, written by the viewer, who must be the student or their current tutor. focus is routine or names the issue (at most 200 characters); discussed at most 20000 characters, summary at most 5000; actions is a JSON array of at most 50 {"action", "by"}. At most 60 notes an hour by one author. Returns the note id. Notes are append-only.';

-- engage.refresh_chunk_days is gone: the refresh computes its range in one
-- statement ---------------------------------------------------------------------
DROP FUNCTION @extschema@.settings();
CREATE FUNCTION @extschema@.settings(
    OUT idle_gap interval,
    OUT credit interval,
    OUT time_zone text)
RETURNS record
AS 'MODULE_PATHNAME', 'engage_settings'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.settings() IS
'The settings in force for this session: engage.idle_gap, engage.credit and engage.time_zone.';
GRANT EXECUTE ON FUNCTION @extschema@.settings() TO PUBLIC;

-- The nightly pipeline: one pass of C per student ------------------------------
-- The refresh reads one student's attended careers events of a range of days
CREATE INDEX ON @extschema@.career_event (student_id, event_day) WHERE attended;

--@include 24_profile.sql

CREATE FUNCTION @extschema@.local_midnight(day date)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'engage_local_midnight'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.local_midnight(date) IS
'The instant a calendar day begins in the institution''s time zone (engage.time_zone): the lower bound of the instants whose engage.local_day is that day.';

-- The week of the cohort figures, by date arithmetic alone.
CREATE FUNCTION @extschema@.week_start(day date)
RETURNS date
AS 'MODULE_PATHNAME', 'engage_week_start'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.week_start(date) IS
'The Monday of the ISO week (Monday to Sunday) a day is in: the week of engage.cohort_week. Infinite days give themselves.';

GRANT EXECUTE ON FUNCTION
    @extschema@.week_start(date),
    @extschema@.daily_profile("char", timestamptz, text, date, date, double precision, double precision, double precision, date, date),
    @extschema@.daily_profile_trans(internal, "char", timestamptz, text, date, date, double precision, double precision, double precision, date, date),
    @extschema@.daily_profile_final(internal), @extschema@.profile_range(date, date),
    @extschema@.local_midnight(date)
    TO PUBLIC;

-- The 7-day sums are stored beside the score.  Rows stored by 1.0 get them
-- from the stored days before them (days without a row count as zero); a
-- refresh over those days computes them again from the raw events.
ALTER TABLE @extschema@.daily_engagement
    ADD COLUMN ele_minutes_7d double precision,
    ADD COLUMN app_choices_7d integer,
    ADD COLUMN career_events_7d integer;
UPDATE @extschema@.daily_engagement AS d
SET ele_minutes_7d = w.ele, app_choices_7d = w.app, career_events_7d = w.events
FROM (SELECT de.student_id, de.module_code, de.day,
             sum(de.ele_minutes) OVER seven AS ele, sum(de.app_choices) OVER seven AS app,
             sum(de.career_events) OVER seven AS events
      FROM @extschema@.daily_engagement AS de
      WINDOW seven AS (PARTITION BY de.student_id, de.module_code ORDER BY de.day
                       RANGE BETWEEN '6 days' PRECEDING AND CURRENT ROW)) AS w
WHERE w.student_id = d.student_id AND w.day = d.day AND w.module_code IS NOT DISTINCT FROM d.module_code;
ALTER TABLE @extschema@.daily_engagement
    ALTER COLUMN ele_minutes_7d SET NOT NULL,
    ALTER COLUMN app_choices_7d SET NOT NULL,
    ALTER COLUMN career_events_7d SET NOT NULL;
COMMENT ON COLUMN @extschema@.daily_engagement.ele_minutes_7d IS 'ELE minutes over the 7 days ending on the day (days without consent count as zero).';
COMMENT ON COLUMN @extschema@.daily_engagement.app_choices_7d IS 'App choices over the 7 days ending on the day.';
COMMENT ON COLUMN @extschema@.daily_engagement.career_events_7d IS 'Careers events attended over the 7 days ending on the day.';

CREATE OR REPLACE VIEW @extschema@.dashboard_engagement
WITH (security_invoker = true) AS
SELECT d.student_id, d.module_code, coalesce(m.title, 'All modules') AS module_title, d.day,
       d.ele_minutes, d.app_choices, d.career_events, d.score,
       d.ele_minutes_7d, d.app_choices_7d, d.career_events_7d
FROM @extschema@.daily_engagement AS d
LEFT JOIN @extschema@.module AS m ON m.module_code = d.module_code;
COMMENT ON COLUMN @extschema@.dashboard_engagement.ele_minutes_7d IS 'ELE minutes over the 7 days ending on the day.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.app_choices_7d IS 'App choices over the 7 days ending on the day.';
COMMENT ON COLUMN @extschema@.dashboard_engagement.career_events_7d IS 'Careers events attended over the 7 days ending on the day.';

-- daily_engagement is computed from tables that hold the foreign keys; it
-- holds none, and deleting a student or module deletes its computed rows
ALTER TABLE @extschema@.daily_engagement
    DROP CONSTRAINT daily_engagement_student_id_fkey,
    DROP CONSTRAINT daily_engagement_module_code_fkey;
--@include 60_pipeline.sql forget_computed
COMMENT ON FUNCTION @extschema@.forget_computed() IS
'Trigger function (argument: student or module, the table it is on): deletes the computed rows of engage.daily_engagement of a student or module being deleted, which foreign keys would otherwise have kept consistent.';
CREATE TRIGGER student_forget_computed AFTER DELETE ON @extschema@.student
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forget_computed('student');
CREATE TRIGGER module_forget_computed AFTER DELETE ON @extschema@.module
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forget_computed('module');
REVOKE ALL ON FUNCTION @extschema@.forget_computed() FROM PUBLIC;

-- College history: a day's weights are those of the college the student was
-- in that day --------------------------------------------------------------------
-- A student's college over time: the weights of a day are those of the
-- college the student was in on that day, so a change of college never
-- reweights earlier days.  A student who never moved has no rows: their
-- college is engage.student's.  engage.track_college records a change made
-- to engage.student from today; a loader may record one with its own date.
-- (Nothing is written when a student is added, so that a restore, which
-- loads engage.student before this table, writes nothing twice.)
CREATE TABLE @extschema@.student_college (
    student_id text NOT NULL REFERENCES @extschema@.student ON DELETE CASCADE,
    college    text NOT NULL REFERENCES @extschema@.college,
    valid_from date NOT NULL,
    valid_to   date,
    PRIMARY KEY (student_id, valid_from),
    CONSTRAINT student_college_valid_from_before_valid_to CHECK (valid_to IS NULL OR valid_from < valid_to)
);
COMMENT ON TABLE @extschema@.student_college IS 'The colleges of students who changed college, over time: from valid_from (inclusive) until valid_to (exclusive; NULL: still). A day''s weights are those of the college the student was in that day; a student with no rows has always been in the college engage.student names.';
COMMENT ON COLUMN @extschema@.student_college.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.student_college.college IS 'The college the student belonged to.';
COMMENT ON COLUMN @extschema@.student_college.valid_from IS 'First day in that college; -infinity for the college before the first change.';
COMMENT ON COLUMN @extschema@.student_college.valid_to IS 'First day no longer in it; NULL while the student is in it.';

--@include 45_colleges.sql track_college
COMMENT ON FUNCTION @extschema@.track_college() IS
'Trigger function: records a change of a student''s college in engage.student, from today, in engage.student_college.';
CREATE TRIGGER student_track_college AFTER UPDATE OF college ON @extschema@.student
    FOR EACH ROW EXECUTE FUNCTION @extschema@.track_college();

-- Spans of one student never overlap: a day has one college.
--@include 45_colleges.sql check_college_spans
COMMENT ON FUNCTION @extschema@.check_college_spans() IS
'Trigger function: refuses, with 23P01, a span of engage.student_college that overlaps another of the same student.';
CREATE TRIGGER student_college_no_overlap AFTER INSERT OR UPDATE ON @extschema@.student_college
    FOR EACH ROW EXECUTE FUNCTION @extschema@.check_college_spans();
REVOKE ALL ON FUNCTION @extschema@.track_college(), @extschema@.check_college_spans() FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.student_college', '');
ALTER TABLE @extschema@.student_college ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.student_college FORCE ROW LEVEL SECURITY;
CREATE POLICY loader_all ON @extschema@.student_college FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY admin_read ON @extschema@.student_college FOR SELECT TO engage_admin USING (true);
COMMENT ON POLICY loader_all ON @extschema@.student_college IS 'Loaders read and write every row.';
COMMENT ON POLICY admin_read ON @extschema@.student_college IS 'Administrators read every row of what they manage.';
REVOKE ALL ON @extschema@.student_college FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.student_college TO engage_loader;
GRANT SELECT ON @extschema@.student_college TO engage_admin;

-- Every student's college over time: the recorded spans of those who moved,
-- and engage.student's college from -infinity for those who never did.
CREATE VIEW @extschema@.college_spans
WITH (security_invoker = true) AS
SELECT s.student_id, coalesce(sc.college, s.college) AS college,
       coalesce(sc.valid_from, '-infinity'::date) AS valid_from, sc.valid_to
FROM @extschema@.student AS s
LEFT JOIN @extschema@.student_college AS sc ON sc.student_id = s.student_id;

COMMENT ON VIEW @extschema@.college_spans IS
'The college of every student over time: the spans of engage.student_college for students who changed college, and the college in engage.student from -infinity for those who never did. The refresh takes a day''s weights from the span covering it.';
COMMENT ON COLUMN @extschema@.college_spans.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.college_spans.college IS 'The college.';
COMMENT ON COLUMN @extschema@.college_spans.valid_from IS 'First day in the college.';
COMMENT ON COLUMN @extschema@.college_spans.valid_to IS 'First day no longer in it; NULL while the student is in it.';
REVOKE ALL ON @extschema@.college_spans FROM PUBLIC;
GRANT SELECT ON @extschema@.college_spans TO engage_loader, engage_admin;

-- The nightly run catches up by itself ------------------------------------------
-- What changed since the nightly run computed it ----------------------------------
--
-- A late load, a consent granted again, an enrolment, a change of college or
-- of coefficients changes days already stored.  Each such change marks the
-- student from the first day it changes (a day's change reaches the windows
-- of the six days after it too); the nightly run recomputes each marked
-- student from that day on, so nobody has to backfill by hand.
CREATE TABLE @extschema@.refresh_stale (
    student_id text PRIMARY KEY REFERENCES @extschema@.student ON DELETE CASCADE,
    from_day   date NOT NULL
);
COMMENT ON TABLE @extschema@.refresh_stale IS 'Students whose stored days changed since they were computed, from from_day on; written by engage.mark_stale, emptied by the nightly engage.refresh().';
COMMENT ON COLUMN @extschema@.refresh_stale.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.refresh_stale.from_day IS 'The first day whose stored figures may be out of date.';
-- Not registered for pg_dump: loading a dump inserts the events again, and
-- that marks the restored students again (the first nightly run after a
-- restore recomputes their stored days).
ALTER TABLE @extschema@.refresh_stale ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.refresh_stale FORCE ROW LEVEL SECURITY;
CREATE POLICY loader_all ON @extschema@.refresh_stale FOR ALL TO engage_loader USING (true) WITH CHECK (true);

-- Runs with the owner's rights, so that whoever makes the change (a loader,
-- an administrator changing coefficients, a student granting consent
-- through engage.set_consent) marks it; the rows changed come in the
-- statement's transition table "changed".  Only days before today are
-- marked: today's are computed by the run after it.
--@include 60_pipeline.sql mark_stale
COMMENT ON FUNCTION @extschema@.mark_stale() IS
'Trigger function (statement level, transition table "changed", argument: the table it is on): marks in engage.refresh_stale each student whose stored days a change of events, consent granted, enrolment, college or coefficients makes out of date, from the first day it changes.';

CREATE TRIGGER ele_event_mark_new AFTER INSERT ON @extschema@.ele_event
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('ele_event');
CREATE TRIGGER ele_event_mark_gone AFTER DELETE ON @extschema@.ele_event
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('ele_event');
CREATE TRIGGER app_event_mark_new AFTER INSERT ON @extschema@.app_event
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('app_event');
CREATE TRIGGER app_event_mark_gone AFTER DELETE ON @extschema@.app_event
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('app_event');
CREATE TRIGGER career_event_mark_new AFTER INSERT ON @extschema@.career_event
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('career_event');
CREATE TRIGGER career_event_mark_changed AFTER UPDATE ON @extschema@.career_event
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('career_event');
CREATE TRIGGER career_event_mark_gone AFTER DELETE ON @extschema@.career_event
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('career_event');
CREATE TRIGGER consent_mark_new AFTER INSERT ON @extschema@.consent
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('consent');
CREATE TRIGGER enrolment_mark_new AFTER INSERT ON @extschema@.enrolment
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('enrolment');
CREATE TRIGGER enrolment_mark_gone AFTER DELETE ON @extschema@.enrolment
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('enrolment');
CREATE TRIGGER student_college_mark_new AFTER INSERT ON @extschema@.student_college
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('student_college');
CREATE TRIGGER student_college_mark_changed AFTER UPDATE ON @extschema@.student_college
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('student_college');
CREATE TRIGGER coefficients_mark_new AFTER INSERT ON @extschema@.coefficients
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('coefficients');
CREATE TRIGGER coefficients_mark_changed AFTER UPDATE ON @extschema@.coefficients
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('coefficients');
CREATE TRIGGER coefficients_mark_gone AFTER DELETE ON @extschema@.coefficients
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.mark_stale('coefficients');
REVOKE ALL ON FUNCTION @extschema@.mark_stale() FROM PUBLIC;
ALTER FUNCTION @extschema@.mark_stale() OWNER TO engage_owner;
COMMENT ON POLICY loader_all ON @extschema@.refresh_stale IS 'Loaders read and write every row.';
REVOKE ALL ON @extschema@.refresh_stale FROM PUBLIC;
GRANT SELECT, INSERT, DELETE ON @extschema@.refresh_stale TO engage_loader;
GRANT SELECT, INSERT, UPDATE ON @extschema@.refresh_stale TO engage_owner;
GRANT SELECT ON @extschema@.student_college, @extschema@.college_spans TO engage_owner;
-- added without a stored default value, as a fresh install has none
ALTER TABLE @extschema@.refresh_run ADD COLUMN students_caught_up integer;
UPDATE @extschema@.refresh_run SET students_caught_up = 0;
ALTER TABLE @extschema@.refresh_run ALTER COLUMN students_caught_up SET DEFAULT 0,
                                    ALTER COLUMN students_caught_up SET NOT NULL;
COMMENT ON COLUMN @extschema@.refresh_run.students_caught_up IS 'Students the nightly run recomputed from an earlier day because their data changed (engage.refresh_stale).';

--@include 76_note_removal.sql

REVOKE ALL ON @extschema@.note_removal_request, @extschema@.note_removal_queue FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.request_note_removal(bigint, text),
                       @extschema@.decide_note_removal(bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.request_note_removal(bigint, text) TO engage_app, engage_tutor, engage_student;
GRANT EXECUTE ON FUNCTION @extschema@.decide_note_removal(bigint, boolean, text) TO engage_admin;
GRANT SELECT ON @extschema@.note_removal_queue, @extschema@.note_removal_request TO engage_admin;
ALTER FUNCTION @extschema@.request_note_removal(bigint, text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.decide_note_removal(bigint, boolean, text) OWNER TO engage_owner;
REVOKE ALL ON FUNCTION @extschema@.pending_note_removals() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.pending_note_removals() TO engage_admin;
ALTER FUNCTION @extschema@.pending_note_removals() OWNER TO engage_owner;
ALTER VIEW @extschema@.note_removal_queue OWNER TO engage_owner;
GRANT SELECT, INSERT, UPDATE ON @extschema@.note_removal_request TO engage_owner;
COMMENT ON POLICY admin_read ON @extschema@.note_removal_request IS 'Administrators read every row of what they manage.';

-- The tutee list shows the viewer's students, even to an administrator ------
CREATE OR REPLACE VIEW @extschema@.my_students
WITH (security_invoker = true) AS
WITH today AS (
    SELECT @extschema@.today() AS day,
           @extschema@.local_midnight(@extschema@.today() - 28) AS four_weeks_ago,
           (SELECT y.starts FROM @extschema@.academic_year AS y
            WHERE @extschema@.today() BETWEEN y.starts AND y.ends) AS year_starts,
           (SELECT @extschema@.visible_students()) AS visible,
           (SELECT @extschema@.consenting_students()) AS consenting
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
       coalesce(att.last_three_absent, false) AS flag_absences
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
           (SELECT avg(p.score) FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = s.student_id AND p.module_code IS NULL
              AND p.day BETWEEN d.day - 28 AND d.day - 1) AS mean_4wk,
           d.ele_minutes_7d
    FROM @extschema@.daily_engagement AS d
    WHERE d.student_id = s.student_id AND d.module_code IS NULL AND d.day < t.day
    ORDER BY d.day DESC LIMIT 1
) AS eng ON true
WHERE s.student_id = ANY (t.visible);

-- The arithmetic of the cohort figures, new in 1.1 ---------------------------------

--@include 64_cohort_arithmetic.sql
GRANT EXECUTE ON FUNCTION
    @extschema@.stable_avg(double precision),
    @extschema@.stable_avg_trans(internal, double precision), @extschema@.stable_avg_final(internal),
    @extschema@.stable_avg_combine(internal, internal),
    @extschema@.stable_avg_serialize(internal), @extschema@.stable_avg_deserialize(bytea, internal),
    @extschema@.stable_median(double precision), @extschema@.stable_median_final(internal),
    @extschema@.symmetric_difference_size(text[], text[]), @extschema@.byte_sorted(text[])
    TO PUBLIC;

-- The refresh holds back consent decisions on every node -----------------------
-- The lock consent decisions wait on: every decision is recorded holding
-- it shared (engage.stamp_consent), and engage.refresh takes it whole before
-- it purges withdrawn consent.  (The key is 'engage' in ASCII; an advisory
-- lock needs no privilege on consent.)  Declared STABLE, though it takes a
-- lock, so that a query's condition that calls it is evaluated once, before
-- any row: on a Citus cluster the refresh calls it in a query of every shard,
-- which takes it on every worker, empty shards too.
--@include 60_pipeline.sql hold_consent_decisions
COMMENT ON FUNCTION @extschema@.hold_consent_decisions() IS
'For engage.refresh: holds back consent decisions until this transaction ends (the lock they are recorded under), and returns true.';
REVOKE ALL ON FUNCTION @extschema@.hold_consent_decisions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.hold_consent_decisions() TO engage_loader;

-- The nightly computation as in a fresh install ------------------------------------
--@replace 60_pipeline.sql refresh

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
ALTER VIEW @extschema@.cohort_engagement OWNER TO engage_owner;
ALTER VIEW @extschema@.meeting_note_index OWNER TO engage_owner;
GRANT USAGE ON SCHEMA @extschema@ TO engage_owner;
GRANT SELECT ON @extschema@.student, @extschema@.staff, @extschema@.tutoring, @extschema@.consent,
                @extschema@.consent_latest, @extschema@.academic_year, @extschema@.exam_period,
                @extschema@.meeting_note, @extschema@.cohort_week
    TO engage_owner;
GRANT INSERT ON @extschema@.consent, @extschema@.meeting_note, @extschema@.meeting_note_removal TO engage_owner;
GRANT DELETE ON @extschema@.meeting_note TO engage_owner;
GRANT EXECUTE ON FUNCTION @extschema@.app_viewer(), @extschema@.session_is_app() TO engage_owner;

COMMENT ON PROCEDURE @extschema@.refresh(date, date) IS
'The nightly computation: recomputes engage.daily_engagement for every consenting student, per enrolled module and overall, for each day from from_day to to_day (both default to yesterday in engage.time_zone; called without arguments it also recomputes the students engage.refresh_stale marks, from their first changed day), removes the rows of withdrawn consent, recomputes the cohort figures of the weeks it touched, and records the run in engage.refresh_run. Idempotent.';

-- Weights from the data: ordinal logistic regression, then the grants that
-- 95_grants.sql makes for it in a fresh install --------------------------------
--@include 85_ordinal_fit.sql
GRANT SELECT ON @extschema@.college, @extschema@.enrolment, @extschema@.assessment_mark, @extschema@.ele_event,
                @extschema@.app_event, @extschema@.career_event
    TO engage_owner;
GRANT SELECT, INSERT, UPDATE ON @extschema@.coefficients TO engage_owner;

REVOKE ALL ON FUNCTION
    @extschema@.ordinal_fit(integer, double precision[]),
    @extschema@.ordinal_fit(integer, double precision[], double precision),
    @extschema@.ordinal_fit_trans(internal, integer, double precision[]),
    @extschema@.ordinal_fit_trans(internal, integer, double precision[], double precision),
    @extschema@.ordinal_fit_final(internal), @extschema@.ordinal_fit_combine(internal, internal),
    @extschema@.ordinal_fit_serialize(internal), @extschema@.ordinal_fit_deserialize(bytea, internal),
    @extschema@.ordinal_predict(@extschema@.ordinal_model, double precision[])
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    @extschema@.ordinal_fit(integer, double precision[]),
    @extschema@.ordinal_fit(integer, double precision[], double precision),
    @extschema@.ordinal_fit_trans(internal, integer, double precision[]),
    @extschema@.ordinal_fit_trans(internal, integer, double precision[], double precision),
    @extschema@.ordinal_fit_final(internal), @extschema@.ordinal_fit_combine(internal, internal),
    @extschema@.ordinal_fit_serialize(internal), @extschema@.ordinal_fit_deserialize(bytea, internal),
    @extschema@.ordinal_predict(@extschema@.ordinal_model, double precision[])
    TO PUBLIC;

-- The tutor's screen: grades beside engagement, alerts with a history, one call per dashboard ---
--
-- The tutee list gains the mean mark and a programme position (columns
-- appended); engage.alert, engage.refresh_alerts, engage.dashboard_alerts,
-- engage.dashboard and engage.my_students_json are new (the install parts with
-- engage.my_students, and 87_tutor_screen.sql).
-- The UK classification band of a mark: one home for the grades tab and the
-- tutee list's mean mark.
--@include 80_dashboard.sql mark_class
COMMENT ON FUNCTION @extschema@.mark_class(numeric) IS
'The UK classification band of a mark out of 100: First (70+), Upper second (2:1), Lower second (2:2), Third (40-49) or Fail (under 40); NULL for NULL.';

-- the tutee list's programme position reads each programme's latest
-- published week (engage.programme_positions)
CREATE INDEX cohort_week_programme
    ON @extschema@.cohort_week (college, programme, week) WHERE module_code IS NULL;

-- Where each consenting student the viewer may see stands in their
-- programme, as a band: their mean daily score in the latest week whose
-- programme-wide cohort figures were published (engage.cohort_week: at least
-- 5 consenting students, and no group that differs from another by 1 to 4),
-- against that week's median.  It reads the cohort with the owner's rights
-- and returns only the band, so that no viewer reads a cohort's figures, nor
-- probes them with scores of their own choosing.  One call answers for all
-- of the viewer's students, so a tutee list costs one call.
--@include 80_dashboard.sql programme_positions
COMMENT ON FUNCTION @extschema@.programme_positions() IS
'For each consenting student the viewer may see: the latest week with published programme-wide cohort figures, and whether the student''s mean daily score that week was in the upper half, the lower half or at the median of their programme. No row for anyone else, or where nothing is published.';

--@replace 80_dashboard.sql my_students

COMMENT ON COLUMN @extschema@.my_students.mean_mark IS 'Provisional mean of this academic year''s marks, to one decimal. NULL without consent, during an exam period, or without marks.';
COMMENT ON COLUMN @extschema@.my_students.mark_band IS 'Classification band of mean_mark (engage.mark_class).';
COMMENT ON COLUMN @extschema@.my_students.marks IS 'Number of marks behind mean_mark.';
COMMENT ON COLUMN @extschema@.my_students.programme_week IS 'Monday of the week programme_position is about: the latest with published programme-wide cohort figures. NULL without consent or where the cohort is too small to publish.';
COMMENT ON COLUMN @extschema@.my_students.programme_position IS 'upper half, lower half or median: the student''s mean daily score in programme_week against the median of their programme''s consenting students (engage.programme_positions).';

--@replace 80_dashboard.sql dashboard_grades

-- The tutor's screen, then its grants -----------------------------------------
--@include 87_tutor_screen.sql
REVOKE ALL ON FUNCTION @extschema@.programme_positions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.programme_positions() TO engage_app, engage_tutor, engage_student;
ALTER FUNCTION @extschema@.programme_positions() OWNER TO engage_owner;
GRANT SELECT ON @extschema@.daily_engagement TO engage_owner;
REVOKE ALL ON FUNCTION @extschema@.mark_class(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.mark_class(numeric) TO PUBLIC;
COMMENT ON POLICY viewer_read ON @extschema@.alert IS 'Tutors, students and the web front end read the rows of students they may see (see docs/security.md).';
COMMENT ON POLICY loader_all ON @extschema@.alert IS 'Loaders read and write every row.';

-- The loading path (COPY into staging tables, engage.load, rejects), then
-- what sql/install/95_grants.sql does for every object ------------------------
--@include 85_loading.sql

GRANT SELECT, INSERT ON @extschema@.college, @extschema@.module, @extschema@.staff, @extschema@.student,
                        @extschema@.tutoring, @extschema@.consent, @extschema@.enrolment, @extschema@.ele_event,
                        @extschema@.app_event, @extschema@.career_event, @extschema@.attendance,
                        @extschema@.assessment_mark, @extschema@.employability
    TO engage_owner;
REVOKE ALL ON FUNCTION @extschema@.input_valid(text, regtype, integer), @extschema@.stage_line() FROM PUBLIC;
COMMENT ON POLICY loader_own ON @extschema@.load_run IS 'Loaders read the runs and rejects of their own login.';
COMMENT ON POLICY loader_own ON @extschema@.load_reject IS 'Loaders read the runs and rejects of their own login.';

-- Beyond one server: triggers that take their rule from their argument, not
-- from the table's name (a Citus shard has another), and read and write
-- where the node keeps the rows -----------------------------------------------
-- Student and staff ids share one namespace, and so do their login roles:
-- an id or login must name exactly one person.  The trigger's argument says
-- which table it guards (on a Citus node the table is a copy with another
-- name), and the other table is read where this node keeps it.
--@replace 30_identity.sql check_person_identity
COMMENT ON FUNCTION @extschema@.check_person_identity() IS
'Trigger function (argument: student or staff, the table it guards): keeps student and staff ids, and their login roles, distinct from each other.';

--@replace 30_identity.sql visible_students

--@replace 30_identity.sql consenting_students
DROP TRIGGER student_identity ON @extschema@.student;
DROP TRIGGER staff_identity ON @extschema@.staff;
CREATE TRIGGER student_identity BEFORE INSERT OR UPDATE OF student_id, login_role
    ON @extschema@.student FOR EACH ROW EXECUTE FUNCTION @extschema@.check_person_identity('student');
CREATE TRIGGER staff_identity BEFORE INSERT OR UPDATE OF staff_id, login_role
    ON @extschema@.staff FOR EACH ROW EXECUTE FUNCTION @extschema@.check_person_identity('staff');

-- Beyond one server: Citus, then its grants -----------------------------------
--@include 90_citus.sql
REVOKE ALL ON FUNCTION @extschema@.here(regclass, text), @extschema@.local_shards(regclass),
                       @extschema@.node_rows(regclass), @extschema@.node_students(text),
                       @extschema@.node_students_compute(text), @extschema@.distributed() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.here(regclass, text), @extschema@.local_shards(regclass),
                          @extschema@.node_rows(regclass), @extschema@.distributed() TO PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.refresh_on_workers(date, date, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.refresh_on_workers(date, date, text[]) TO engage_loader;
REVOKE ALL ON FUNCTION @extschema@.programme_positions_cluster() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.node_students(text), @extschema@.node_students_compute(text),
                          @extschema@.programme_positions_cluster()
    TO engage_app, engage_tutor, engage_student;
ALTER FUNCTION @extschema@.node_students_compute(text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.programme_positions_cluster() OWNER TO engage_owner;
GRANT EXECUTE ON FUNCTION @extschema@.node_students(text), @extschema@.node_students_compute(text) TO engage_owner;
REVOKE ALL ON @extschema@.my_students_cluster FROM PUBLIC;
GRANT SELECT ON @extschema@.my_students_cluster TO engage_app, engage_tutor, engage_student;
REVOKE ALL ON PROCEDURE @extschema@.distribute() FROM PUBLIC;

-- daily_engagement partitioned by academic year -------------------------------
--
-- The stored rows move into a partition per academic year, indexed once
-- they are there, and the views that read the table are bound to the new
-- one.  The partitions are the refresh's, as in a fresh install, not the
-- extension's.
--@include 60_pipeline.sql open_years
COMMENT ON FUNCTION @extschema@.open_years(date, date) IS
'For engage.refresh: gives each academic year from first_day to last_day without a partition of engage.daily_engagement one, empty and without indexes, and returns them (engage.index_years indexes them once their rows are written).';
--@include 60_pipeline.sql index_years
COMMENT ON FUNCTION @extschema@.index_years() IS
'For engage.refresh: builds the indexes (the key student, day, module; and day) of the partitions of engage.daily_engagement that have none (made by engage.open_years), once their rows are written, and analyzes them.';
REVOKE ALL ON FUNCTION @extschema@.open_years(date, date), @extschema@.index_years() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_years(date, date), @extschema@.index_years() TO engage_loader;

DO $$
DECLARE
    outside record;
BEGIN
    SELECT d.day INTO outside FROM @extschema@.daily_engagement AS d
    WHERE NOT EXISTS (SELECT FROM @extschema@.academic_year AS y WHERE d.day BETWEEN y.starts AND y.ends)
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'engage.daily_engagement holds days outside every academic year, such as %',
                        to_char(outside.day, 'YYYY-MM-DD')
            USING ERRCODE = '55000',
                  HINT = 'Add the academic year to engage.academic_year, or delete those rows, before updating.';
    END IF;
END
$$;
-- (out of the extension, and so out of the tables pg_dump dumps for it)
ALTER TABLE @extschema@.daily_engagement RENAME TO daily_engagement_1_0;
ALTER EXTENSION engage DROP TABLE @extschema@.daily_engagement_1_0;
--@include 60_pipeline.sql daily_engagement
ALTER TABLE @extschema@.daily_engagement ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.daily_engagement FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.daily_engagement FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.consenting_students())::text[]));
CREATE POLICY loader_all ON @extschema@.daily_engagement FOR ALL TO engage_loader USING (true) WITH CHECK (true);
-- the comments and grants of the table it replaces
DO $$
DECLARE
    old regclass := '@extschema@.daily_engagement_1_0';
    c record;
BEGIN
    EXECUTE format('COMMENT ON TABLE @extschema@.daily_engagement IS %L', obj_description(old, 'pg_class'));
    FOR c IN SELECT a.attname, col_description(a.attrelid, a.attnum) AS comment
             FROM pg_catalog.pg_attribute AS a
             WHERE a.attrelid = old AND a.attnum > 0 AND NOT a.attisdropped LOOP
        EXECUTE format('COMMENT ON COLUMN @extschema@.daily_engagement.%I IS %L', c.attname, c.comment);
    END LOOP;
    FOR c IN SELECT p.polname, obj_description(p.oid, 'pg_policy') AS comment
             FROM pg_catalog.pg_policy AS p WHERE p.polrelid = old LOOP
        EXECUTE format('COMMENT ON POLICY %I ON @extschema@.daily_engagement IS %L', c.polname, c.comment);
    END LOOP;
    -- in the order they were granted
    FOR c IN SELECT g.grantee::regrole AS grantee, string_agg(g.privilege_type, ', ') AS privileges
             FROM pg_catalog.pg_class AS t, pg_catalog.aclexplode(t.relacl) WITH ORDINALITY AS g
             WHERE t.oid = old AND g.grantee <> t.relowner
             GROUP BY 1 ORDER BY min(g.ordinality) LOOP
        EXECUTE format('GRANT %s ON @extschema@.daily_engagement TO %s', c.privileges, c.grantee);
    END LOOP;
END
$$;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.daily_engagement', '');
DO $$
DECLARE
    part regclass;
BEGIN
    FOREACH part IN ARRAY @extschema@.open_years((SELECT min(d.day) FROM @extschema@.daily_engagement_1_0 AS d),
                                                 (SELECT max(d.day) FROM @extschema@.daily_engagement_1_0 AS d)) LOOP
        EXECUTE format('ALTER EXTENSION engage DROP TABLE %s', part);
    END LOOP;
    INSERT INTO @extschema@.daily_engagement SELECT * FROM @extschema@.daily_engagement_1_0;
    PERFORM @extschema@.index_years();
END
$$;
--@replace 80_dashboard.sql my_students
--@replace 80_dashboard.sql dashboard_engagement
--@replace 90_citus.sql my_students_cluster
DROP TABLE @extschema@.daily_engagement_1_0;
