-- Canonical tables ----------------------------------------------------------
--
-- Loaded by the warehouse ETL.  Every row about a person carries student_id,
-- so that row-level security can scope it.  Every table is registered with
-- pg_extension_config_dump so that pg_dump keeps its rows.

CREATE TABLE @extschema@.college (
    code text PRIMARY KEY
        CONSTRAINT college_code_format CHECK (code ~ '^[A-Z][A-Z0-9]{1,9}$'),
    name text NOT NULL CONSTRAINT college_name_not_blank CHECK (btrim(name) <> '')
);
COMMENT ON TABLE @extschema@.college IS 'Colleges (faculties) of the university, such as CLES or HUMS.';
COMMENT ON COLUMN @extschema@.college.code IS 'Short upper-case code, 2 to 10 letters or digits.';
COMMENT ON COLUMN @extschema@.college.name IS 'Full name.';

CREATE TABLE @extschema@.academic_year (
    label  text PRIMARY KEY
        CONSTRAINT academic_year_label_format CHECK (label ~ '^[0-9]{4}/[0-9]{2}$'),
    starts date NOT NULL,
    ends   date NOT NULL,
    CONSTRAINT academic_year_label_consecutive
        CHECK (((substr(label, 1, 4)::integer + 1) % 100) = substr(label, 6, 2)::integer),
    CONSTRAINT academic_year_starts_before_ends CHECK (starts < ends),
    CONSTRAINT academic_year_no_overlap
        EXCLUDE USING gist (daterange(starts, ends, '[]') WITH OPERATOR(pg_catalog.&&))
);
COMMENT ON TABLE @extschema@.academic_year IS 'Academic years; a day belongs to the year whose starts..ends (both inclusive) contains it. Years never overlap.';
COMMENT ON COLUMN @extschema@.academic_year.label IS 'Label such as 2019/20.';
COMMENT ON COLUMN @extschema@.academic_year.starts IS 'First day of the year.';
COMMENT ON COLUMN @extschema@.academic_year.ends IS 'Last day of the year (inclusive).';

CREATE TABLE @extschema@.coefficients (
    college       text NOT NULL REFERENCES @extschema@.college,
    academic_year text NOT NULL REFERENCES @extschema@.academic_year,
    ele           double precision NOT NULL,
    app           double precision NOT NULL,
    events        double precision NOT NULL,
    PRIMARY KEY (college, academic_year),
    CONSTRAINT coefficients_finite CHECK (
        ele  > '-Infinity' AND ele  < 'Infinity' AND
        app  > '-Infinity' AND app  < 'Infinity' AND
        events > '-Infinity' AND events < 'Infinity')
);
COMMENT ON TABLE @extschema@.coefficients IS 'Weights of the engagement score per college and academic year.';
COMMENT ON COLUMN @extschema@.coefficients.college IS 'College the weights apply to.';
COMMENT ON COLUMN @extschema@.coefficients.academic_year IS 'Academic year the weights apply to.';
COMMENT ON COLUMN @extschema@.coefficients.ele IS 'Weight of the 7-day mean of ELE minutes.';
COMMENT ON COLUMN @extschema@.coefficients.app IS 'Weight of the 7-day mean of app choices.';
COMMENT ON COLUMN @extschema@.coefficients.events IS 'Weight of the 7-day mean of attended career events.';

CREATE TABLE @extschema@.student (
    student_id    text PRIMARY KEY
        CONSTRAINT student_id_format CHECK (student_id ~ '^[A-Za-z0-9_-]{1,32}$'),
    full_name     text NOT NULL CONSTRAINT student_full_name_not_blank CHECK (btrim(full_name) <> ''),
    college       text NOT NULL REFERENCES @extschema@.college,
    programme     text NOT NULL CONSTRAINT student_programme_not_blank CHECK (btrim(programme) <> ''),
    year_of_study integer NOT NULL CONSTRAINT student_year_of_study_range CHECK (year_of_study BETWEEN 1 AND 8),
    login_role    name UNIQUE
);
CREATE INDEX ON @extschema@.student (college);
ALTER TABLE @extschema@.student ALTER COLUMN full_name SET STATISTICS 0;
COMMENT ON TABLE @extschema@.student IS 'Students.';
COMMENT ON COLUMN @extschema@.student.full_name IS 'Name as shown on the dashboard.';
COMMENT ON COLUMN @extschema@.student.college IS 'College of the student''s programme.';
COMMENT ON COLUMN @extschema@.student.student_id IS 'University student number.';
COMMENT ON COLUMN @extschema@.student.programme IS 'Programme of study, such as BSc Biosciences.';
COMMENT ON COLUMN @extschema@.student.year_of_study IS 'Year of study, 1 to 8.';
COMMENT ON COLUMN @extschema@.student.login_role IS 'Database role the student logs in with, if any.';

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

