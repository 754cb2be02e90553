-- The warehouse: people, catalogues and source events -------------------------
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
-- the refresh reads one student's attended events of a range of days; found
-- through the index on day instead, each student's read scanned every
-- student's events of the range
CREATE INDEX ON @extschema@.career_event (student_id, event_day) WHERE attended;
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

CREATE TRIGGER student_identity BEFORE INSERT OR UPDATE OF student_id, login_role
    ON @extschema@.student FOR EACH ROW EXECUTE FUNCTION @extschema@.check_person_identity('student');
CREATE TRIGGER staff_identity BEFORE INSERT OR UPDATE OF staff_id, login_role
    ON @extschema@.staff FOR EACH ROW EXECUTE FUNCTION @extschema@.check_person_identity('staff');

-- One call per statement: each call rewrites the extension's catalog row.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.college', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.academic_year', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.coefficients', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.student', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.staff', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.tutoring', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.module', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.enrolment', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.app_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.career_event', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.attendance', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.assessment_mark', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exam_period', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.employability', '');

-- Who reads which rows (the rules are engage.visible_students,
-- engage.consenting_students and engage.mark_students): viewers see the
-- people, tutoring, enrolments and attendance of their visible students;
-- employability only with consent; marks with consent and never during an
-- exam period; page views, app choices and careers events not at all (only
-- what the nightly run computes from them).  Loaders see and write
-- everything; administrators read the people and tutoring they manage.
ALTER TABLE @extschema@.student ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.student FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.tutoring ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.tutoring FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.enrolment ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.enrolment FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.attendance ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.attendance FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.employability ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.employability FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.ele_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.ele_event FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.app_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.app_event FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.career_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.career_event FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.assessment_mark ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.assessment_mark FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.student FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));
CREATE POLICY viewer_read ON @extschema@.tutoring FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));
CREATE POLICY viewer_read ON @extschema@.enrolment FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));
CREATE POLICY viewer_read ON @extschema@.attendance FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));
CREATE POLICY viewer_read ON @extschema@.employability FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.consenting_students())::text[]));
CREATE POLICY viewer_read ON @extschema@.assessment_mark FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.mark_students())::text[]));
CREATE POLICY loader_all ON @extschema@.student FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.tutoring FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.enrolment FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.attendance FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.employability FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.ele_event FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.app_event FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.career_event FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.assessment_mark FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY admin_read ON @extschema@.student FOR SELECT TO engage_admin USING (true);
CREATE POLICY admin_read ON @extschema@.tutoring FOR SELECT TO engage_admin USING (true);