CREATE FUNCTION @extschema@.track_college()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    today date := @extschema@.today();
BEGIN
    IF NEW.college IS NOT DISTINCT FROM OLD.college THEN
        RETURN NULL;
    END IF;
    -- a first change: the old college has been the student's all along
    IF NOT EXISTS (SELECT FROM @extschema@.student_college AS sc WHERE sc.student_id = NEW.student_id) THEN
        INSERT INTO @extschema@.student_college VALUES (NEW.student_id, OLD.college, '-infinity', NULL);
    END IF;
    -- a second change on the day a span began corrects that span
    UPDATE @extschema@.student_college AS sc SET college = NEW.college
    WHERE sc.student_id = NEW.student_id AND sc.valid_to IS NULL AND sc.valid_from = today;
    IF NOT FOUND THEN
        UPDATE @extschema@.student_college AS sc SET valid_to = today
        WHERE sc.student_id = NEW.student_id AND sc.valid_to IS NULL;
        INSERT INTO @extschema@.student_college VALUES (NEW.student_id, NEW.college, today, NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.track_college() IS
'Trigger function: records a change of a student''s college in engage.student, from today, in engage.student_college.';
CREATE TRIGGER student_track_college AFTER UPDATE OF college ON @extschema@.student
    FOR EACH ROW EXECUTE FUNCTION @extschema@.track_college();

-- Spans of one student never overlap: a day has one college.
CREATE FUNCTION @extschema@.check_college_spans()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT FROM @extschema@.student_college AS o
               WHERE o.student_id = NEW.student_id AND o.valid_from <> NEW.valid_from
                 AND pg_catalog.daterange(o.valid_from, o.valid_to) OPERATOR(pg_catalog.&&)
                     pg_catalog.daterange(NEW.valid_from, NEW.valid_to)) THEN
        RAISE EXCEPTION 'college spans of student % overlap', NEW.student_id
            USING ERRCODE = '23P01',
                  DETAIL = pg_catalog.format('The span from %s overlaps another.', NEW.valid_from),
                  HINT = 'Close the open span (set its valid_to) before opening the next.';
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.check_college_spans() IS
'Trigger function: refuses, with 23P01, a span of engage.student_college that overlaps another of the same student.';
CREATE TRIGGER student_college_no_overlap AFTER INSERT OR UPDATE ON @extschema@.student_college
    FOR EACH ROW EXECUTE FUNCTION @extschema@.check_college_spans();

CREATE TABLE @extschema@.staff (
    staff_id   text PRIMARY KEY
        CONSTRAINT staff_id_format CHECK (staff_id ~ '^[A-Za-z0-9_-]{1,32}$'),
    full_name  text NOT NULL CONSTRAINT staff_full_name_not_blank CHECK (btrim(full_name) <> ''),
    login_role name UNIQUE
);
COMMENT ON TABLE @extschema@.staff IS 'Staff: personal tutors and administrators.';
COMMENT ON COLUMN @extschema@.staff.staff_id IS 'University staff number.';
COMMENT ON COLUMN @extschema@.staff.full_name IS 'Name as shown on the dashboard.';
COMMENT ON COLUMN @extschema@.staff.login_role IS 'Database role the member of staff logs in with, if any.';

CREATE TABLE @extschema@.tutoring (
    tutor_id   text NOT NULL REFERENCES @extschema@.staff,
    student_id text NOT NULL REFERENCES @extschema@.student,
    valid_from date NOT NULL,
    valid_to   date,
    PRIMARY KEY (student_id, tutor_id, valid_from),
    CONSTRAINT tutoring_valid_from_before_valid_to CHECK (valid_to IS NULL OR valid_from < valid_to)
);
CREATE INDEX ON @extschema@.tutoring (tutor_id, student_id);
COMMENT ON TABLE @extschema@.tutoring IS 'Personal tutoring: the tutor of a student from valid_from (inclusive) until valid_to (exclusive); valid_to NULL means open.';
COMMENT ON COLUMN @extschema@.tutoring.tutor_id IS 'The personal tutor (engage.staff).';
COMMENT ON COLUMN @extschema@.tutoring.student_id IS 'The tutee.';
COMMENT ON COLUMN @extschema@.tutoring.valid_from IS 'First day of the tutoring.';
COMMENT ON COLUMN @extschema@.tutoring.valid_to IS 'Day the tutoring ended (exclusive); NULL while it goes on.';

CREATE TABLE @extschema@.consent (
    consent_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id    text NOT NULL REFERENCES @extschema@.student,
    academic_year text NOT NULL REFERENCES @extschema@.academic_year,
    granted       boolean NOT NULL,
    recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    recorded_by   text NOT NULL DEFAULT CURRENT_USER
);
CREATE INDEX ON @extschema@.consent (student_id, academic_year, consent_id DESC);
COMMENT ON TABLE @extschema@.consent IS 'Consent to learning analytics, per student and academic year: an append-only history; the last record in order of recording (consent_id) is in force; no record means not granted.';
COMMENT ON COLUMN @extschema@.consent.consent_id IS 'Order of recording: the last record is in force.';
COMMENT ON COLUMN @extschema@.consent.student_id IS 'The student the decision is about.';
COMMENT ON COLUMN @extschema@.consent.academic_year IS 'The academic year the decision is for.';
COMMENT ON COLUMN @extschema@.consent.recorded_at IS 'When the decision was made, as recorded (informative: the order of recording decides).';
COMMENT ON COLUMN @extschema@.consent.granted IS 'true: consent granted; false: refused or withdrawn.';
COMMENT ON COLUMN @extschema@.consent.recorded_by IS 'Who recorded the decision: the student, or the administrator acting for them.';

CREATE FUNCTION @extschema@.forbid_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = '55000',
              DETAIL = format('%s on %I.%I was refused.', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME),
              HINT = 'Record a new row instead; history is never rewritten.';
END
$$;
COMMENT ON FUNCTION @extschema@.forbid_change() IS 'Trigger function that refuses UPDATE, DELETE and TRUNCATE on append-only tables.';

CREATE TRIGGER consent_append_only
    BEFORE UPDATE OR DELETE ON @extschema@.consent
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forbid_change();
CREATE TRIGGER consent_no_truncate
    BEFORE TRUNCATE ON @extschema@.consent
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.forbid_change();

-- The decision in force is the one with the highest consent_id, so only the
-- database may number a decision: a loader who chose the number (OVERRIDING
-- SYSTEM VALUE) could pin consent for good, or make later set_consent calls
-- fail on a taken number.  Nor may a loader say who recorded it.  Rows
-- written by the extension's own functions (set_consent, as engage_owner),
-- or by a superuser restoring a dump, keep theirs.
CREATE FUNCTION @extschema@.stamp_consent()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- a refresh purging withdrawn consent waits for this decision, or this
    -- decision for the refresh (see engage.refresh)
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(111524855244645);
    IF NOT pg_catalog.pg_has_role(current_user, 'engage_owner', 'MEMBER') THEN
        NEW.consent_id := pg_catalog.nextval('@extschema@.consent_consent_id_seq');
        NEW.recorded_by := session_user;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.stamp_consent() IS
'Trigger function: numbers every consent decision that a loader records from the sequence, whatever number it gave, and records the loader''s login as recorded_by; and makes a refresh about to purge withdrawn consent wait for the decision.';

CREATE TRIGGER consent_stamp
    BEFORE INSERT ON @extschema@.consent
    FOR EACH ROW EXECUTE FUNCTION @extschema@.stamp_consent();

CREATE TABLE @extschema@.module (
    module_code text PRIMARY KEY
        CONSTRAINT module_code_format CHECK (module_code ~ '^[A-Za-z0-9_-]{1,32}$'),
    title       text NOT NULL CONSTRAINT module_title_not_blank CHECK (btrim(title) <> ''),
    college     text NOT NULL REFERENCES @extschema@.college
);
COMMENT ON TABLE @extschema@.module IS 'Modules (courses), each run by a college.';
COMMENT ON COLUMN @extschema@.module.module_code IS 'Module code, such as BIO1001.';
COMMENT ON COLUMN @extschema@.module.title IS 'Title of the module.';
COMMENT ON COLUMN @extschema@.module.college IS 'College that runs the module.';

CREATE TABLE @extschema@.enrolment (
    student_id    text NOT NULL REFERENCES @extschema@.student,
    module_code   text NOT NULL REFERENCES @extschema@.module,
    academic_year text NOT NULL REFERENCES @extschema@.academic_year,
    PRIMARY KEY (student_id, academic_year, module_code)
);
CREATE INDEX ON @extschema@.enrolment (module_code, academic_year);
COMMENT ON TABLE @extschema@.enrolment IS 'Which modules a student takes in an academic year.';
COMMENT ON COLUMN @extschema@.enrolment.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.enrolment.module_code IS 'The module taken.';
COMMENT ON COLUMN @extschema@.enrolment.academic_year IS 'The year the module is taken in.';

-- Page views are hash-partitioned by student: grouped by student, every
-- partition holds whole streams, so parallel workers can each aggregate
-- whole students (partitionwise aggregation) instead of handing every view
-- to one process to finish.
CREATE TABLE @extschema@.ele_event (
    student_id  text NOT NULL REFERENCES @extschema@.student,
    ts          timestamptz NOT NULL
        CONSTRAINT ele_event_ts_finite CHECK (ts > '-infinity' AND ts < 'infinity'),
    module_code text REFERENCES @extschema@.module
) PARTITION BY HASH (student_id);
DO $$
BEGIN
    FOR i IN 0 .. 7 LOOP
        EXECUTE pg_catalog.format(
            'CREATE TABLE @extschema@.ele_event_%s PARTITION OF @extschema@.ele_event
                 FOR VALUES WITH (MODULUS 8, REMAINDER %s)', i, i);
        EXECUTE pg_catalog.format(
            'COMMENT ON TABLE @extschema@.ele_event_%s IS %L', i,
            'Partition ' || i || ' of 8 of engage.ele_event (by hash of student_id); read and write engage.ele_event.');
        -- reached only through the parent, whose policies apply
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.ele_event_%s ENABLE ROW LEVEL SECURITY', i);
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.ele_event_%s FORCE ROW LEVEL SECURITY', i);
        PERFORM pg_catalog.pg_extension_config_dump(pg_catalog.format('@extschema@.ele_event_%s', i)::regclass, '');
    END LOOP;
END
$$;
CREATE INDEX ON @extschema@.ele_event (student_id, ts);
CREATE INDEX ON @extschema@.ele_event USING brin (ts);
COMMENT ON TABLE @extschema@.ele_event IS 'VLE (ELE) page views, one row per view; hash-partitioned by student_id into ele_event_0 .. ele_event_7.';
COMMENT ON COLUMN @extschema@.ele_event.student_id IS 'The student who viewed the page.';
COMMENT ON COLUMN @extschema@.ele_event.ts IS 'When the page was viewed.';
COMMENT ON COLUMN @extschema@.ele_event.module_code IS 'Module of the page; NULL for a page of no module.';

CREATE TABLE @extschema@.app_event (
    student_id text NOT NULL REFERENCES @extschema@.student,
    ts         timestamptz NOT NULL
        CONSTRAINT app_event_ts_finite CHECK (ts > '-infinity' AND ts < 'infinity'),
    menu_item  text NOT NULL CONSTRAINT app_event_menu_item_not_blank CHECK (btrim(menu_item) <> '')
);
CREATE INDEX ON @extschema@.app_event (student_id, ts);
CREATE INDEX ON @extschema@.app_event USING brin (ts);
COMMENT ON TABLE @extschema@.app_event IS 'Student-app menu choices, one row per choice.';
COMMENT ON COLUMN @extschema@.app_event.student_id IS 'The student who made the choice.';
COMMENT ON COLUMN @extschema@.app_event.ts IS 'When the choice was made.';
COMMENT ON COLUMN @extschema@.app_event.menu_item IS 'The menu item chosen, such as timetable.';

CREATE TABLE @extschema@.career_event (
    student_id text NOT NULL REFERENCES @extschema@.student,
    event_id   text NOT NULL,
    event_day  date NOT NULL
        CONSTRAINT career_event_day_finite CHECK (event_day > '-infinity' AND event_day < 'infinity'),
    attended   boolean NOT NULL,
    PRIMARY KEY (student_id, event_id)
);
CREATE INDEX ON @extschema@.career_event (event_day) WHERE attended;
COMMENT ON TABLE @extschema@.career_event IS 'Careers-service events a student registered for; only attended ones count towards engagement.';
COMMENT ON COLUMN @extschema@.career_event.student_id IS 'The student registered for the event.';
COMMENT ON COLUMN @extschema@.career_event.event_id IS 'Careers-service event identifier.';
COMMENT ON COLUMN @extschema@.career_event.event_day IS 'Day of the event.';
COMMENT ON COLUMN @extschema@.career_event.attended IS 'Whether the student attended; only attended events count.';

CREATE TABLE @extschema@.attendance (
    student_id   text NOT NULL REFERENCES @extschema@.student,
    module_code  text NOT NULL REFERENCES @extschema@.module,
    session_id   text NOT NULL,
    session_type text NOT NULL CONSTRAINT attendance_session_type_known
        CHECK (session_type IN ('lecture', 'seminar', 'tutorial', 'practical', 'clinical_skills')),
    starts_at    timestamptz NOT NULL
        CONSTRAINT attendance_starts_at_finite CHECK (starts_at > '-infinity' AND starts_at < 'infinity'),
    status       text NOT NULL CONSTRAINT attendance_status_known
        CHECK (status IN ('present', 'absent', 'authorised_absence')),
    PRIMARY KEY (student_id, session_id)
);
CREATE INDEX ON @extschema@.attendance (student_id, starts_at);
CREATE INDEX ON @extschema@.attendance (module_code, starts_at);
COMMENT ON TABLE @extschema@.attendance IS 'Attendance at centrally timetabled sessions.';
COMMENT ON COLUMN @extschema@.attendance.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.attendance.module_code IS 'Module of the session.';
COMMENT ON COLUMN @extschema@.attendance.session_id IS 'Timetabled session identifier.';
COMMENT ON COLUMN @extschema@.attendance.session_type IS 'lecture, seminar, tutorial, practical or clinical_skills.';
COMMENT ON COLUMN @extschema@.attendance.starts_at IS 'When the session starts.';
COMMENT ON COLUMN @extschema@.attendance.status IS 'present, absent or authorised_absence.';

CREATE TABLE @extschema@.assessment_mark (
    student_id  text NOT NULL REFERENCES @extschema@.student,
    module_code text NOT NULL REFERENCES @extschema@.module,
    assessment  text NOT NULL CONSTRAINT assessment_mark_assessment_not_blank CHECK (btrim(assessment) <> ''),
    kind        text NOT NULL CONSTRAINT assessment_mark_kind_known
        CHECK (kind IN ('coursework', 'exam', 'test', 'practical', 'presentation', 'dissertation')),
    mark        numeric(5,2) NOT NULL CONSTRAINT assessment_mark_range CHECK (mark BETWEEN 0 AND 100),
    provisional boolean NOT NULL DEFAULT true,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (student_id, module_code, assessment)
);
CREATE INDEX ON @extschema@.assessment_mark (module_code);
COMMENT ON TABLE @extschema@.assessment_mark IS 'Assessment marks, 0 to 100.';
COMMENT ON COLUMN @extschema@.assessment_mark.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.assessment_mark.module_code IS 'Module of the assessment.';
COMMENT ON COLUMN @extschema@.assessment_mark.assessment IS 'Name of the assessment, such as Essay 1.';
COMMENT ON COLUMN @extschema@.assessment_mark.kind IS 'coursework, exam, test, practical, presentation or dissertation.';
COMMENT ON COLUMN @extschema@.assessment_mark.mark IS 'Mark out of 100.';
COMMENT ON COLUMN @extschema@.assessment_mark.recorded_at IS 'When the mark was recorded.';
COMMENT ON COLUMN @extschema@.assessment_mark.provisional IS 'true until the mark is ratified by the exam board.';

CREATE TABLE @extschema@.exam_period (
    label  text PRIMARY KEY CONSTRAINT exam_period_label_not_blank CHECK (btrim(label) <> ''),
    starts date NOT NULL,
    ends   date NOT NULL,
    CONSTRAINT exam_period_starts_not_after_ends CHECK (starts <= ends)
);
CREATE INDEX ON @extschema@.exam_period USING gist (daterange(starts, ends, '[]'));
COMMENT ON TABLE @extschema@.exam_period IS 'Exam periods (both ends inclusive); while today is in one, marks are hidden from tutors and students.';
COMMENT ON COLUMN @extschema@.exam_period.label IS 'Name of the period, such as January 2027 exams.';
COMMENT ON COLUMN @extschema@.exam_period.starts IS 'First day of the period.';
COMMENT ON COLUMN @extschema@.exam_period.ends IS 'Last day of the period (inclusive).';

CREATE TABLE @extschema@.employability (
    student_id      text NOT NULL REFERENCES @extschema@.student,
    academic_year   text NOT NULL REFERENCES @extschema@.academic_year,
    readiness_stage text NOT NULL CONSTRAINT employability_readiness_stage_known
        CHECK (readiness_stage IN ('decide', 'plan', 'compete', 'sorted')),
    sector          text,
    work_experience boolean NOT NULL DEFAULT false,
    activities      integer NOT NULL DEFAULT 0 CONSTRAINT employability_activities_not_negative CHECK (activities >= 0),
    registered_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (student_id, academic_year)
);
COMMENT ON TABLE @extschema@.employability IS 'Careers registration of a student for an academic year.';
COMMENT ON COLUMN @extschema@.employability.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.employability.academic_year IS 'The year of the registration.';
COMMENT ON COLUMN @extschema@.employability.registered_at IS 'When the student registered their stage.';
COMMENT ON COLUMN @extschema@.employability.readiness_stage IS 'Career readiness: decide, plan, compete or sorted.';
COMMENT ON COLUMN @extschema@.employability.sector IS 'Sector of interest, if given.';
COMMENT ON COLUMN @extschema@.employability.work_experience IS 'Whether the student has had relevant work experience.';
COMMENT ON COLUMN @extschema@.employability.activities IS 'Careers activities completed this year.';

CREATE TABLE @extschema@.meeting_note (
    note_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id  text NOT NULL REFERENCES @extschema@.student,
    author_id   text NOT NULL,
    met_on      date NOT NULL,
    focus       text NOT NULL CONSTRAINT meeting_note_focus_known CHECK (focus IN ('routine', 'issue')),
    issue       text,
    discussed   text NOT NULL,
    actions     jsonb NOT NULL DEFAULT '[]'
        CONSTRAINT meeting_note_actions_array CHECK (jsonb_typeof(actions) = 'array'),
    summary     text NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT meeting_note_issue_named CHECK ((focus = 'issue') = (issue IS NOT NULL))
);
CREATE INDEX ON @extschema@.meeting_note (student_id, met_on);
CREATE INDEX ON @extschema@.meeting_note (author_id, recorded_at);
-- planner statistics are visible through EXPLAIN estimates: keep free text out
ALTER TABLE @extschema@.meeting_note ALTER COLUMN issue SET STATISTICS 0,
    ALTER COLUMN discussed SET STATISTICS 0, ALTER COLUMN summary SET STATISTICS 0,
    ALTER COLUMN actions SET STATISTICS 0;
COMMENT ON TABLE @extschema@.meeting_note IS 'Notes of personal tutoring meetings, written by the tutor or the student.';
COMMENT ON COLUMN @extschema@.meeting_note.note_id IS 'Identifier of the note.';
COMMENT ON COLUMN @extschema@.meeting_note.student_id IS 'The tutee the meeting was with.';
COMMENT ON COLUMN @extschema@.meeting_note.met_on IS 'Day of the meeting.';
COMMENT ON COLUMN @extschema@.meeting_note.summary IS 'Summary of the meeting.';
COMMENT ON COLUMN @extschema@.meeting_note.recorded_at IS 'When the note was recorded.';
COMMENT ON COLUMN @extschema@.meeting_note.author_id IS 'staff_id or student_id of the author.';
COMMENT ON COLUMN @extschema@.meeting_note.focus IS 'routine, or issue when the meeting was about a particular issue.';
COMMENT ON COLUMN @extschema@.meeting_note.issue IS 'The issue, in general terms, when focus is issue.';
COMMENT ON COLUMN @extschema@.meeting_note.discussed IS 'What was discussed, in general terms.';
COMMENT ON COLUMN @extschema@.meeting_note.actions IS 'Referrals and actions: a JSON array of {"action": ..., "by": ...}.';

-- Computed from tables that hold the foreign keys, so it holds none itself:
-- checking each of millions of written rows against student and module
-- cost the refresh more than computing them.  Deleting a student or a module
-- deletes its computed rows instead (engage.forget_computed).
CREATE TABLE @extschema@.daily_engagement (
    student_id    text NOT NULL,
    module_code   text,
    day           date NOT NULL,
    ele_minutes   double precision NOT NULL,
    app_choices   integer NOT NULL,
    career_events integer NOT NULL,
    score         double precision NOT NULL,
    ele_minutes_7d   double precision NOT NULL,
    app_choices_7d   integer NOT NULL,
    career_events_7d integer NOT NULL
);
CREATE FUNCTION @extschema@.forget_computed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME = 'student' THEN
        DELETE FROM @extschema@.daily_engagement AS d WHERE d.student_id = OLD.student_id;
    ELSE
        DELETE FROM @extschema@.daily_engagement AS d WHERE d.module_code = OLD.module_code;
    END IF;
    RETURN OLD;
END
$$;
COMMENT ON FUNCTION @extschema@.forget_computed() IS
'Trigger function: deletes the computed rows of engage.daily_engagement of a student or module being deleted, which foreign keys would otherwise have kept consistent.';
CREATE TRIGGER student_forget_computed AFTER DELETE ON @extschema@.student
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forget_computed();
CREATE TRIGGER module_forget_computed AFTER DELETE ON @extschema@.module
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forget_computed();
CREATE UNIQUE INDEX daily_engagement_key
    ON @extschema@.daily_engagement (student_id, day, (COALESCE(module_code, '')));
CREATE INDEX ON @extschema@.daily_engagement (day);
COMMENT ON TABLE @extschema@.daily_engagement IS 'Computed by engage.refresh: the engagement profile of each consenting student per module (and overall, module_code NULL) per day.';
COMMENT ON COLUMN @extschema@.daily_engagement.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.daily_engagement.day IS 'Calendar day in the institution''s time zone.';
COMMENT ON COLUMN @extschema@.daily_engagement.module_code IS 'Module, or NULL for the overall series across all modules.';
COMMENT ON COLUMN @extschema@.daily_engagement.ele_minutes IS 'ELE minutes credited on the day (to the module, or to all modules).';
COMMENT ON COLUMN @extschema@.daily_engagement.app_choices IS 'Student-app menu choices made on the day.';
COMMENT ON COLUMN @extschema@.daily_engagement.career_events IS 'Careers events attended on the day.';
COMMENT ON COLUMN @extschema@.daily_engagement.score IS 'Engagement score: the 7-day moving average of the daily points as of the day.';
COMMENT ON COLUMN @extschema@.daily_engagement.ele_minutes_7d IS 'ELE minutes over the 7 days ending on the day (days without consent count as zero).';
COMMENT ON COLUMN @extschema@.daily_engagement.app_choices_7d IS 'App choices over the 7 days ending on the day.';
COMMENT ON COLUMN @extschema@.daily_engagement.career_events_7d IS 'Careers events attended over the 7 days ending on the day.';

CREATE TABLE @extschema@.cohort_week (
    college         text NOT NULL REFERENCES @extschema@.college,
    programme       text NOT NULL,
    module_code     text REFERENCES @extschema@.module,
    week            date NOT NULL CONSTRAINT cohort_week_monday CHECK (extract(isodow FROM week) = 1),
    students        integer NOT NULL CONSTRAINT cohort_week_not_small CHECK (students >= 5),
    mean_score      double precision NOT NULL,
    median_score    double precision NOT NULL,
    attendance_rate numeric(4,1)
);
CREATE UNIQUE INDEX cohort_week_key
    ON @extschema@.cohort_week (week, college, programme, (COALESCE(module_code, '')));
COMMENT ON TABLE @extschema@.cohort_week IS 'Cohort figures for BI, written by engage.refresh for the weeks it touches: groups of at least 5 consenting students only. Read through engage.cohort_engagement.';
COMMENT ON COLUMN @extschema@.cohort_week.college IS 'College of the students.';
COMMENT ON COLUMN @extschema@.cohort_week.programme IS 'Programme of the students.';
COMMENT ON COLUMN @extschema@.cohort_week.module_code IS 'Module, or NULL for all modules.';
COMMENT ON COLUMN @extschema@.cohort_week.week IS 'Monday of the week.';
COMMENT ON COLUMN @extschema@.cohort_week.students IS 'Consenting students in the group (at least 5).';
COMMENT ON COLUMN @extschema@.cohort_week.mean_score IS 'Mean of the students'' mean daily score that week.';
COMMENT ON COLUMN @extschema@.cohort_week.median_score IS 'Median of the students'' mean daily score that week.';
COMMENT ON COLUMN @extschema@.cohort_week.attendance_rate IS 'Percentage of the group''s sessions that week attended, authorised absences left out.';

CREATE TABLE @extschema@.refresh_run (
    run_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL,
    from_day      date NOT NULL,
    to_day        date NOT NULL,
    days          integer NOT NULL,
    students      integer NOT NULL,
    rows_written  bigint NOT NULL,
    rows_purged   bigint NOT NULL,
    run_by        text NOT NULL DEFAULT CURRENT_USER,
    students_caught_up integer NOT NULL DEFAULT 0
);
COMMENT ON TABLE @extschema@.refresh_run IS 'One row per completed engage.refresh: when, which days, how many students and rows.';
COMMENT ON COLUMN @extschema@.refresh_run.run_id IS 'Identifier of the run.';
COMMENT ON COLUMN @extschema@.refresh_run.started_at IS 'When the run started.';
COMMENT ON COLUMN @extschema@.refresh_run.finished_at IS 'When the run finished.';
COMMENT ON COLUMN @extschema@.refresh_run.from_day IS 'First day computed.';
COMMENT ON COLUMN @extschema@.refresh_run.to_day IS 'Last day computed.';
COMMENT ON COLUMN @extschema@.refresh_run.days IS 'Number of days computed.';
COMMENT ON COLUMN @extschema@.refresh_run.students IS 'Students with rows in the range after the run.';
COMMENT ON COLUMN @extschema@.refresh_run.rows_written IS 'Rows written to engage.daily_engagement.';
COMMENT ON COLUMN @extschema@.refresh_run.run_by IS 'Role that ran the refresh.';
COMMENT ON COLUMN @extschema@.refresh_run.rows_purged IS 'Rows removed outside the range because consent was withdrawn.';
COMMENT ON COLUMN @extschema@.refresh_run.students_caught_up IS 'Students the nightly run recomputed from an earlier day because their data changed (engage.refresh_stale).';

-- One call per statement: each call rewrites the extension's catalog row.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.college', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.academic_year', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.coefficients', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.student', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.student_college', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.staff', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tutoring', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.module', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.enrolment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.app_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.career_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attendance', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.assessment_mark', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exam_period', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.employability', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.meeting_note', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.daily_engagement', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_run', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.cohort_week', '');
COMMENT ON SEQUENCE @extschema@.consent_consent_id_seq IS 'Numbers engage.consent rows in order of recording.';
COMMENT ON SEQUENCE @extschema@.meeting_note_note_id_seq IS 'Numbers engage.meeting_note rows.';
COMMENT ON SEQUENCE @extschema@.refresh_run_run_id_seq IS 'Numbers engage.refresh_run rows.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent_consent_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.meeting_note_note_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_run_run_id_seq', '');
