-- engage 1.0 to 1.1: ALTER EXTENSION engage UPDATE TO '1.1'.
--
-- Every change to the schema in 1.1 is made twice: in sql/install/ (a fresh
-- install) and here (an upgrade); test/t/upgrade.t proves the two give the
-- same catalog.
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
CREATE FUNCTION @extschema@.stamp_consent()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kept regclass := @extschema@.here('@extschema@.consent', NEW.student_id);
    last bigint;
BEGIN
    -- a refresh purging withdrawn consent waits for this decision, or this
    -- decision for the refresh (see engage.refresh)
    PERFORM pg_catalog.pg_advisory_xact_lock_shared(111524855244645);
    IF NOT pg_catalog.pg_has_role(current_user, 'engage_owner', 'MEMBER') THEN
        NEW.consent_id := pg_catalog.nextval('@extschema@.consent_consent_id_seq');
        NEW.recorded_by := session_user;
    END IF;
    -- On a Citus worker, where the shard keeps every decision of the
    -- student, the coordinator's and the worker's sequences do not count
    -- together: a decision is numbered after the student's last one.
    IF kept IS DISTINCT FROM '@extschema@.consent'::regclass AND kept IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT max(c.consent_id) FROM %s AS c WHERE c.student_id = $1', kept)
            INTO last USING NEW.student_id;
        NEW.consent_id := greatest(NEW.consent_id, last + 1);
    END IF;
    RETURN NEW;
END
$$;
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
CREATE FUNCTION @extschema@.note_index()
RETURNS TABLE (note_id bigint, student_id text, author_id text, met_on date, focus text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT n.note_id, n.student_id, n.author_id, n.met_on, n.focus, n.recorded_at
    FROM @extschema@.meeting_note AS n
$$;
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
CREATE OR REPLACE FUNCTION @extschema@.record_meeting_note(student_id text, met_on date, focus text,
                                                discussed text, actions jsonb, summary text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text := @extschema@.require_student_or_tutor(student_id);
    a jsonb;
    id bigint;
BEGIN
    IF met_on IS NULL OR met_on > @extschema@.today() OR met_on < @extschema@.today() - 366 THEN
        RAISE EXCEPTION 'met_on must be a day within the last year'
            USING ERRCODE = '22023', DETAIL = format('met_on was %s.', coalesce(met_on::text, 'NULL'));
    END IF;
    IF btrim(coalesce(focus, '')) = '' THEN
        RAISE EXCEPTION 'focus must be routine or name the issue'
            USING ERRCODE = '22023', HINT = 'For example ''routine'' or ''wellbeing''.';
    END IF;
    IF btrim(coalesce(discussed, '')) = '' OR btrim(coalesce(summary, '')) = '' THEN
        RAISE EXCEPTION 'discussed and summary must not be empty' USING ERRCODE = '22023';
    END IF;
    -- a note is a record in general terms, not a document store
    IF length(btrim(focus)) > 200 OR length(discussed) > 20000 OR length(summary) > 5000 THEN
        RAISE EXCEPTION 'meeting note too long'
            USING ERRCODE = '22001',
                  DETAIL = format('focus has %s characters (at most 200), discussed %s (at most 20000), summary %s (at most 5000).',
                                  length(btrim(focus)), length(discussed), length(summary)),
                  HINT = 'Record what was discussed in general terms; keep documents elsewhere.';
    END IF;
    actions := coalesce(actions, '[]');
    IF jsonb_typeof(actions) <> 'array' THEN
        RAISE EXCEPTION 'actions must be a JSON array' USING ERRCODE = '22023',
            HINT = 'For example [{"action": "Book a study-skills session", "by": "student"}].';
    END IF;
    IF jsonb_array_length(actions) > 50 THEN
        RAISE EXCEPTION 'a meeting note has at most 50 actions' USING ERRCODE = '22001',
            DETAIL = format('%s actions were given.', jsonb_array_length(actions));
    END IF;
    FOR a IN SELECT * FROM jsonb_array_elements(actions) LOOP
        IF jsonb_typeof(a) <> 'object' OR btrim(coalesce(a ->> 'action', '')) = ''
           OR btrim(coalesce(a ->> 'by', '')) = '' THEN
            RAISE EXCEPTION 'every action needs an "action" and who does it ("by")'
                USING ERRCODE = '22023', DETAIL = format('Offending element: %s.', left(a::text, 200)),
                      HINT = 'For example {"action": "Refer to wellbeing services", "by": "tutor"}.';
        END IF;
        IF length(a::text) > 2000 THEN
            RAISE EXCEPTION 'an action has at most 2000 characters' USING ERRCODE = '22001',
                DETAIL = format('Offending element begins: %s', left(a::text, 200));
        END IF;
    END LOOP;
    -- a runaway client (or a hostile one) cannot flood a student's record
    IF (SELECT count(*) FROM @extschema@.meeting_note AS n
        WHERE n.author_id = v AND n.recorded_at > clock_timestamp() - interval '1 hour') >= 60 THEN
        RAISE EXCEPTION 'too many meeting notes: at most 60 an hour by one author'
            USING ERRCODE = '54000', DETAIL = format('Author %s has recorded 60 notes in the last hour.', v),
                  HINT = 'Try again later.';
    END IF;

    INSERT INTO @extschema@.meeting_note AS n
        (student_id, author_id, met_on, focus, issue, discussed, actions, summary, recorded_at)
    VALUES (record_meeting_note.student_id, v, record_meeting_note.met_on,
            CASE WHEN lower(btrim(focus)) = 'routine' THEN 'routine' ELSE 'issue' END,
            CASE WHEN lower(btrim(focus)) = 'routine' THEN NULL ELSE btrim(focus) END,
            record_meeting_note.discussed, actions, record_meeting_note.summary, clock_timestamp())
    RETURNING n.note_id INTO id;
    RETURN id;
END
$$;
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

CREATE TYPE @extschema@.profile_day AS (
    module_code      text,
    day              date,
    ele_minutes      double precision,
    app_choices      integer,
    career_events    integer,
    ele_minutes_7d   double precision,
    app_choices_7d   integer,
    career_events_7d integer,
    score            double precision
);

COMMENT ON TYPE @extschema@.profile_day IS
'One row of a student''s daily profile: a day of the overall series (module_code NULL) or of a module''s, with the day''s figures, their sums over the 7 days ending on it, and the score; an element of the result of engage.daily_profile.';

DO $$
BEGIN
    -- PostgreSQL 17 and later make the array type a member by themselves
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend
                   WHERE classid = 'pg_catalog.pg_type'::regclass
                     AND objid = '@extschema@._profile_day'::regtype
                     AND refclassid = 'pg_catalog.pg_extension'::regclass
                     AND deptype = 'e') THEN
        ALTER EXTENSION engage ADD TYPE @extschema@._profile_day;
    END IF;
END
$$;
COMMENT ON TYPE @extschema@._profile_day IS 'Array of engage.profile_day: the result type of engage.daily_profile.';

CREATE FUNCTION @extschema@.daily_profile_trans(internal, "char", timestamptz, text, date, date,
                                               double precision, double precision, double precision,
                                               date, date)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_daily_profile_trans'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.daily_profile_trans(internal, "char", timestamptz, text, date, date, double precision, double precision, double precision, date, date) IS
'Transition function of engage.daily_profile: collects one row of a student''s streams.';

CREATE FUNCTION @extschema@.daily_profile_final(internal)
RETURNS @extschema@.profile_day[]
AS 'MODULE_PATHNAME', 'engage_daily_profile_final'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.daily_profile_final(internal) IS
'Final function of engage.daily_profile: applies the ELE rule and computes every day''s figures, 7-day sums and score.';

-- The rows' kinds: 'v' page view (ts, module_code), 'a' app choice (ts), 'c'
-- attended careers event (day), 's' stored day (day, module_code or NULL,
-- minutes x, app choices y, careers events z), 'm' enrolment (module_code,
-- day to until), 'w' consent in force with weights (day to until; ele x,
-- app y, events z).  Reads engage.idle_gap, engage.credit, engage.time_zone.
CREATE AGGREGATE @extschema@.daily_profile(kind "char", ts timestamptz, module_code text,
                                           day date, until date,
                                           x double precision, y double precision, z double precision,
                                           from_day date, to_day date) (
    SFUNC     = @extschema@.daily_profile_trans,
    STYPE     = internal,
    SSPACE    = 16384,
    FINALFUNC = @extschema@.daily_profile_final,
    PARALLEL  = SAFE
);

COMMENT ON AGGREGATE @extschema@.daily_profile("char", timestamptz, text, date, date, double precision, double precision, double precision, date, date) IS
'One student''s engagement profile from their streams in one pass: rows of kind v (page view), a (app choice), c (careers event), s (stored day), m (enrolment) and w (consent with weights) in; the days from from_day to to_day with consent in force out, overall and per enrolled module, with the 7-day sums and the score. NULL when no day has consent.';

CREATE FUNCTION @extschema@.profile_range(from_day date, to_day date,
                                          OUT first_day date, OUT from_ts timestamptz, OUT to_ts timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'engage_profile_range'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.profile_range(date, date) IS
'What engage.daily_profile reads to compute from_day to to_day from raw events: days from first_day (six days before from_day, for the 7-day windows), events from from_ts (local midnight of first_day) until to_ts (local midnight after to_day, plus engage.idle_gap for the last view''s credit).';

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
CREATE FUNCTION @extschema@.forget_computed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target regclass;
BEGIN
    -- where this node keeps them: a student's rows on one node, a module's
    -- on every node
    IF TG_ARGV[0] = 'student' THEN
        target := @extschema@.here('@extschema@.daily_engagement', OLD.student_id);
        IF target IS NOT NULL THEN
            EXECUTE pg_catalog.format('DELETE FROM %s AS d WHERE d.student_id = $1', target) USING OLD.student_id;
        END IF;
    ELSIF TG_ARGV[0] = 'module' THEN
        FOR target IN SELECT @extschema@.local_shards('@extschema@.daily_engagement') LOOP
            EXECUTE pg_catalog.format('DELETE FROM %s AS d WHERE d.module_code = $1', target) USING OLD.module_code;
        END LOOP;
    ELSE
        RAISE EXCEPTION 'engage.forget_computed forgets a student or a module, not %', coalesce(TG_ARGV[0], 'nothing')
            USING ERRCODE = '39P01';
    END IF;
    RETURN OLD;
END
$$;
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

CREATE FUNCTION @extschema@.track_college()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    today date := @extschema@.today();
    spans regclass := @extschema@.here('@extschema@.student_college');
    corrected bigint;
BEGIN
    IF NEW.college IS NOT DISTINCT FROM OLD.college THEN
        RETURN NULL;
    END IF;
    -- a first change: the old college has been the student's all along
    EXECUTE pg_catalog.format(
        'INSERT INTO %1$s SELECT $1, $2, ''-infinity'', NULL
         WHERE NOT EXISTS (SELECT FROM %1$s AS sc WHERE sc.student_id = $1)', spans)
        USING NEW.student_id, OLD.college;
    -- a second change on the day a span began corrects that span
    EXECUTE pg_catalog.format(
        'UPDATE %s AS sc SET college = $2
         WHERE sc.student_id = $1 AND sc.valid_to IS NULL AND sc.valid_from = $3', spans)
        USING NEW.student_id, NEW.college, today;
    GET DIAGNOSTICS corrected = ROW_COUNT;
    IF corrected = 0 THEN
        EXECUTE pg_catalog.format(
            'UPDATE %s AS sc SET valid_to = $2 WHERE sc.student_id = $1 AND sc.valid_to IS NULL', spans)
            USING NEW.student_id, today;
        EXECUTE pg_catalog.format('INSERT INTO %s VALUES ($1, $2, $3, NULL)', spans)
            USING NEW.student_id, NEW.college, today;
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
DECLARE
    clash boolean;
BEGIN
    EXECUTE pg_catalog.format(
        'SELECT EXISTS (SELECT FROM %s AS o
                        WHERE o.student_id = $1 AND o.valid_from <> $2
                          AND pg_catalog.daterange(o.valid_from, o.valid_to) OPERATOR(pg_catalog.&&)
                              pg_catalog.daterange($2, $3))',
        @extschema@.here('@extschema@.student_college'))
        INTO clash USING NEW.student_id, NEW.valid_from, NEW.valid_to;
    IF clash THEN
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
CREATE FUNCTION @extschema@.mark_stale()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    years regclass := @extschema@.here('@extschema@.academic_year');
    -- The first day each changed row touches, per student, by the rule of
    -- the table named by the trigger's argument.  Other tables are read
    -- where this node keeps them (engage.here), so the coefficients' rule
    -- spells out engage.college_spans.
    changed_days text := CASE
        WHEN TG_ARGV[0] IN ('ele_event', 'app_event') THEN
            'SELECT c.student_id, @extschema@.local_day(min(c.ts)) AS day FROM changed AS c GROUP BY 1'
        WHEN TG_ARGV[0] = 'career_event' THEN
            'SELECT c.student_id, c.event_day AS day FROM changed AS c'
        -- consent granted (again) restores the year's days
        WHEN TG_ARGV[0] = 'consent' THEN pg_catalog.format(
            'SELECT c.student_id, y.starts AS day FROM changed AS c
             JOIN %s AS y ON y.label = c.academic_year WHERE c.granted', years)
        WHEN TG_ARGV[0] = 'enrolment' THEN pg_catalog.format(
            'SELECT c.student_id, y.starts AS day FROM changed AS c
             JOIN %s AS y ON y.label = c.academic_year', years)
        WHEN TG_ARGV[0] = 'student_college' THEN
            'SELECT c.student_id, c.valid_from AS day FROM changed AS c'
        -- every student who was in the college during the year
        WHEN TG_ARGV[0] = 'coefficients' THEN pg_catalog.format(
            'SELECT sc.student_id, greatest(y.starts, sc.valid_from) AS day FROM changed AS c
             JOIN %1$s AS y ON y.label = c.academic_year
             JOIN (SELECT s.student_id, coalesce(r.college, s.college) AS college,
                          coalesce(r.valid_from, ''-infinity''::date) AS valid_from, r.valid_to
                   FROM %3$s AS s LEFT JOIN %2$s AS r ON r.student_id = s.student_id) AS sc
               ON sc.college = c.college AND sc.valid_from <= y.ends
              AND (sc.valid_to IS NULL OR sc.valid_to > y.starts)',
            years, @extschema@.here('@extschema@.student_college'), @extschema@.here('@extschema@.student'))
    END;
    marks record;
BEGIN
    IF changed_days IS NULL THEN
        RAISE EXCEPTION 'engage.mark_stale has no rule for %', coalesce(TG_ARGV[0], 'a trigger without argument')
            USING ERRCODE = '39P01';
    END IF;
    -- each student's mark is kept where the student's rows are: here, or
    -- (for a change of a catalogue, which every Citus node sees) by the
    -- node that keeps them
    FOR marks IN EXECUTE pg_catalog.format(
        'SELECT @extschema@.here(%L, m.student_id) AS target,
                pg_catalog.array_agg(m.student_id) AS ids, pg_catalog.array_agg(m.day) AS days
         FROM (SELECT m.student_id, greatest(min(m.day), (SELECT min(y.starts) FROM %s AS y)) AS day
               FROM (%s) AS m
               GROUP BY m.student_id HAVING min(m.day) < $1) AS m
         GROUP BY 1',
        '@extschema@.refresh_stale', years, changed_days)
    USING @extschema@.today() LOOP
        CONTINUE WHEN marks.target IS NULL;
        EXECUTE pg_catalog.format(
            'INSERT INTO %s AS rs (student_id, from_day)
             SELECT * FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::date[]))
             ON CONFLICT (student_id) DO UPDATE SET from_day = least(rs.from_day, EXCLUDED.from_day)',
            marks.target)
        USING marks.ids, marks.days;
    END LOOP;
    RETURN NULL;
END
$$;
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

-- Asking for a note's removal -------------------------------------------------------
--
-- Only an administrator removes a note.  The author, the student or the
-- student's current tutor asks for it, giving a reason; administrators see
-- the notes they are asked about (and only those) with the request, and
-- decide.  Every request and decision is kept.
CREATE TABLE @extschema@.note_removal_request (
    request_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    note_id         bigint NOT NULL,
    student_id      text NOT NULL REFERENCES @extschema@.student,
    requested_by    text NOT NULL,
    requested_at    timestamptz NOT NULL,
    reason          text NOT NULL CONSTRAINT note_removal_request_reason_not_blank CHECK (btrim(reason) <> ''),
    decided_by      text,
    decided_at      timestamptz,
    decision        text CONSTRAINT note_removal_request_decision_known CHECK (decision IN ('removed', 'kept')),
    decision_reason text,
    CONSTRAINT note_removal_request_decided CHECK ((decision IS NULL) = (decided_at IS NULL)
                                                   AND (decision IS NULL) = (decided_by IS NULL))
);
CREATE INDEX ON @extschema@.note_removal_request (student_id);
CREATE INDEX ON @extschema@.note_removal_request (note_id);
COMMENT ON TABLE @extschema@.note_removal_request IS 'Requests to remove a meeting note, by its author, the student or their tutor, and the administrators'' decisions. Written only by engage.request_note_removal and engage.decide_note_removal.';
COMMENT ON COLUMN @extschema@.note_removal_request.request_id IS 'Identifier of the request.';
COMMENT ON COLUMN @extschema@.note_removal_request.note_id IS 'The note asked about.';
COMMENT ON COLUMN @extschema@.note_removal_request.student_id IS 'The student the note is about.';
COMMENT ON COLUMN @extschema@.note_removal_request.requested_by IS 'Student or staff id of who asked.';
COMMENT ON COLUMN @extschema@.note_removal_request.requested_at IS 'When they asked.';
COMMENT ON COLUMN @extschema@.note_removal_request.reason IS 'Why they asked.';
COMMENT ON COLUMN @extschema@.note_removal_request.decided_by IS 'Login role of the administrator who decided; NULL while pending.';
COMMENT ON COLUMN @extschema@.note_removal_request.decided_at IS 'When it was decided; NULL while pending.';
COMMENT ON COLUMN @extschema@.note_removal_request.decision IS 'removed or kept; NULL while pending.';
COMMENT ON COLUMN @extschema@.note_removal_request.decision_reason IS 'The administrator''s reason.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.note_removal_request', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.note_removal_request_request_id_seq', '');
COMMENT ON SEQUENCE @extschema@.note_removal_request_request_id_seq IS 'Numbers engage.note_removal_request rows.';
ALTER TABLE @extschema@.note_removal_request ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.note_removal_request FORCE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.note_removal_request FOR SELECT TO engage_admin USING (true);

CREATE FUNCTION @extschema@.request_note_removal(note_id bigint, reason text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n @extschema@.meeting_note;
    v text;
    id bigint;
BEGIN
    SELECT * INTO n FROM @extschema@.meeting_note AS m WHERE m.note_id = request_note_removal.note_id;
    -- a note the viewer may not see is answered as one that does not exist
    IF NOT FOUND OR NOT (n.student_id = ANY (@extschema@.visible_students())) THEN
        RAISE EXCEPTION 'no meeting note % that you may see', coalesce(request_note_removal.note_id::text, 'NULL')
            USING ERRCODE = 'P0002';
    END IF;
    v := @extschema@.require_student_or_tutor(n.student_id);
    IF btrim(coalesce(request_note_removal.reason, '')) = '' OR length(request_note_removal.reason) > 2000 THEN
        RAISE EXCEPTION 'a reason of 1 to 2000 characters is required' USING ERRCODE = '22023';
    END IF;
    IF EXISTS (SELECT FROM @extschema@.note_removal_request AS r
               WHERE r.note_id = n.note_id AND r.decision IS NULL) THEN
        RAISE EXCEPTION 'removal of meeting note % has already been asked for', n.note_id
            USING ERRCODE = '23505', HINT = 'An administrator will decide on the request already made.';
    END IF;
    INSERT INTO @extschema@.note_removal_request AS r (note_id, student_id, requested_by, requested_at, reason)
    VALUES (n.note_id, n.student_id, v, clock_timestamp(), btrim(request_note_removal.reason))
    RETURNING r.request_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.request_note_removal(bigint, text) IS
'Asks the administrators to remove a meeting note, with a reason; allowed to the note''s student and their current tutor (the author among them). Returns the request id. One pending request per note.';

CREATE FUNCTION @extschema@.decide_note_removal(request_id bigint, remove boolean, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r @extschema@.note_removal_request;
BEGIN
    IF NOT pg_has_role(session_user, 'engage_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only an administrator may decide on a removal request' USING ERRCODE = '42501';
    END IF;
    IF remove IS NULL OR btrim(coalesce(decide_note_removal.reason, '')) = '' THEN
        RAISE EXCEPTION 'a decision needs remove (true or false) and a reason' USING ERRCODE = '22023';
    END IF;
    SELECT * INTO r FROM @extschema@.note_removal_request AS q
    WHERE q.request_id = decide_note_removal.request_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no removal request %', coalesce(decide_note_removal.request_id::text, 'NULL')
            USING ERRCODE = 'P0002';
    END IF;
    IF r.decision IS NOT NULL THEN
        RAISE EXCEPTION 'removal request % was decided already', r.request_id USING ERRCODE = '55000';
    END IF;
    IF remove THEN
        PERFORM @extschema@.remove_meeting_note(r.note_id, decide_note_removal.reason);
    END IF;
    UPDATE @extschema@.note_removal_request AS q
    SET decided_by = session_user, decided_at = clock_timestamp(),
        decision = CASE WHEN remove THEN 'removed' ELSE 'kept' END,
        decision_reason = btrim(decide_note_removal.reason)
    WHERE q.request_id = r.request_id;
END
$$;
COMMENT ON FUNCTION @extschema@.decide_note_removal(bigint, boolean, text) IS
'Administrators only: decides a pending removal request, removing the note (as engage.remove_meeting_note does, with the reason given) or keeping it; the decision is recorded on the request.';

-- The administrators' queue: each pending request with the note it is about,
-- text included, so that they can judge it; no other note's text.  Read with
-- the owner's rights through a function, as engage.meeting_note_index is.
CREATE FUNCTION @extschema@.pending_note_removals()
RETURNS TABLE (request_id bigint, requested_by text, requested_at timestamptz, reason text,
               note_id bigint, student_id text, author_id text, met_on date, focus text, issue text,
               discussed text, actions jsonb, summary text, recorded_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT r.request_id, r.requested_by, r.requested_at, r.reason,
           n.note_id, n.student_id, n.author_id, n.met_on, n.focus, n.issue, n.discussed, n.actions,
           n.summary, n.recorded_at
    FROM @extschema@.note_removal_request AS r
    JOIN @extschema@.meeting_note AS n ON n.student_id = r.student_id AND n.note_id = r.note_id
    WHERE r.decision IS NULL
$$;
COMMENT ON FUNCTION @extschema@.pending_note_removals() IS
'For administrators: the rows of engage.note_removal_queue (which reads them), read with the owner''s rights.';

CREATE VIEW @extschema@.note_removal_queue
WITH (security_barrier = true) AS
SELECT q.request_id, q.requested_by, q.requested_at, q.reason, q.note_id, q.student_id, q.author_id, q.met_on,
       q.focus, q.issue, q.discussed, q.actions, q.summary, q.recorded_at
FROM @extschema@.pending_note_removals() AS q;
COMMENT ON VIEW @extschema@.note_removal_queue IS
'For administrators: every pending request to remove a meeting note, with the note itself, so that they can decide (engage.decide_note_removal).';
COMMENT ON COLUMN @extschema@.note_removal_queue.request_id IS 'The request.';
COMMENT ON COLUMN @extschema@.note_removal_queue.requested_by IS 'Who asked.';
COMMENT ON COLUMN @extschema@.note_removal_queue.requested_at IS 'When they asked.';
COMMENT ON COLUMN @extschema@.note_removal_queue.reason IS 'Why they asked.';
COMMENT ON COLUMN @extschema@.note_removal_queue.note_id IS 'The note.';
COMMENT ON COLUMN @extschema@.note_removal_queue.student_id IS 'The tutee the meeting was with.';
COMMENT ON COLUMN @extschema@.note_removal_queue.author_id IS 'Who wrote the note.';
COMMENT ON COLUMN @extschema@.note_removal_queue.met_on IS 'Day of the meeting.';
COMMENT ON COLUMN @extschema@.note_removal_queue.focus IS 'routine or issue.';
COMMENT ON COLUMN @extschema@.note_removal_queue.issue IS 'The issue, when focus is issue.';
COMMENT ON COLUMN @extschema@.note_removal_queue.discussed IS 'What was discussed.';
COMMENT ON COLUMN @extschema@.note_removal_queue.actions IS 'Referrals and actions.';
COMMENT ON COLUMN @extschema@.note_removal_queue.summary IS 'Summary.';
COMMENT ON COLUMN @extschema@.note_removal_queue.recorded_at IS 'When the note was recorded.';

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

-- The cohort means in an order-free float sum ---------------------------------------

-- The means behind them: a float sum depends on the order of its terms, and
-- rows reach an aggregate in an order that plans, the table's physical order
-- and parallel workers decide.  engage.stable_avg keeps a group's values and
-- sums them in ascending order, so that a figure has the same bits however
-- it was computed (src/cohort.c).
CREATE FUNCTION @extschema@.stable_avg_trans(internal, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_stable_avg_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_trans(internal, double precision) IS
'Transition function of engage.stable_avg: keeps one value.';

CREATE FUNCTION @extschema@.stable_avg_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_stable_avg_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_combine(internal, internal) IS
'Combine function of engage.stable_avg: joins the values of two partial states.';

CREATE FUNCTION @extschema@.stable_avg_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'engage_stable_avg_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_serialize(internal) IS
'Serialisation function of engage.stable_avg, for parallel workers.';

CREATE FUNCTION @extschema@.stable_avg_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_stable_avg_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_deserialize(bytea, internal) IS
'Deserialisation function of engage.stable_avg, for parallel workers.';

CREATE FUNCTION @extschema@.stable_avg_final(internal)
RETURNS double precision
AS 'MODULE_PATHNAME', 'engage_stable_avg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_final(internal) IS
'Final function of engage.stable_avg: the sum in ascending order, divided by the count.';

CREATE AGGREGATE @extschema@.stable_avg(double precision) (
    SFUNC            = @extschema@.stable_avg_trans,
    STYPE            = internal,
    SSPACE           = 128,
    FINALFUNC        = @extschema@.stable_avg_final,
    FINALFUNC_MODIFY = SHAREABLE,
    COMBINEFUNC      = @extschema@.stable_avg_combine,
    SERIALFUNC       = @extschema@.stable_avg_serialize,
    DESERIALFUNC     = @extschema@.stable_avg_deserialize,
    PARALLEL         = SAFE
);
COMMENT ON AGGREGATE @extschema@.stable_avg(double precision) IS
'The mean of the non-null values, summed in ascending order so that the result has the same bits whatever order the rows come in (plans, parallel workers); NULL for no values. Keeps every value of a group (8 bytes each): for the small groups of the cohort figures.';
GRANT EXECUTE ON FUNCTION
    @extschema@.stable_avg(double precision),
    @extschema@.stable_avg_trans(internal, double precision), @extschema@.stable_avg_final(internal),
    @extschema@.stable_avg_combine(internal, internal),
    @extschema@.stable_avg_serialize(internal), @extschema@.stable_avg_deserialize(bytea, internal)
    TO PUBLIC;

-- How many students two groups do not share, for the rule that leaves out a
-- group whose figures would follow by difference from another's.
CREATE FUNCTION @extschema@.symmetric_difference_size(a text[], b text[])
RETURNS integer
AS 'MODULE_PATHNAME', 'engage_symmetric_difference_size'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
-- dear enough that the planner tests a pair's other conditions first
COST 1000;
COMMENT ON FUNCTION @extschema@.symmetric_difference_size(text[], text[]) IS
'The number of elements in exactly one of two arrays, each sorted in byte order (COLLATE "C") without duplicates or NULLs, as array_agg(DISTINCT x ORDER BY x COLLATE "C") builds them; other arrays are refused (22023, 22004).';

GRANT EXECUTE ON FUNCTION @extschema@.symmetric_difference_size(text[], text[]) TO PUBLIC;

-- The refresh holds back consent decisions on every node -----------------------
-- The lock consent decisions wait on: every decision is recorded holding
-- it shared (engage.stamp_consent), and engage.refresh takes it whole before
-- it purges withdrawn consent.  (The key is 'engage' in ASCII; an advisory
-- lock needs no privilege on consent.)  Declared STABLE, though it takes a
-- lock, so that a query's condition that calls it is evaluated once, before
-- any row: on a Citus cluster the refresh calls it in a query of every shard,
-- which takes it on every worker, empty shards too.
CREATE FUNCTION @extschema@.hold_consent_decisions()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(111524855244645);
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.hold_consent_decisions() IS
'For engage.refresh: holds back consent decisions until this transaction ends (the lock they are recorded under), and returns true.';
REVOKE ALL ON FUNCTION @extschema@.hold_consent_decisions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.hold_consent_decisions() TO engage_loader;

-- The refresh publishes no cohort group that differs from another by 1 to 4
-- students --------------------------------------------------------------------
CREATE OR REPLACE PROCEDURE @extschema@.refresh(from_day date DEFAULT NULL, to_day date DEFAULT NULL)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- The plans are index scans per student and one C aggregate, which JIT
-- cannot speed up but would spend seconds compiling.  Nor does a cache of
-- the kernel's results help: each student's are different, and hashing
-- them cost a fifth of the compute.
SET jit = off
SET enable_memoize = off
-- Its temporary tables are analyzed so that the planner knows their sizes
-- and spreads; a sample of 3,000 rows tells it that as well as 30,000 would,
-- at a fifth of the time.
SET default_statistics_target = 10
AS $$
DECLARE
    started     timestamptz := pg_catalog.clock_timestamp();
    written     bigint := 0;
    purged      bigint := 0;
    purged_here bigint := 0;
    nightly     boolean := from_day IS NULL AND to_day IS NULL;
    stale_ids   text[] := '{}';
    stale_from  date[] := '{}';
    n_students  integer;
    missing     record;
    weeks       date[];
    weeks_from  date;
    weeks_until date;
    sort_was    text;
    bulk        boolean;
    bulk_to_ts  timestamptz;
    lookback    date;
    stored_back boolean;
    from_midnight timestamptz;
    on_cluster  boolean := @extschema@.distributed();
BEGIN
    from_day := coalesce(from_day, @extschema@.today() - 1);
    to_day := coalesce(to_day, @extschema@.today() - 1);
    -- a night the job did not run is caught up by the next one, within the
    -- academic year
    IF nightly THEN
        from_day := greatest(least(from_day, (SELECT max(rr.to_day) + 1 FROM @extschema@.refresh_run AS rr)),
                             (SELECT y.starts FROM @extschema@.academic_year AS y
                              WHERE to_day BETWEEN y.starts AND y.ends));
    END IF;
    IF from_day > to_day THEN
        RAISE EXCEPTION 'from_day must not be after to_day'
            USING ERRCODE = '22023',
                  DETAIL = format('from_day was %s and to_day was %s.',
                                  to_char(from_day, 'YYYY-MM-DD'), to_char(to_day, 'YYYY-MM-DD'));
    END IF;
    IF from_day = '-infinity' OR to_day = 'infinity' OR to_day - from_day >= 36600 THEN
        RAISE EXCEPTION 'engage.refresh covers at most 36600 days'
            USING ERRCODE = '54000',
                  DETAIL = format('from_day was %s and to_day was %s.',
                                  to_char(from_day, 'YYYY-MM-DD'), to_char(to_day, 'YYYY-MM-DD'));
    END IF;

    -- Readers keep reading; a second refresh waits for this one.
    LOCK TABLE @extschema@.daily_engagement IN EXCLUSIVE MODE;
    -- On a Citus cluster, one connection per worker for the run: a shard
    -- the run changed is read back over the connection that changed it.
    IF on_cluster THEN
        PERFORM pg_catalog.set_config('citus.multi_shard_modify_mode', 'sequential', true);
    END IF;

    SELECT d::date AS day INTO missing
    FROM pg_catalog.generate_series(from_day, to_day, interval '1 day') AS d
    WHERE NOT EXISTS (SELECT FROM @extschema@.academic_year AS y
                      WHERE d::date BETWEEN y.starts AND y.ends)
    ORDER BY 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no academic year covers %', to_char(missing.day, 'YYYY-MM-DD')
            USING ERRCODE = '55000',
                  HINT = 'Add the academic year to engage.academic_year before refreshing its days.';
    END IF;

    -- the college a student was in on each day of the range decides its weights
    SELECT sc.college, cl.academic_year INTO missing
    FROM @extschema@.consent_latest AS cl
    JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
    JOIN @extschema@.college_spans AS sc
      ON sc.student_id = cl.student_id
     AND sc.valid_from <= least(y.ends, to_day)
     AND (sc.valid_to IS NULL OR sc.valid_to > greatest(y.starts, from_day))
    WHERE cl.granted AND y.starts <= to_day AND y.ends >= from_day
      AND NOT EXISTS (SELECT FROM @extschema@.coefficients AS c
                      WHERE c.college = sc.college AND c.academic_year = cl.academic_year)
    ORDER BY 1, 2 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no coefficients for college % in academic year %',
                        missing.college, missing.academic_year
            USING ERRCODE = '55000',
                  HINT = 'Add a row to engage.coefficients for that college and year.';
    END IF;

    -- Students whose stored days changed since they were computed: the
    -- nightly run takes them from the first changed day on; a run over a
    -- range up to yesterday settles those it covers from their first day.
    IF nightly THEN
        WITH claimed AS (
            DELETE FROM @extschema@.refresh_stale AS rs WHERE rs.from_day <= refresh.to_day
            RETURNING rs.student_id, rs.from_day AS first_day
        )
        SELECT coalesce(pg_catalog.array_agg(c.student_id), '{}'), coalesce(pg_catalog.array_agg(c.first_day), '{}')
        INTO stale_ids, stale_from
        FROM claimed AS c WHERE c.first_day < refresh.from_day;
    ELSIF to_day >= @extschema@.today() - 1 THEN
        DELETE FROM @extschema@.refresh_stale AS rs WHERE rs.from_day >= refresh.from_day;
    END IF;

    DELETE FROM @extschema@.daily_engagement AS de
    WHERE de.day BETWEEN from_day AND to_day;
    DELETE FROM @extschema@.daily_engagement AS de
    USING ROWS FROM (pg_catalog.unnest(stale_ids), pg_catalog.unnest(stale_from)) AS c(student_id, first_day)
    WHERE de.student_id = c.student_id AND de.day >= c.first_day AND de.day < from_day;

    -- On a Citus cluster each worker computes the students it keeps, from
    -- their raw events, and the students marked stale from their first
    -- changed day (engage.refresh_on_workers).
    IF on_cluster THEN
        written := @extschema@.refresh_on_workers(from_day, to_day, NULL);
        FOR missing IN
            SELECT c.first_day, pg_catalog.array_agg(c.student_id) AS students
            FROM ROWS FROM (pg_catalog.unnest(stale_ids), pg_catalog.unnest(stale_from)) AS c(student_id, first_day)
            WHERE c.first_day < from_day GROUP BY 1
        LOOP
            written := written + @extschema@.refresh_on_workers(missing.first_day, from_day - 1, missing.students);
        END LOOP;
    ELSE
        -- The days before from_day that its windows reach were stored by earlier
        -- runs.  Where they lie in from_day's academic year (a module's minutes
        -- are stored only on the days of its enrolment), they stand in for their
        -- raw events, for each student whose stored days are all there and none
        -- is marked stale: a nightly run reads one day of page views.  They are
        -- read in one pass into a temporary table, indexed by student where
        -- the run reads them student by student: read per student from
        -- daily_engagement, the table this run writes, a plan made while it
        -- was empty would scan all of it once per student.
        lookback := (@extschema@.profile_range(from_day, from_day)).first_day;
        stored_back := EXISTS (SELECT FROM @extschema@.academic_year AS y
                               WHERE lookback >= y.starts AND from_day <= y.ends);
        from_midnight := @extschema@.local_midnight(from_day);
        IF pg_catalog.to_regclass('pg_temp.engage_refresh_lookback') IS NOT NULL THEN
            DROP TABLE pg_temp.engage_refresh_lookback;
        END IF;
        CREATE TEMP TABLE engage_refresh_lookback ON COMMIT DROP AS
        SELECT d.student_id, d.module_code, d.day, d.ele_minutes, d.app_choices, d.career_events
        FROM @extschema@.daily_engagement AS d
        WHERE stored_back AND d.day >= lookback AND d.day < from_day;
        -- only those of students with every look-back day stored and none
        -- marked stale (counted by hashing: a window over the students
        -- sorted them, at twice the time)
        DELETE FROM pg_temp.engage_refresh_lookback AS lb
        WHERE lb.student_id IN (
            SELECT s.student_id FROM pg_temp.engage_refresh_lookback AS s
            GROUP BY s.student_id
            HAVING pg_catalog.count(*) FILTER (WHERE s.module_code IS NULL) <> from_day - lookback
                OR s.student_id = ANY (stale_ids)
                OR EXISTS (SELECT FROM @extschema@.refresh_stale AS rs WHERE rs.student_id = s.student_id));
        -- Each consenting student's streams go through engage.daily_profile
        -- once; SQL only feeds and stores.  One statement for the whole range,
        -- so that every row is computed from one snapshot of the sources.
        --
        -- A run of up to a week (a nightly run, or one catching up a few missed
        -- nights) reads the range's events of the students whose look-back days
        -- are stored in bulk, grouped by student: one scan of each source
        -- instead of ten index probes per student.  It holds those students'
        -- streams of the range at once, so longer runs, and the students whose
        -- days are computed from their raw events, are read student by student
        -- through the indexes that lead with student_id (the kernel then holds
        -- one student's streams at a time, and memory does not grow with the
        -- range).
        bulk := to_day - from_day < 7 AND EXISTS (SELECT FROM pg_temp.engage_refresh_lookback);
        -- read per student only where the run goes student by student
        IF NOT bulk THEN
            CREATE INDEX ON pg_temp.engage_refresh_lookback (student_id);
        END IF;
        ANALYZE pg_temp.engage_refresh_lookback;
        bulk_to_ts := (@extschema@.profile_range(from_day, to_day)).to_ts;
        INSERT INTO @extschema@.daily_engagement
            (student_id, module_code, day, ele_minutes, app_choices, career_events, score,
             ele_minutes_7d, app_choices_7d, career_events_7d)
        SELECT g.student_id, p.module_code, p.day, p.ele_minutes, p.app_choices, p.career_events,
               p.score, p.ele_minutes_7d, p.app_choices_7d, p.career_events_7d
        FROM (
            SELECT f.student_id,
                   @extschema@.daily_profile(f.kind, f.ts, f.module_code, f.day, f.until,
                                             f.x, f.y, f.z, from_day, to_day) AS days
            FROM (
                SELECT cl.student_id, 'w'::"char" AS kind, NULL::timestamptz AS ts, NULL::text AS module_code,
                       greatest(y.starts, sc.valid_from) AS day, least(y.ends, sc.valid_to - 1) AS until,
                       cf.ele AS x, cf.app AS y, cf.events AS z
                FROM @extschema@.consent_latest AS cl
                JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
                JOIN @extschema@.college_spans AS sc
                  ON sc.student_id = cl.student_id AND sc.valid_from <= y.ends
                 AND (sc.valid_to IS NULL OR sc.valid_to > y.starts)
                JOIN @extschema@.coefficients AS cf
                  ON cf.college = sc.college AND cf.academic_year = cl.academic_year
                WHERE bulk AND cl.granted AND y.starts <= to_day AND y.ends >= lookback
                UNION ALL
                SELECT en.student_id, 'm', NULL, en.module_code, y.starts, y.ends, NULL, NULL, NULL
                FROM @extschema@.enrolment AS en
                JOIN @extschema@.academic_year AS y ON y.label = en.academic_year
                WHERE bulk AND y.starts <= to_day AND y.ends >= lookback
                UNION ALL
                SELECT ev.student_id, 'v', ev.ts, ev.module_code, NULL, NULL, NULL, NULL, NULL
                FROM @extschema@.ele_event AS ev
                WHERE bulk AND ev.ts >= from_midnight AND ev.ts < bulk_to_ts
                UNION ALL
                SELECT ap.student_id, 'a', ap.ts, NULL, NULL, NULL, NULL, NULL, NULL
                FROM @extschema@.app_event AS ap
                WHERE bulk AND ap.ts >= from_midnight AND ap.ts < bulk_to_ts
                UNION ALL
                SELECT ce.student_id, 'c', NULL, NULL, ce.event_day, NULL, NULL, NULL, NULL
                FROM @extschema@.career_event AS ce
                WHERE bulk AND ce.attended AND ce.event_day BETWEEN from_day AND to_day
                UNION ALL
                SELECT lb.student_id, 's', NULL, lb.module_code, lb.day, NULL, lb.ele_minutes, lb.app_choices, lb.career_events
                FROM pg_temp.engage_refresh_lookback AS lb
                WHERE bulk
            ) AS f
            WHERE f.student_id IN (SELECT lb.student_id FROM pg_temp.engage_refresh_lookback AS lb)
            GROUP BY f.student_id
        ) AS g
        CROSS JOIN LATERAL pg_catalog.unnest(g.days) AS p
        WHERE EXISTS (SELECT FROM @extschema@.consent_latest AS cl
                      JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
                      WHERE cl.student_id = g.student_id AND cl.granted
                        AND y.starts <= to_day AND y.ends >= from_day)
        UNION ALL
        SELECT st.student_id, p.module_code, p.day, p.ele_minutes, p.app_choices, p.career_events,
               p.score, p.ele_minutes_7d, p.app_choices_7d, p.career_events_7d
        FROM @extschema@.student AS st
        -- each student's first day: from_day, or an earlier changed day
        LEFT JOIN ROWS FROM (pg_catalog.unnest(stale_ids), pg_catalog.unnest(stale_from)) AS c(student_id, first_day)
               ON c.student_id = st.student_id
        CROSS JOIN LATERAL (SELECT least(c.first_day, from_day) AS first_day) AS span
        CROSS JOIN LATERAL @extschema@.profile_range(span.first_day, to_day) AS r
        -- whether the student's look-back days are stored
        LEFT JOIN (SELECT DISTINCT lb.student_id FROM pg_temp.engage_refresh_lookback AS lb) AS kept
               ON kept.student_id = st.student_id
        CROSS JOIN LATERAL (SELECT kept.student_id IS NOT NULL AS stored) AS s
        -- where the raw events start: at the window's first day, or at from_day
        -- where the stored days stand in for the days before it
        CROSS JOIN LATERAL (
            SELECT CASE WHEN s.stored THEN from_midnight ELSE r.from_ts END AS from_ts,
                   CASE WHEN s.stored THEN from_day ELSE r.first_day END AS first_day
        ) AS raw
        CROSS JOIN LATERAL (
            SELECT @extschema@.daily_profile(f.kind, f.ts, f.module_code, f.day, f.until,
                                             f.x, f.y, f.z, span.first_day, to_day) AS days
            FROM (
                -- consent per academic year, cut by the college the student
                -- was in, with that college's weights for the year
                SELECT 'w'::"char" AS kind, NULL::timestamptz AS ts, NULL::text AS module_code,
                       greatest(y.starts, sc.valid_from) AS day, least(y.ends, sc.valid_to - 1) AS until,
                       cf.ele AS x, cf.app AS y, cf.events AS z
                FROM @extschema@.consent_latest AS cl
                JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
                JOIN @extschema@.college_spans AS sc
                  ON sc.student_id = cl.student_id AND sc.valid_from <= y.ends
                 AND (sc.valid_to IS NULL OR sc.valid_to > y.starts)
                JOIN @extschema@.coefficients AS cf
                  ON cf.college = sc.college AND cf.academic_year = cl.academic_year
                WHERE cl.student_id = st.student_id AND cl.granted
                  AND y.starts <= to_day AND y.ends >= r.first_day
                UNION ALL
                SELECT 'm', NULL, en.module_code, y.starts, y.ends, NULL, NULL, NULL
                FROM @extschema@.enrolment AS en
                JOIN @extschema@.academic_year AS y ON y.label = en.academic_year
                WHERE en.student_id = st.student_id
                  AND y.starts <= to_day AND y.ends >= r.first_day
                UNION ALL
                SELECT 'v', ev.ts, ev.module_code, NULL, NULL, NULL, NULL, NULL
                FROM @extschema@.ele_event AS ev
                WHERE ev.student_id = st.student_id AND ev.ts >= raw.from_ts AND ev.ts < r.to_ts
                UNION ALL
                SELECT 'a', ap.ts, NULL, NULL, NULL, NULL, NULL, NULL
                FROM @extschema@.app_event AS ap
                WHERE ap.student_id = st.student_id AND ap.ts >= raw.from_ts AND ap.ts < r.to_ts
                UNION ALL
                SELECT 'c', NULL, NULL, ce.event_day, NULL, NULL, NULL, NULL
                FROM @extschema@.career_event AS ce
                WHERE ce.student_id = st.student_id AND ce.attended
                  AND ce.event_day BETWEEN raw.first_day AND to_day
                UNION ALL
                -- (in bulk, the students left here have none)
                SELECT 's', NULL, lb.module_code, lb.day, NULL, lb.ele_minutes, lb.app_choices, lb.career_events
                FROM pg_temp.engage_refresh_lookback AS lb
                WHERE NOT bulk AND lb.student_id = st.student_id
            ) AS f
        ) AS k
        CROSS JOIN LATERAL pg_catalog.unnest(k.days) AS p
        WHERE NOT (bulk AND s.stored)
          AND EXISTS (SELECT FROM @extschema@.consent_latest AS cl
                      JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
                      WHERE cl.student_id = st.student_id AND cl.granted
                        AND y.starts <= to_day AND y.ends >= span.first_day);

        GET DIAGNOSTICS written = ROW_COUNT;
    END IF;

    -- No profiling without consent: a withdrawal removes the whole year's
    -- rows, and the cohort weeks they counted in are computed again.  Every
    -- consent decision is recorded holding a lock shared; taking it whole
    -- (engage.hold_consent_decisions) waits for the decisions being recorded
    -- and holds new ones back until this run commits, so the purge sees
    -- every withdrawal made before the run's rows become visible: none is
    -- left for a student who withdrew while the run computed.
    PERFORM @extschema@.hold_consent_decisions();
    -- On a Citus cluster a decision is recorded on the worker that keeps the
    -- student, holding the lock there: take it on every worker too, in this
    -- run's own transaction there (each shard's query evaluates the
    -- condition once, before any row).
    IF on_cluster THEN
        PERFORM count(*) FROM @extschema@.refresh_stale WHERE @extschema@.hold_consent_decisions();
    END IF;
    WITH gone AS (
        DELETE FROM @extschema@.daily_engagement AS de
        USING @extschema@.consent_latest AS cl, @extschema@.academic_year AS y
        WHERE NOT cl.granted
          AND y.label = cl.academic_year
          AND de.student_id = cl.student_id
          AND de.day BETWEEN y.starts AND y.ends
        RETURNING de.day
    )
    SELECT count(*), count(*) FILTER (WHERE gone.day BETWEEN from_day AND to_day),
           coalesce(pg_catalog.array_agg(DISTINCT @extschema@.week_start(gone.day)), '{}')
    INTO purged, purged_here, weeks
    FROM gone;
    -- rows this run wrote and the purge removed were never written
    written := written - purged_here;
    purged := purged - purged_here;

    -- the cohort figures of every week the run touched: small groups left
    -- out, and groups that differ from another published group of their
    -- programme and week by only 1 to 4 students, whose figures would follow
    -- by difference
    weeks := weeks || ARRAY(
        SELECT w.first + 7 * i
        FROM (SELECT @extschema@.week_start(least(from_day, (SELECT min(f) FROM pg_catalog.unnest(stale_from) AS f)))
              AS first) AS w,
             pg_catalog.generate_series(0, (to_day - w.first) / 7) AS i);
    DELETE FROM @extschema@.cohort_week AS cw WHERE cw.week = ANY (weeks);
    SELECT min(w), max(w) + 7 INTO weeks_from, weeks_until FROM pg_catalog.unnest(weeks) AS w;
    -- Each student's mean score per group and week, in a temporary table
    -- whose statistics the planner sees.  The statements below are planned
    -- with the run's weeks as values (EXECUTE ... USING): estimated without
    -- them, the groups look a thousand times smaller than they are, and the
    -- plans chosen for that take seconds.  daily_engagement holds the days
    -- of consenting students only (the purge above), and engage.stable_avg
    -- has the same bits in any order, so no plan (parallel workers
    -- included) can change a figure.
    IF pg_catalog.to_regclass('pg_temp.engage_refresh_weekly') IS NOT NULL THEN
        DROP TABLE pg_temp.engage_refresh_weekly;
    END IF;
    -- The groups are hashed: the statistics of daily_engagement are those of
    -- before this run's writes, and a plan made from them sorts the rows
    -- (on disk, at three times the time).
    sort_was := pg_catalog.current_setting('enable_sort');
    PERFORM pg_catalog.set_config('enable_sort', 'off', true);
    EXECUTE $sql$
    CREATE TEMP TABLE engage_refresh_weekly ON COMMIT DROP AS
    SELECT st.college, st.programme, g.module_code, g.week, g.student_id, g.score
    FROM (
        SELECT d.student_id, d.module_code, @extschema@.week_start(d.day) AS week,
               @extschema@.stable_avg(d.score) AS score
        FROM @extschema@.daily_engagement AS d
        WHERE d.day >= $1 AND d.day < $2 AND @extschema@.week_start(d.day) = ANY ($3)
        GROUP BY 1, 2, 3
    ) AS g
    JOIN @extschema@.student AS st ON st.student_id = g.student_id
    $sql$ USING weeks_from, weeks_until, weeks;
    PERFORM pg_catalog.set_config('enable_sort', sort_was, true);
    ANALYZE pg_temp.engage_refresh_weekly;

    EXECUTE $sql$
    INSERT INTO @extschema@.cohort_week
        (college, programme, module_code, week, students, mean_score, median_score, attendance_rate)
    WITH attendance AS (
        SELECT a.student_id, a.module_code,
               @extschema@.week_start(@extschema@.local_day(a.starts_at)) AS week,
               count(*) FILTER (WHERE a.status = 'present') AS present,
               count(*) FILTER (WHERE a.status <> 'authorised_absence') AS counted
        FROM @extschema@.attendance AS a
        WHERE a.starts_at >= @extschema@.local_midnight($1) AND a.starts_at < @extschema@.local_midnight($2)
        GROUP BY 1, 2, 3
    ), grouped AS (
        SELECT w.college, w.programme, w.module_code, w.week,
               count(*) AS students,
               @extschema@.stable_avg(w.score) AS mean_score,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY w.score) AS median_score,
               round(100.0 * sum(a.present) / nullif(sum(a.counted), 0), 1) AS attendance_rate,
               array_agg(w.student_id ORDER BY w.student_id COLLATE "C") AS members
        FROM pg_temp.engage_refresh_weekly AS w
        LEFT JOIN (SELECT at.student_id, at.week, at.module_code, at.present, at.counted FROM attendance AS at
                   UNION ALL
                   SELECT at.student_id, at.week, NULL, sum(at.present), sum(at.counted)
                   FROM attendance AS at GROUP BY 1, 2) AS a
               ON a.student_id = w.student_id AND a.week = w.week
              AND coalesce(a.module_code, '') = coalesce(w.module_code, '')
        -- (sorted module first: colleges and programmes repeat, and
        -- sorting by them first compared every row's three names)
        GROUP BY 3, 4, 2, 1
    ), published AS (
        SELECT g.* FROM grouped AS g WHERE g.students >= 5
    ),
    -- Of two published groups of a programme and week whose students differ
    -- by 1 to 4 (the figures of those few would follow by difference), the
    -- programme-wide group is kept, or else the larger one, or else the
    -- first by module code.  Two groups differ by at least the difference
    -- of their sizes, so only pairs of sizes within 4 of each other are
    -- compared member by member.
    too_close AS (
        SELECT a.college, a.programme, a.week, a.module_code
        FROM published AS a
        JOIN published AS b
          ON b.college = a.college AND b.programme = a.programme AND b.week = a.week
         AND b.module_code IS DISTINCT FROM a.module_code
        WHERE a.module_code IS NOT NULL
          AND abs(a.students - b.students) <= 4
          AND (b.module_code IS NULL OR b.students > a.students
               OR (b.students = a.students AND b.module_code < a.module_code))
          -- (IN, not BETWEEN, which would compare the pair twice)
          AND @extschema@.symmetric_difference_size(a.members, b.members) IN (1, 2, 3, 4)
    )
    SELECT p.college, p.programme, p.module_code, p.week, p.students,
           p.mean_score, p.median_score, p.attendance_rate
    FROM published AS p
    WHERE NOT EXISTS (SELECT FROM too_close AS t
                      WHERE t.college = p.college AND t.programme = p.programme AND t.week = p.week
                        AND t.module_code = p.module_code)
    $sql$ USING weeks_from, weeks_until;

    SELECT count(*) INTO n_students
    FROM (SELECT DISTINCT de.student_id FROM @extschema@.daily_engagement AS de
          WHERE de.day BETWEEN from_day AND to_day) AS s;

    INSERT INTO @extschema@.refresh_run
        (started_at, finished_at, from_day, to_day, days, students, rows_written, rows_purged, students_caught_up)
    VALUES (started, pg_catalog.clock_timestamp(), from_day, to_day, to_day - from_day + 1,
            n_students, written, purged, pg_catalog.cardinality(stale_ids));

    CALL @extschema@.refresh_alerts();
END
$$;

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

-- Weights from the data: ordinal logistic regression (engage.ordinal_fit) -------
-- (sql/install/85_ordinal_fit.sql, and the grants that 95_grants.sql makes
-- for it in a fresh install)

CREATE TYPE @extschema@.ordinal_model AS (
    coefficients     double precision[],
    coefficient_se   double precision[],
    coefficient_z    double precision[],
    coefficient_p    double precision[],
    cut_points       double precision[],
    cut_point_se     double precision[],
    levels           integer[],
    level_weights    double precision[],
    log_likelihood   double precision,
    aic              double precision,
    n                bigint,
    total_weight     double precision,
    iterations       integer,
    converged        boolean,
    detail           text
);

COMMENT ON TYPE @extschema@.ordinal_model IS
'A proportional-odds model fitted by engage.ordinal_fit, logit P(Y <= k) = cut_points[k] - x''coefficients: the coefficients and cut-points with their standard errors (from the inverse observed information), the Wald z and two-sided p of each coefficient, the outcome levels seen and their total weights, the log-likelihood, AIC, the number of rows and their total weight, the Newton-Raphson iterations, whether it converged, and why not (detail; the standard errors are then NULL).';

-- Its array type is a member too, as engage.daily_profile's is: PostgreSQL 17
-- and later make it one along with the type; before 17 it is added here.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                   WHERE d.classid = 'pg_catalog.pg_type'::regclass
                     AND d.objid = '@extschema@._ordinal_model'::regtype
                     AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e') THEN
        ALTER EXTENSION engage ADD TYPE @extschema@._ordinal_model;
    END IF;
END
$$;
COMMENT ON TYPE @extschema@._ordinal_model IS 'Array of engage.ordinal_model.';

CREATE FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[])
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[]) IS
'Transition function of engage.ordinal_fit(integer, double precision[]): checks and keeps a row of weight 1.';

CREATE FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[], double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[], double precision) IS
'Transition function of engage.ordinal_fit(integer, double precision[], double precision): checks and keeps a weighted row.';

CREATE FUNCTION @extschema@.ordinal_fit_final(internal)
RETURNS @extschema@.ordinal_model
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_final(internal) IS
'Final function of engage.ordinal_fit: sorts and merges the rows, then maximises the likelihood by Newton-Raphson.';

CREATE FUNCTION @extschema@.ordinal_fit_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_combine(internal, internal) IS
'Combine function of engage.ordinal_fit: joins the rows kept by two parallel workers; refuses rows with different numbers of predictors.';

CREATE FUNCTION @extschema@.ordinal_fit_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_serialize(internal) IS
'Serialize function of engage.ordinal_fit, for parallel aggregation.';

CREATE FUNCTION @extschema@.ordinal_fit_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_deserialize(bytea, internal) IS
'Deserialize function of engage.ordinal_fit, for parallel aggregation.';

-- The final function sorts and merges the kept rows in place, so the state
-- is not shared with another aggregate (FINALFUNC_MODIFY = READ_WRITE).
CREATE AGGREGATE @extschema@.ordinal_fit(outcome integer, predictors double precision[]) (
    SFUNC            = @extschema@.ordinal_fit_trans,
    STYPE            = internal,
    SSPACE           = 65536,
    FINALFUNC        = @extschema@.ordinal_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC      = @extschema@.ordinal_fit_combine,
    SERIALFUNC       = @extschema@.ordinal_fit_serialize,
    DESERIALFUNC     = @extschema@.ordinal_fit_deserialize,
    PARALLEL         = SAFE
);

COMMENT ON AGGREGATE @extschema@.ordinal_fit(integer, double precision[]) IS
'Fits the proportional-odds (cumulative logit) model of the ordinal outcome on the predictors, every row of weight 1; returns engage.ordinal_model, or NULL over no rows.';

CREATE AGGREGATE @extschema@.ordinal_fit(outcome integer, predictors double precision[], weight double precision) (
    SFUNC            = @extschema@.ordinal_fit_trans,
    STYPE            = internal,
    SSPACE           = 65536,
    FINALFUNC        = @extschema@.ordinal_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC      = @extschema@.ordinal_fit_combine,
    SERIALFUNC       = @extschema@.ordinal_fit_serialize,
    DESERIALFUNC     = @extschema@.ordinal_fit_deserialize,
    PARALLEL         = SAFE
);

COMMENT ON AGGREGATE @extschema@.ordinal_fit(integer, double precision[], double precision) IS
'Fits the proportional-odds (cumulative logit) model of the ordinal outcome on the predictors with case weights (rows of weight 0 are left out); returns engage.ordinal_model, or NULL over no rows.';

CREATE FUNCTION @extschema@.ordinal_predict(model @extschema@.ordinal_model, predictors double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'engage_ordinal_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_predict(@extschema@.ordinal_model, double precision[]) IS
'The probability of each outcome level of a converged engage.ordinal_model (in the order of its levels) for one row of predictors.';

-- The weights of a college from its data ----------------------------------------
--
-- engage.fit_coefficients builds the training set of a college and year (one
-- row per student and module of its first-year programmes, students with
-- consent only), fits it with engage.ordinal_fit and stores the fit with its
-- provenance in engage.model_fit; engage.apply_fit writes a fit's weights
-- into engage.coefficients, whose triggers mark the days they change for the
-- nightly run.  Both run with the owner's rights: analysts may fit without
-- reading a student's row, and only the model leaves the database.

CREATE TABLE @extschema@.mark_band (
    band     integer PRIMARY KEY CONSTRAINT mark_band_positive CHECK (band >= 1),
    label    text NOT NULL UNIQUE CONSTRAINT mark_band_label_not_blank CHECK (btrim(label) <> ''),
    min_mark numeric(5,2) NOT NULL UNIQUE CONSTRAINT mark_band_min_mark_range CHECK (min_mark BETWEEN 0 AND 100)
);
COMMENT ON TABLE @extschema@.mark_band IS 'The ordered bands of a module mark that engage.fit_coefficients fits (for example fail, third, 2:2, 2:1, first): a mark is in the band with the highest min_mark not above it. Empty after CREATE EXTENSION; docs/weights.md gives the UK degree classes.';
COMMENT ON COLUMN @extschema@.mark_band.band IS 'Order of the band: higher is better. Must follow the order of min_mark.';
COMMENT ON COLUMN @extschema@.mark_band.label IS 'Name of the band, such as 2:1.';
COMMENT ON COLUMN @extschema@.mark_band.min_mark IS 'Lowest mark in the band; the lowest band starts at 0.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mark_band', '');

CREATE TABLE @extschema@.model_fit (
    fit_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    college        text NOT NULL REFERENCES @extschema@.college,
    academic_year  text NOT NULL REFERENCES @extschema@.academic_year,
    programmes     text[] NOT NULL,
    from_day       date NOT NULL,
    to_day         date NOT NULL,
    bands          text[] NOT NULL,
    band_min_marks numeric[] NOT NULL,
    students       integer NOT NULL,
    model          @extschema@.ordinal_model NOT NULL,
    ele            double precision,
    app            double precision,
    events         double precision,
    fitted_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    fitted_by      text NOT NULL DEFAULT session_user,
    applied_at     timestamptz,
    applied_by     text,
    replaced       double precision[],
    CONSTRAINT model_fit_weights_when_converged
        CHECK (((model).converged AND ele IS NOT NULL AND app IS NOT NULL AND events IS NOT NULL)
               OR (NOT (model).converged AND ele IS NULL AND app IS NULL AND events IS NULL)),
    CONSTRAINT model_fit_applied_once CHECK ((applied_at IS NULL) = (applied_by IS NULL))
);
CREATE INDEX ON @extschema@.model_fit (college, academic_year);
COMMENT ON TABLE @extschema@.model_fit IS 'Fits of the engagement weights by engage.fit_coefficients, with their provenance and diagnostics, and whether and by whom each was applied to engage.coefficients (engage.apply_fit). Written only by those functions.';
COMMENT ON COLUMN @extschema@.model_fit.fit_id IS 'Identifier of the fit.';
COMMENT ON COLUMN @extschema@.model_fit.college IS 'The college fitted.';
COMMENT ON COLUMN @extschema@.model_fit.academic_year IS 'The academic year fitted.';
COMMENT ON COLUMN @extschema@.model_fit.programmes IS 'The first-year programmes whose students were fitted, sorted.';
COMMENT ON COLUMN @extschema@.model_fit.from_day IS 'First day of the period the predictors cover (the start of the academic year).';
COMMENT ON COLUMN @extschema@.model_fit.to_day IS 'Last day of that period: the end of the year, or yesterday while it runs.';
COMMENT ON COLUMN @extschema@.model_fit.bands IS 'Labels of the mark bands (engage.mark_band) at the time of the fit, in order: the outcome levels.';
COMMENT ON COLUMN @extschema@.model_fit.band_min_marks IS 'The lowest mark of each of those bands.';
COMMENT ON COLUMN @extschema@.model_fit.students IS 'Students in the training set.';
COMMENT ON COLUMN @extschema@.model_fit.model IS 'The fitted model (engage.ordinal_model): predictors ELE minutes a day on the module, app choices a day, careers events attended a week; n is the number of (student, module) rows.';
COMMENT ON COLUMN @extschema@.model_fit.ele IS 'The ELE weight the fit gives (the coefficient of ELE minutes a day); NULL when the fit did not converge.';
COMMENT ON COLUMN @extschema@.model_fit.app IS 'The app weight (the coefficient of app choices a day); NULL when the fit did not converge.';
COMMENT ON COLUMN @extschema@.model_fit.events IS 'The events weight: 7 times the coefficient of careers events a week, since the score counts them a day; NULL when the fit did not converge.';
COMMENT ON COLUMN @extschema@.model_fit.fitted_at IS 'When the fit was made.';
COMMENT ON COLUMN @extschema@.model_fit.fitted_by IS 'Login role that made the fit.';
COMMENT ON COLUMN @extschema@.model_fit.applied_at IS 'When an administrator applied the fit to engage.coefficients; NULL if never.';
COMMENT ON COLUMN @extschema@.model_fit.applied_by IS 'Login role of that administrator.';
COMMENT ON COLUMN @extschema@.model_fit.replaced IS 'The weights (ele, app, events) the fit replaced in engage.coefficients; NULL if there were none or it was never applied.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_fit', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_fit_fit_id_seq', '');
COMMENT ON SEQUENCE @extschema@.model_fit_fit_id_seq IS 'Numbers engage.model_fit rows.';

-- A fit on fewer students than this is refused: small numbers identify people.
CREATE FUNCTION @extschema@.fit_min_students()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 50;
COMMENT ON FUNCTION @extschema@.fit_min_students() IS
'The fewest students engage.fit_coefficients fits (50): a fit on fewer is refused, since small numbers identify people.';

CREATE FUNCTION @extschema@.fit_coefficients(college text, academic_year text, programmes text[] DEFAULT NULL)
RETURNS @extschema@.model_fit
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    y          @extschema@.academic_year;
    last_day   date;
    ndays      double precision;
    progs      text[] := fit_coefficients.programmes;
    band_names text[];
    band_mins  numeric[];
    cohort_ids text[];
    cohort_programmes text[];
    m          @extschema@.ordinal_model;
    n_students integer;
    fitted     record;
    result     @extschema@.model_fit;
BEGIN
    IF NOT (pg_catalog.pg_has_role(session_user, 'engage_admin', 'MEMBER')
            OR pg_catalog.pg_has_role(session_user, 'engage_analyst', 'MEMBER')) THEN
        RAISE EXCEPTION 'only administrators and analysts may fit weights' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.college AS c WHERE c.code = fit_coefficients.college) THEN
        RAISE EXCEPTION 'no college %', coalesce(fit_coefficients.college, 'NULL') USING ERRCODE = '22023';
    END IF;
    SELECT * INTO y FROM @extschema@.academic_year AS a WHERE a.label = fit_coefficients.academic_year;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no academic year %', coalesce(fit_coefficients.academic_year, 'NULL') USING ERRCODE = '22023';
    END IF;
    last_day := least(y.ends, @extschema@.today() - 1);
    IF last_day < y.starts THEN
        RAISE EXCEPTION 'academic year % has not begun', y.label USING ERRCODE = '22023';
    END IF;
    ndays := last_day - y.starts + 1;
    IF progs IS NOT NULL AND (pg_catalog.cardinality(progs) = 0 OR pg_catalog.array_position(progs, NULL) IS NOT NULL) THEN
        RAISE EXCEPTION 'programmes must be NULL (the college''s first-year programmes) or name at least one programme'
            USING ERRCODE = '22023';
    END IF;

    SELECT pg_catalog.array_agg(b.label ORDER BY b.band), pg_catalog.array_agg(b.min_mark ORDER BY b.band)
    INTO band_names, band_mins FROM @extschema@.mark_band AS b;
    IF band_names IS NULL OR pg_catalog.cardinality(band_names) < 2 THEN
        RAISE EXCEPTION 'engage.mark_band needs at least two bands'
            USING ERRCODE = '55000',
                  HINT = 'An administrator inserts them, for example the UK classes: INSERT INTO engage.mark_band VALUES '
                         '(1, ''fail'', 0), (2, ''third'', 40), (3, ''2:2'', 50), (4, ''2:1'', 60), (5, ''first'', 70).';
    END IF;
    IF band_mins[1] <> 0 OR EXISTS (SELECT FROM pg_catalog.generate_series(2, pg_catalog.cardinality(band_mins)) AS i
                                    WHERE band_mins[i] <= band_mins[i - 1]) THEN
        RAISE EXCEPTION 'the bands of engage.mark_band must start at mark 0 and rise with their order'
            USING ERRCODE = '55000';
    END IF;

    -- the college's first-year students with consent in force for the year:
    -- those in the college at some time in the year so far
    SELECT pg_catalog.array_agg(s.student_id ORDER BY s.student_id),
           pg_catalog.array_agg(DISTINCT s.programme ORDER BY s.programme)
    INTO cohort_ids, cohort_programmes
    FROM @extschema@.student AS s
    JOIN @extschema@.consent_latest AS cl ON cl.student_id = s.student_id AND cl.academic_year = y.label
    WHERE cl.granted AND s.year_of_study = 1
      AND EXISTS (SELECT FROM @extschema@.college_spans AS sc
                  WHERE sc.student_id = s.student_id AND sc.college = fit_coefficients.college
                    AND sc.valid_from <= last_day AND (sc.valid_to IS NULL OR sc.valid_to > y.starts));
    IF progs IS NULL THEN
        progs := coalesce(cohort_programmes, '{}');
    ELSE
        SELECT pg_catalog.array_agg(DISTINCT p ORDER BY p) INTO progs FROM pg_catalog.unnest(progs) AS p;
    END IF;

    -- one row per (student, module): the band of the mean mark, and the
    -- student's ELE minutes a day on the module, app choices a day and
    -- careers events a week over the year so far; fitted only when there
    -- are enough students
    WITH cohort AS (
        SELECT s.student_id
        FROM @extschema@.student AS s
        WHERE s.student_id = ANY (cohort_ids) AND s.programme = ANY (progs)
    ), marks AS (
        SELECT am.student_id, am.module_code, pg_catalog.avg(am.mark) AS mark
        FROM @extschema@.assessment_mark AS am
        JOIN cohort AS f ON f.student_id = am.student_id
        JOIN @extschema@.enrolment AS e
          ON e.student_id = am.student_id AND e.module_code = am.module_code AND e.academic_year = y.label
        WHERE am.recorded_at >= @extschema@.local_midnight(y.starts)
          AND am.recorded_at < @extschema@.local_midnight(y.ends + 1)
        GROUP BY am.student_id, am.module_code
    ), ele AS (
        SELECT v.student_id, c.module_code, pg_catalog.sum(c.minutes) AS minutes
        FROM (SELECT ev.student_id, @extschema@.ele_minutes(ev.ts, ev.module_code) AS credits
              FROM @extschema@.ele_event AS ev
              JOIN cohort AS f ON f.student_id = ev.student_id
              WHERE ev.ts >= @extschema@.local_midnight(y.starts) AND ev.ts < @extschema@.local_midnight(last_day + 1)
              GROUP BY ev.student_id) AS v,
             pg_catalog.unnest(v.credits) AS c
        WHERE c.day BETWEEN y.starts AND last_day
        GROUP BY v.student_id, c.module_code
    ), app AS (
        SELECT a.student_id, pg_catalog.count(*) AS choices
        FROM @extschema@.app_event AS a
        JOIN cohort AS f ON f.student_id = a.student_id
        WHERE a.ts >= @extschema@.local_midnight(y.starts) AND a.ts < @extschema@.local_midnight(last_day + 1)
        GROUP BY a.student_id
    ), careers AS (
        SELECT ce.student_id, pg_catalog.count(*) AS attended
        FROM @extschema@.career_event AS ce
        JOIN cohort AS f ON f.student_id = ce.student_id
        WHERE ce.attended AND ce.event_day BETWEEN y.starts AND last_day
        GROUP BY ce.student_id
    ), training AS MATERIALIZED (
        SELECT mk.student_id,
               (SELECT b.band FROM @extschema@.mark_band AS b
                WHERE b.min_mark <= mk.mark ORDER BY b.min_mark DESC LIMIT 1) AS band,
               ARRAY[coalesce(ele.minutes, 0) / ndays,
                     coalesce(app.choices, 0) / ndays,
                     coalesce(careers.attended, 0) * 7 / ndays] AS x
        FROM marks AS mk
        LEFT JOIN ele ON ele.student_id = mk.student_id AND ele.module_code = mk.module_code
        LEFT JOIN app ON app.student_id = mk.student_id
        LEFT JOIN careers ON careers.student_id = mk.student_id
    ), size AS (
        SELECT pg_catalog.count(DISTINCT t.student_id)::integer AS students FROM training AS t
    )
    SELECT sz.students,
           (SELECT @extschema@.ordinal_fit(t.band, t.x) FROM training AS t
            WHERE sz.students >= @extschema@.fit_min_students()) AS model
    INTO fitted
    FROM size AS sz;
    n_students := fitted.students;
    m := fitted.model;

    IF n_students < @extschema@.fit_min_students() THEN
        RAISE EXCEPTION 'a fit needs at least % students', @extschema@.fit_min_students()
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('%s first-year students of %s in %s have consent and marks.',
                                             n_students, fit_coefficients.college, y.label),
                  HINT = 'Small numbers identify people: fit more programmes, or a college with more students.';
    END IF;

    INSERT INTO @extschema@.model_fit
        (college, academic_year, programmes, from_day, to_day, bands, band_min_marks, students, model,
         ele, app, events)
    VALUES (fit_coefficients.college, y.label, progs, y.starts, last_day, band_names, band_mins, n_students, m,
            CASE WHEN m.converged THEN m.coefficients[1] END,
            CASE WHEN m.converged THEN m.coefficients[2] END,
            CASE WHEN m.converged THEN 7 * m.coefficients[3] END)
    RETURNING * INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.fit_coefficients(text, text, text[]) IS
'Fits the engagement weights of a college for an academic year: an ordinal logistic regression (engage.ordinal_fit) of the band (engage.mark_band) of each module''s mean mark on the student''s ELE minutes a day on the module, app choices a day and careers events attended a week, over the year so far, for the first-year students of the given programmes (default: all the college''s) with consent in force. Stores and returns the fit (engage.model_fit). Administrators and analysts only; refuses fewer than engage.fit_min_students() students.';


CREATE FUNCTION @extschema@.apply_fit(fit_id bigint)
RETURNS @extschema@.coefficients
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f      @extschema@.model_fit;
    old    @extschema@.coefficients;
    result @extschema@.coefficients;
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, 'engage_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only an administrator may apply a fit' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO f FROM @extschema@.model_fit AS mf WHERE mf.fit_id = apply_fit.fit_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no fit %', coalesce(apply_fit.fit_id::text, 'NULL') USING ERRCODE = 'P0002';
    END IF;
    IF NOT (f.model).converged THEN
        RAISE EXCEPTION 'fit % did not converge and has no weights', f.fit_id
            USING ERRCODE = '55000', DETAIL = (f.model).detail;
    END IF;
    IF f.applied_at IS NOT NULL THEN
        RAISE EXCEPTION 'fit % was applied already', f.fit_id
            USING ERRCODE = '55000',
                  DETAIL = pg_catalog.format('%s applied it at %s.', f.applied_by, f.applied_at);
    END IF;

    SELECT * INTO old FROM @extschema@.coefficients AS c
    WHERE c.college = f.college AND c.academic_year = f.academic_year FOR UPDATE;
    -- the triggers on engage.coefficients mark the days these weights change
    INSERT INTO @extschema@.coefficients AS c (college, academic_year, ele, app, events)
    VALUES (f.college, f.academic_year, f.ele, f.app, f.events)
    ON CONFLICT (college, academic_year)
        DO UPDATE SET ele = EXCLUDED.ele, app = EXCLUDED.app, events = EXCLUDED.events
    RETURNING * INTO result;
    UPDATE @extschema@.model_fit AS mf
    SET applied_at = pg_catalog.clock_timestamp(), applied_by = session_user,
        replaced = CASE WHEN old.college IS NOT NULL THEN ARRAY[old.ele, old.app, old.events] END
    WHERE mf.fit_id = f.fit_id;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_fit(bigint) IS
'Writes the weights of a converged fit (engage.model_fit) into engage.coefficients for its college and year, and records in the fit who applied it, when, and the weights it replaced; the days the weights change are then recomputed by the nightly run. Administrators only; a fit is applied once.';

-- Privileges: the fit reads what analysts may not, so both functions run as
-- engage_owner; only the stored fits leave it.
ALTER FUNCTION @extschema@.fit_coefficients(text, text, text[]) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.apply_fit(bigint) OWNER TO engage_owner;
REVOKE ALL ON FUNCTION @extschema@.fit_coefficients(text, text, text[]), @extschema@.apply_fit(bigint),
                       @extschema@.fit_min_students()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.fit_coefficients(text, text, text[]), @extschema@.fit_min_students()
    TO engage_admin, engage_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.apply_fit(bigint) TO engage_admin;
GRANT SELECT ON @extschema@.model_fit, @extschema@.mark_band TO engage_admin, engage_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.mark_band TO engage_admin;
GRANT SELECT ON @extschema@.mark_band TO engage_owner;
GRANT SELECT, INSERT, UPDATE ON @extschema@.model_fit TO engage_owner;
-- (what the fit reads of the warehouse is granted to engage_owner at the end
-- of 95_grants.sql, after the other roles' grants on those tables)
GRANT EXECUTE ON FUNCTION @extschema@.fit_min_students() TO engage_owner;
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

CREATE OR REPLACE VIEW @extschema@.my_students
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

COMMENT ON COLUMN @extschema@.my_students.mean_mark IS 'Provisional mean of this academic year''s marks, to one decimal. NULL without consent, during an exam period, or without marks.';
COMMENT ON COLUMN @extschema@.my_students.mark_band IS 'Classification band of mean_mark (engage.mark_class).';
COMMENT ON COLUMN @extschema@.my_students.marks IS 'Number of marks behind mean_mark.';
COMMENT ON COLUMN @extschema@.my_students.programme_week IS 'Monday of the week programme_position is about: the latest with published programme-wide cohort figures. NULL without consent or where the cohort is too small to publish.';
COMMENT ON COLUMN @extschema@.my_students.programme_position IS 'upper half, lower half or median: the student''s mean daily score in programme_week against the median of their programme''s consenting students (engage.programme_positions).';

CREATE OR REPLACE VIEW @extschema@.dashboard_grades
WITH (security_invoker = true) AS
SELECT k.student_id, k.module_code, m.title AS module_title, k.assessment, k.kind, k.mark,
       @extschema@.mark_class(k.mark) AS band,
       true AS provisional,
       k.recorded_at
FROM @extschema@.assessment_mark AS k
JOIN @extschema@.module AS m ON m.module_code = k.module_code;

CREATE TABLE @extschema@.alert (
    alert_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id  text NOT NULL REFERENCES @extschema@.student ON DELETE CASCADE,
    kind        text NOT NULL CONSTRAINT alert_kind_known
        CHECK (kind IN ('score_drop', 'no_vle_7d', 'attendance_falling', 'absence_run', 'failed_mark')),
    module_code text,
    fired_on    date NOT NULL,
    fired_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    cleared_at  timestamptz,
    detail      jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT alert_module_for_marks CHECK ((kind = 'failed_mark') = (module_code IS NOT NULL)),
    CONSTRAINT alert_cleared_after_fired CHECK (cleared_at >= fired_at)
);
-- one open alert per student, kind and module
CREATE UNIQUE INDEX alert_open_key ON @extschema@.alert (student_id, kind, (COALESCE(module_code, '')))
    WHERE cleared_at IS NULL;
CREATE INDEX ON @extschema@.alert (student_id, fired_at);
COMMENT ON TABLE @extschema@.alert IS 'Alerts with a history, written by engage.refresh_alerts: a condition that began to hold for a student (fired) and, once it no longer holds, when it stopped (cleared). Read under the rule of the data behind it.';
COMMENT ON COLUMN @extschema@.alert.alert_id IS 'Identifier of the alert; the payload of a notification on channel engage_alert.';
COMMENT ON COLUMN @extschema@.alert.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.alert.kind IS 'score_drop, no_vle_7d (engagement: with consent only), attendance_falling, absence_run (attendance), or failed_mark (a mark: as the grades tab).';
COMMENT ON COLUMN @extschema@.alert.module_code IS 'The module of a failed_mark; NULL for the other kinds.';
COMMENT ON COLUMN @extschema@.alert.fired_on IS 'The day whose figures first met the condition (the day before the run).';
COMMENT ON COLUMN @extschema@.alert.fired_at IS 'When the run that fired it ran.';
COMMENT ON COLUMN @extschema@.alert.cleared_at IS 'When a run first found the condition no longer met; NULL while the alert is open.';
COMMENT ON COLUMN @extschema@.alert.detail IS 'The figures that met the condition, as a JSON object (see docs/views.md).';
COMMENT ON SEQUENCE @extschema@.alert_alert_id_seq IS 'Numbers engage.alert rows.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alert', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alert_alert_id_seq', '');

ALTER TABLE @extschema@.alert ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.alert FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.alert FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY (CASE WHEN kind IN ('score_drop', 'no_vle_7d')
                                  THEN (SELECT @extschema@.consenting_students())
                                  WHEN kind = 'failed_mark'
                                  THEN (SELECT @extschema@.mark_students())
                                  ELSE (SELECT @extschema@.visible_students()) END::text[]));
CREATE POLICY loader_all ON @extschema@.alert FOR ALL TO engage_loader USING (true) WITH CHECK (true);

CREATE PROCEDURE @extschema@.refresh_alerts()
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the figures of yesterday, the last day the nightly run computes; this
    -- first call also loads the library, which defines the settings read below
    as_of           date := @extschema@.today() - 1;
    midnight        timestamptz := @extschema@.local_midnight(as_of + 1);
    year_starts     date := (SELECT y.starts FROM @extschema@.academic_year AS y
                             WHERE as_of BETWEEN y.starts AND y.ends);
    drop_ratio      double precision := pg_catalog.current_setting('engage.alert_score_drop_ratio');
    score_floor     double precision := pg_catalog.current_setting('engage.alert_score_floor');
    attendance_drop numeric := pg_catalog.current_setting('engage.alert_attendance_drop');
    min_sessions    integer := pg_catalog.current_setting('engage.alert_attendance_sessions');
    absence_run     integer := pg_catalog.current_setting('engage.alert_absence_run');
    fail_mark       numeric := pg_catalog.current_setting('engage.alert_fail_mark');
    changed         bigint;
BEGIN
    -- No profiling without consent: the engagement alerts of a year whose
    -- consent is withdrawn go, as the refresh removes the rows behind them.
    DELETE FROM @extschema@.alert AS a
    USING @extschema@.consent_latest AS cl, @extschema@.academic_year AS y
    WHERE a.kind IN ('score_drop', 'no_vle_7d') AND NOT cl.granted
      AND y.label = cl.academic_year AND a.fired_on BETWEEN y.starts AND y.ends
      AND cl.student_id = a.student_id;

    -- What holds now, read in one statement (one snapshot), is compared
    -- with what is open (on keys a hash join can match: coalesce, not IS NOT
    -- DISTINCT FROM): open alerts whose condition is gone clear, new
    -- conditions fire, and each change is announced by id only (anyone
    -- connected may LISTEN).  Only the refresh writes alerts, one run at a
    -- time, so the steps after the first see the alerts as it left them.
    -- (Each step is a statement a Citus cluster can run.)
    IF pg_catalog.to_regclass('pg_temp.engage_alert_holding') IS NOT NULL THEN
        DROP TABLE pg_temp.engage_alert_holding;
    END IF;
    CREATE TEMP TABLE engage_alert_holding ON COMMIT DROP AS
    WITH consenting AS (
        SELECT cl.student_id FROM @extschema@.consent_latest AS cl
        JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
        WHERE cl.granted AND as_of BETWEEN y.starts AND y.ends
    ), holding AS (
        -- engagement, from the stored figures, of students whose consent is
        -- in force (the refresh may not have purged a withdrawal yet)
        SELECT d.student_id, 'score_drop' AS kind, NULL::text AS module_code,
               pg_catalog.jsonb_build_object('score', d.score, 'mean_4wk', w.mean_4wk) AS detail
        FROM @extschema@.daily_engagement AS d
        JOIN (SELECT p.student_id, @extschema@.stable_avg(p.score) AS mean_4wk FROM @extschema@.daily_engagement AS p
              WHERE p.module_code IS NULL AND p.day BETWEEN as_of - 28 AND as_of - 1
              GROUP BY p.student_id) AS w ON w.student_id = d.student_id
        WHERE d.module_code IS NULL AND d.day = as_of
          AND d.student_id IN (SELECT c.student_id FROM consenting AS c)
          AND w.mean_4wk >= score_floor AND d.score < drop_ratio * w.mean_4wk
        UNION ALL
        SELECT d.student_id, 'no_vle_7d', NULL, pg_catalog.jsonb_build_object('ele_minutes_7d', d.ele_minutes_7d)
        FROM @extschema@.daily_engagement AS d
        WHERE d.module_code IS NULL AND d.day = as_of AND d.ele_minutes_7d = 0
          AND d.student_id IN (SELECT c.student_id FROM consenting AS c)
        UNION ALL
        -- attendance this academic year up to yesterday, authorised absences aside
        SELECT r.student_id, 'attendance_falling', NULL,
               pg_catalog.jsonb_build_object('rate_4wk', r.rate_4wk, 'rate_before', r.rate_before)
        FROM (
            SELECT a.student_id,
                   round(100.0 * count(*) FILTER (WHERE a.recent AND a.status = 'present')
                         / nullif(count(*) FILTER (WHERE a.recent), 0), 1) AS rate_4wk,
                   round(100.0 * count(*) FILTER (WHERE NOT a.recent AND a.status = 'present')
                         / nullif(count(*) FILTER (WHERE NOT a.recent), 0), 1) AS rate_before,
                   count(*) FILTER (WHERE a.recent) AS n_recent,
                   count(*) FILTER (WHERE NOT a.recent) AS n_before
            FROM (SELECT at.student_id, at.status,
                         at.starts_at >= @extschema@.local_midnight(as_of - 27) AS recent
                  FROM @extschema@.attendance AS at
                  WHERE at.starts_at >= @extschema@.local_midnight(year_starts) AND at.starts_at < midnight
                    AND at.status <> 'authorised_absence') AS a
            GROUP BY a.student_id
        ) AS r
        WHERE r.n_recent >= min_sessions AND r.n_before >= min_sessions
          AND r.rate_4wk <= r.rate_before - attendance_drop
        UNION ALL
        -- each student's last sessions (numbered per student, which a Citus
        -- cluster runs on the worker that keeps the student; the students
        -- told apart byte by byte, which sorts the year's sessions faster)
        SELECT l.student_id, 'absence_run', NULL, pg_catalog.jsonb_build_object('sessions', count(*))
        FROM (SELECT at.student_id, at.status,
                     pg_catalog.row_number() OVER (PARTITION BY at.student_id COLLATE "C"
                                                   ORDER BY at.starts_at DESC, at.session_id DESC) AS k
              FROM @extschema@.attendance AS at
              WHERE at.starts_at >= @extschema@.local_midnight(year_starts) AND at.starts_at < midnight
                AND at.status <> 'authorised_absence') AS l
        WHERE l.k <= absence_run
        GROUP BY l.student_id
        HAVING count(*) = absence_run AND bool_and(l.status = 'absent')
        UNION ALL
        -- a module whose latest mark this academic year is a fail: the first
        -- fail fires, later fails keep it open, a pass clears it
        SELECT k.student_id, 'failed_mark', k.module_code,
               pg_catalog.jsonb_build_object('assessment', k.assessment, 'mark', k.mark)
        FROM (SELECT DISTINCT ON (m.student_id, m.module_code) m.student_id, m.module_code, m.assessment, m.mark
              FROM @extschema@.assessment_mark AS m
              WHERE m.recorded_at >= @extschema@.local_midnight(year_starts) AND m.recorded_at < midnight
              ORDER BY m.student_id, m.module_code, m.recorded_at DESC, m.assessment) AS k
        WHERE k.mark < fail_mark
    )
    SELECT h.student_id, h.kind, h.module_code, h.detail FROM holding AS h;

    FOR changed IN
        UPDATE @extschema@.alert AS a SET cleared_at = pg_catalog.statement_timestamp()
        WHERE a.cleared_at IS NULL
          AND a.alert_id = ANY (ARRAY(
              SELECT o.alert_id FROM @extschema@.alert AS o
              LEFT JOIN pg_temp.engage_alert_holding AS h
                ON h.student_id = o.student_id AND h.kind = o.kind
               AND coalesce(h.module_code, '') = coalesce(o.module_code, '')
              WHERE o.cleared_at IS NULL AND h.student_id IS NULL))
        RETURNING a.alert_id
    LOOP
        PERFORM pg_catalog.pg_notify('engage_alert',
                    pg_catalog.jsonb_build_object('alert_id', changed, 'change', 'cleared')::text);
    END LOOP;

    IF pg_catalog.to_regclass('pg_temp.engage_alert_new') IS NOT NULL THEN
        DROP TABLE pg_temp.engage_alert_new;
    END IF;
    CREATE TEMP TABLE engage_alert_new ON COMMIT DROP AS
    SELECT h.student_id, h.kind, h.module_code, h.detail
    FROM pg_temp.engage_alert_holding AS h
    LEFT JOIN @extschema@.alert AS o
      ON o.cleared_at IS NULL AND o.student_id = h.student_id AND o.kind = h.kind
     AND coalesce(o.module_code, '') = coalesce(h.module_code, '')
    WHERE o.alert_id IS NULL;
    FOR changed IN
        INSERT INTO @extschema@.alert AS a (student_id, kind, module_code, fired_on, fired_at, detail)
        SELECT n.student_id, n.kind, n.module_code, as_of, pg_catalog.statement_timestamp(), n.detail
        FROM pg_temp.engage_alert_new AS n
        RETURNING a.alert_id
    LOOP
        PERFORM pg_catalog.pg_notify('engage_alert',
                    pg_catalog.jsonb_build_object('alert_id', changed, 'change', 'fired')::text);
    END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.refresh_alerts() IS
'Called by engage.refresh at its end: fires the alerts whose condition holds as of yesterday (thresholds in the engage.alert_* settings), clears the open ones whose condition no longer holds, removes the engagement alerts of withdrawn consent, and sends {"alert_id": ..., "change": "fired" | "cleared"} on channel engage_alert for each change.';

CREATE VIEW @extschema@.dashboard_alerts
WITH (security_invoker = true) AS
SELECT a.alert_id, a.student_id, a.kind,
       CASE a.kind WHEN 'score_drop' THEN 'Engagement score dropped'
                   WHEN 'no_vle_7d' THEN 'No VLE activity for 7 days'
                   WHEN 'attendance_falling' THEN 'Attendance falling'
                   WHEN 'absence_run' THEN 'Unauthorised absences in a row'
                   WHEN 'failed_mark' THEN 'Failed mark' END AS title,
       a.module_code, m.title AS module_title, a.detail, a.fired_on, a.fired_at, a.cleared_at,
       a.cleared_at IS NULL AS open
FROM @extschema@.alert AS a
LEFT JOIN @extschema@.module AS m ON m.module_code = a.module_code;

COMMENT ON VIEW @extschema@.dashboard_alerts IS
'The alerts tab: the alert history of students the viewer may see, each under the rule of the data behind it (engagement alerts with consent, failed marks as the grades tab, attendance alerts always).';
COMMENT ON COLUMN @extschema@.dashboard_alerts.alert_id IS 'The alert.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.kind IS 'score_drop, no_vle_7d, attendance_falling, absence_run or failed_mark.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.title IS 'What fired, in words.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.module_code IS 'Module of a failed mark.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.module_title IS 'Title of that module.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.detail IS 'The figures that met the condition.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.fired_on IS 'The day whose figures first met the condition.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.fired_at IS 'When the alert fired.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.cleared_at IS 'When it cleared; NULL while open.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.open IS 'Whether the condition still held at the last run.';

-- One call per dashboard.  The caller's rights throughout: only the views
-- are read, so that nothing the views hide can appear.
CREATE FUNCTION @extschema@.dashboard(student_id text)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: Citus plans no parameter of an SQL function)
    RETURN (
    SELECT pg_catalog.jsonb_build_object(
        'student', pg_catalog.to_jsonb(ms),
        'exam_period', @extschema@.in_exam_period(),
        'grades', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(g) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY g.recorded_at, g.module_code, g.assessment)
            FROM @extschema@.dashboard_grades AS g WHERE g.student_id = dashboard.student_id), '[]'),
        'attendance', pg_catalog.jsonb_build_object(
            'modules', coalesce((
                SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(am) ORDER BY am.module_code)
                FROM (SELECT DISTINCT a.module_code, a.module_title, a.module_sessions, a.module_present,
                             a.module_authorised, a.module_absent, a.module_rate
                      FROM @extschema@.dashboard_attendance AS a WHERE a.student_id = dashboard.student_id) AS am), '[]'),
            'sessions', coalesce((
                SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                           'starts_at', a.starts_at, 'module_code', a.module_code, 'session_type', a.session_type,
                           'status', a.status, 'counts_against', a.counts_against)
                       ORDER BY a.starts_at DESC, a.session_id)
                FROM @extschema@.dashboard_attendance AS a
                WHERE a.student_id = dashboard.student_id
                  AND a.starts_at >= @extschema@.local_midnight(@extschema@.today() - 56)), '[]')),
        'engagement', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'module_code', e.module_code, 'module_title', e.module_title, 'days', e.days)
                   ORDER BY e.module_code NULLS FIRST)
            FROM (SELECT d.module_code, d.module_title,
                         pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                             'day', d.day, 'score', d.score, 'ele_minutes', d.ele_minutes,
                             'app_choices', d.app_choices, 'career_events', d.career_events,
                             'ele_minutes_7d', d.ele_minutes_7d, 'app_choices_7d', d.app_choices_7d,
                             'career_events_7d', d.career_events_7d) ORDER BY d.day) AS days
                  FROM @extschema@.dashboard_engagement AS d
                  WHERE d.student_id = dashboard.student_id AND d.day >= @extschema@.today() - 56
                  GROUP BY d.module_code, d.module_title) AS e), '[]'),
        'employability', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(p) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY p.academic_year DESC)
            FROM @extschema@.dashboard_employability AS p WHERE p.student_id = dashboard.student_id), '[]'),
        'meetings', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(n) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY n.met_on DESC, n.note_id DESC)
            FROM @extschema@.dashboard_meetings AS n WHERE n.student_id = dashboard.student_id), '[]'),
        'alerts', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(a) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY a.open DESC, a.fired_at DESC, a.alert_id DESC)
            FROM @extschema@.dashboard_alerts AS a WHERE a.student_id = dashboard.student_id), '[]'))
    FROM @extschema@.my_students AS ms
    WHERE ms.student_id = dashboard.student_id);
END
$$;
COMMENT ON FUNCTION @extschema@.dashboard(text) IS
'Every tab of one student''s dashboard as one JSON object (student, exam_period, grades, attendance, engagement for the last 56 days, employability, meetings, alerts), read from the views with the caller''s rights; NULL for a student the viewer may not see.';

CREATE FUNCTION @extschema@.my_students_json()
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL, as engage.dashboard)
    RETURN (
    SELECT coalesce(pg_catalog.jsonb_agg(
               pg_catalog.to_jsonb(ms) OPERATOR(pg_catalog.||)
               pg_catalog.jsonb_build_object('open_alerts', coalesce(oa.kinds, '[]'))
               ORDER BY ms.full_name, ms.student_id), '[]')
    FROM @extschema@.my_students AS ms
    LEFT JOIN (SELECT a.student_id, pg_catalog.jsonb_agg(a.kind ORDER BY a.fired_at, a.alert_id) AS kinds
               FROM @extschema@.dashboard_alerts AS a WHERE a.open
               GROUP BY a.student_id) AS oa ON oa.student_id = ms.student_id);
END
$$;
COMMENT ON FUNCTION @extschema@.my_students_json() IS
'The tutee list as one JSON array: the rows of engage.my_students by name, each with open_alerts, the kinds of its open alerts the viewer may see; read with the caller''s rights.';

-- Who may call and read what.  engage.programme_position and engage.mark_class,
-- defined with engage.my_students, are granted with the other functions that
-- run with the owner's rights and with the computation (95_grants.sql).
REVOKE ALL ON @extschema@.alert, @extschema@.dashboard_alerts FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dashboard(text), @extschema@.my_students_json() FROM PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.refresh_alerts() FROM PUBLIC;
GRANT SELECT ON @extschema@.alert, @extschema@.dashboard_alerts TO engage_app, engage_tutor, engage_student;
GRANT EXECUTE ON FUNCTION @extschema@.dashboard(text), @extschema@.my_students_json()
    TO engage_app, engage_tutor, engage_student;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.alert TO engage_loader;
GRANT EXECUTE ON PROCEDURE @extschema@.refresh_alerts() TO engage_loader;
REVOKE ALL ON FUNCTION @extschema@.programme_positions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.programme_positions() TO engage_app, engage_tutor, engage_student;
ALTER FUNCTION @extschema@.programme_positions() OWNER TO engage_owner;
GRANT SELECT ON @extschema@.daily_engagement TO engage_owner;
REVOKE ALL ON FUNCTION @extschema@.mark_class(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.mark_class(numeric) TO PUBLIC;
COMMENT ON POLICY viewer_read ON @extschema@.alert IS 'Tutors, students and the web front end read the rows of students they may see (see docs/security.md).';
COMMENT ON POLICY loader_all ON @extschema@.alert IS 'Loaders read and write every row.';

-- The loading path (COPY into staging tables, engage.load, rejects) ---------------------------
-- As sql/install/85_loading.sql, then what sql/install/95_grants.sql does for every object.

CREATE FUNCTION @extschema@.input_valid(value text, type regtype, typmod integer)
RETURNS boolean
AS 'MODULE_PATHNAME', 'engage_input_valid'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@.input_valid(text, regtype, integer) IS
'Whether value reads as the type (with the type modifier, -1 for none), without an error when it does not: how engage.load sets a bad value aside instead of failing the batch.';

CREATE FUNCTION @extschema@.stage_line()
RETURNS bigint
AS 'MODULE_PATHNAME', 'engage_stage_line'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@.stage_line() IS
'The next line number of this session''s staged rows (the default of every staging table''s line): rows copied in one COPY get consecutive numbers, in the order of the file.';

CREATE TABLE @extschema@.load_run (
    run_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source      text NOT NULL,
    loaded_by   text NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    rows_in     bigint NOT NULL,
    loaded      bigint NOT NULL,
    rejected    bigint NOT NULL,
    duplicates  bigint NOT NULL
);
CREATE INDEX ON @extschema@.load_run (loaded_by);
COMMENT ON TABLE @extschema@.load_run IS 'One row per engage.load: which table, who, when, and what became of the staged rows (rows_in = loaded + rejected + duplicates). A loader reads the runs of its own login.';
COMMENT ON COLUMN @extschema@.load_run.run_id IS 'Identifier of the run; engage.load_reject rows name it.';
COMMENT ON COLUMN @extschema@.load_run.source IS 'The table loaded, such as ele_event.';
COMMENT ON COLUMN @extschema@.load_run.loaded_by IS 'The login (session user) that staged and loaded the rows.';
COMMENT ON COLUMN @extschema@.load_run.started_at IS 'When the load started.';
COMMENT ON COLUMN @extschema@.load_run.finished_at IS 'When the load finished.';
COMMENT ON COLUMN @extschema@.load_run.rows_in IS 'Rows staged and taken by the load.';
COMMENT ON COLUMN @extschema@.load_run.loaded IS 'Rows inserted into the table.';
COMMENT ON COLUMN @extschema@.load_run.rejected IS 'Rows set aside in engage.load_reject.';
COMMENT ON COLUMN @extschema@.load_run.duplicates IS 'Good rows not inserted because the table (or an earlier line of the batch) already held the same row by its natural key.';

CREATE TABLE @extschema@.load_reject (
    run_id      bigint NOT NULL REFERENCES @extschema@.load_run ON DELETE CASCADE,
    line        bigint NOT NULL,
    column_name text NOT NULL,
    reason      text NOT NULL,
    value       text,
    loaded_by   text NOT NULL,
    PRIMARY KEY (run_id, line)
);
CREATE INDEX ON @extschema@.load_reject (loaded_by);
COMMENT ON TABLE @extschema@.load_reject IS 'The rows engage.load set aside, one per bad row, with the first problem found. A loader reads the rejects of its own login.';
COMMENT ON COLUMN @extschema@.load_reject.run_id IS 'The run (engage.load_run) that set the row aside.';
COMMENT ON COLUMN @extschema@.load_reject.line IS 'Position of the row among the rows staged for the run, from 1: the line of the file when one file was copied (add 1 when it had a header line).';
COMMENT ON COLUMN @extschema@.load_reject.column_name IS 'The column (or columns, comma-separated) at fault.';
COMMENT ON COLUMN @extschema@.load_reject.reason IS 'What is wrong, in words; it never repeats the value.';
COMMENT ON COLUMN @extschema@.load_reject.value IS 'The staged value of the column at fault, cut to 40 characters.';
COMMENT ON COLUMN @extschema@.load_reject.loaded_by IS 'The login that staged the row.';

ALTER TABLE @extschema@.load_run ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.load_run FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.load_reject ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.load_reject FORCE ROW LEVEL SECURITY;
CREATE POLICY loader_own ON @extschema@.load_run FOR SELECT TO engage_loader
    USING (loaded_by = session_user);
CREATE POLICY loader_own ON @extschema@.load_reject FOR SELECT TO engage_loader
    USING (loaded_by = session_user);
GRANT SELECT ON @extschema@.load_run, @extschema@.load_reject TO engage_loader;
GRANT SELECT, INSERT ON @extschema@.load_run, @extschema@.load_reject TO engage_owner;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.load_run', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.load_reject', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.load_run_run_id_seq', '');
COMMENT ON SEQUENCE @extschema@.load_run_run_id_seq IS 'Numbers engage.load_run rows.';

-- One staging table per source table: its columns as text, in the same
-- order (but the consent number and recorder, which the database sets),
-- then the line and the login.  Unlogged: a crash empties them, and the
-- loader copies the file again.
DO $$
DECLARE
    source text;
    cols text;
    names text;
    stage text;
BEGIN
    FOREACH source IN ARRAY ARRAY['college', 'module', 'staff', 'student', 'tutoring', 'consent',
                                  'enrolment', 'ele_event', 'app_event', 'career_event', 'attendance',
                                  'assessment_mark', 'employability'] LOOP
        stage := 'stage_' || source;
        SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' text', ', ' ORDER BY a.attnum),
               pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum)
        INTO cols, names
        FROM pg_catalog.pg_attribute AS a
        WHERE a.attrelid = pg_catalog.format('@extschema@.%I', source)::regclass
          AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = '' AND a.attgenerated = ''
          AND NOT (source = 'consent' AND a.attname = 'recorded_by');
        EXECUTE pg_catalog.format(
            'CREATE UNLOGGED TABLE @extschema@.%I (%s,
                 line bigint NOT NULL DEFAULT @extschema@.stage_line(),
                 loaded_by text NOT NULL DEFAULT session_user)', stage, cols);
        EXECUTE pg_catalog.format('GRANT INSERT (%s) ON @extschema@.%I TO engage_loader', names, stage);
        EXECUTE pg_catalog.format('GRANT SELECT, DELETE ON @extschema@.%I TO engage_owner', stage);
        EXECUTE pg_catalog.format('COMMENT ON TABLE @extschema@.%I IS %L', stage,
            pg_catalog.format('Staging for engage.%s: a loader COPYs rows in (naming the columns), then engage.load(%L) loads them. Only engage.load reads it.', source, source));
        EXECUTE pg_catalog.format('COMMENT ON COLUMN @extschema@.%I.line IS %L', stage,
            'Set by engage.stage_line(): the order in which this session staged the row.');
        EXECUTE pg_catalog.format('COMMENT ON COLUMN @extschema@.%I.loaded_by IS %L', stage,
            'The login (session user) that staged the row; engage.load takes only its caller''s.');
        EXECUTE (SELECT pg_catalog.string_agg(pg_catalog.format('COMMENT ON COLUMN @extschema@.%I.%I IS %L',
                            stage, a.attname, pg_catalog.format('engage.%s.%s, as text.', source, a.attname)), '; ')
                 FROM pg_catalog.pg_attribute AS a
                 WHERE a.attrelid = pg_catalog.format('@extschema@.%I', stage)::regclass
                   AND a.attnum > 0 AND a.attname NOT IN ('line', 'loaded_by'));
    END LOOP;
END
$$;

-- The checks are built from the table's own definition (types, NOT NULL,
-- defaults, CHECK, unique and foreign-key constraints), so they cannot drift
-- from it; plausibility (instants near the known academic years, no attended
-- careers event in the future, no more decimals than the column keeps) is
-- added here.  A row is reported with its first problem.
CREATE FUNCTION @extschema@.load(source regclass, plausible interval DEFAULT '1 year')
RETURNS @extschema@.load_run
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target text;
    stage regclass;
    run @extschema@.load_run;
    first_year date;
    last_year date;
    keys text[];
    typed text := '';
    problems text := '';
    joins text := '';
    ref_problems text := '';
    inserted text := '';
    selected text := '';
    col record;
    con record;
    i integer := 0;
    good bigint;
BEGIN
    SELECT c.relname INTO target FROM pg_catalog.pg_class AS c
    WHERE c.oid = source AND c.relnamespace = '@extschema@'::regnamespace AND c.relname NOT LIKE 'stage\_%';
    stage := pg_catalog.to_regclass(pg_catalog.format('@extschema@.%I', 'stage_' || coalesce(target, '')));
    IF stage IS NULL THEN
        RAISE EXCEPTION 'engage.load cannot load %', source
            USING ERRCODE = '22023',
                  HINT = 'Load one of the tables that have a staging table: college, module, staff, student, tutoring, consent, enrolment, ele_event, app_event, career_event, attendance, assessment_mark, employability.';
    END IF;
    IF plausible IS NULL OR plausible < '0' OR NOT pg_catalog.isfinite(plausible) THEN
        RAISE EXCEPTION 'the plausible window must be a finite interval of at least 0'
            USING ERRCODE = '22023', DETAIL = pg_catalog.format('It was %s.', coalesce(plausible::text, 'NULL'));
    END IF;
    SELECT min(y.starts), max(y.ends) INTO first_year, last_year FROM @extschema@.academic_year AS y;

    -- loads of one table run one at a time, so that two sending the same
    -- rows cannot both find them new
    PERFORM pg_catalog.pg_advisory_xact_lock(1701277537, source::oid::integer);

    -- what makes two rows the same row: the primary key, or for the tables
    -- of events and of consent history, which have none, the natural key
    keys := CASE target
        WHEN 'ele_event' THEN ARRAY['student_id', 'ts', 'module_code']
        WHEN 'app_event' THEN ARRAY['student_id', 'ts', 'menu_item']
        WHEN 'consent' THEN ARRAY['student_id', 'academic_year', 'recorded_at']
        ELSE (SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.n)
              FROM pg_catalog.pg_constraint AS pk
              CROSS JOIN LATERAL pg_catalog.unnest(pk.conkey) WITH ORDINALITY AS k(attnum, n)
              JOIN pg_catalog.pg_attribute AS a ON a.attrelid = pk.conrelid AND a.attnum = k.attnum
              WHERE pk.conrelid = source AND pk.contype = 'p') END;

    FOR col IN
        SELECT a.attname::text AS name, a.atttypid::regtype AS type, a.atttypmod AS typmod,
               a.attnotnull AS notnull, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type_name,
               pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_value, s.attname IS NOT NULL AS staged
        FROM pg_catalog.pg_attribute AS a
        LEFT JOIN pg_catalog.pg_attribute AS s ON s.attrelid = stage AND s.attname = a.attname
        LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped AND a.attidentity = ''
        ORDER BY a.attnum
    LOOP
        inserted := inserted || ', ' || pg_catalog.quote_ident(col.name);
        -- the one column not staged: a consent decision's recorder is the login
        IF NOT col.staged THEN
            selected := selected || ', session_user';
            CONTINUE;
        END IF;
        selected := selected || ', j.' || pg_catalog.quote_ident(col.name);
        -- the typed value: the default for an empty value, NULL for one that
        -- does not read as the type
        typed := typed || pg_catalog.format(
            ', b.%1$I AS %6$I, CASE WHEN NULLIF(b.%1$I, %2$L) IS NULL THEN %3$s::%4$s %5$s END AS %1$I',
            col.name, '', coalesce(col.default_value, 'NULL'), col.type_name,
            CASE WHEN col.type = 'text'::regtype THEN pg_catalog.format('ELSE b.%I', col.name)
                 ELSE pg_catalog.format('WHEN @extschema@.input_valid(b.%1$I, %2$L, %3$s) THEN b.%1$I::%4$s',
                                        col.name, col.type, col.typmod, col.type_name) END,
            'raw_' || col.name);
        IF col.notnull AND col.default_value IS NULL THEN
            problems := problems || pg_catalog.format(
                ' WHEN NULLIF(t.%4$I, %2$L) IS NULL THEN ARRAY[%1$L, %3$L, NULL]', col.name, '', 'is missing',
                'raw_' || col.name);
        END IF;
        IF col.type <> 'text'::regtype THEN
            problems := problems || pg_catalog.format(
                ' WHEN t.%1$I IS NULL AND NULLIF(t.%4$I, %2$L) IS NOT NULL THEN ARRAY[%1$L, %3$L, t.%4$I]',
                col.name, '', 'is not a valid ' || col.type_name, 'raw_' || col.name);
        END IF;
        -- numeric(p,s) would round a value with more decimals
        IF col.type = 'numeric'::regtype AND col.typmod >= 0 THEN
            problems := problems || pg_catalog.format(
                ' WHEN t.%1$I <> NULLIF(t.%4$I, %2$L)::numeric THEN ARRAY[%1$L, %3$L, t.%4$I]',
                col.name, '', pg_catalog.format('has more than %s decimals', (col.typmod - 4) & 65535),
                'raw_' || col.name);
        END IF;
        -- instants and days near the academic years the warehouse knows
        IF col.type IN ('timestamptz'::regtype, 'date'::regtype) THEN
            IF first_year IS NULL THEN
                RAISE EXCEPTION 'engage.load cannot judge the dates of %: no academic year is known', target
                    USING ERRCODE = '55000', HINT = 'Load engage.academic_year first.';
            END IF;
            problems := problems || pg_catalog.format(
                ' WHEN NOT t.%1$I BETWEEN %2$L AND %3$L THEN ARRAY[%1$L, %4$L, t.%5$I]', col.name,
                CASE col.type WHEN 'date'::regtype THEN ((first_year - plausible)::date)::text
                    ELSE (@extschema@.local_midnight(first_year) - plausible)::text END,
                CASE col.type WHEN 'date'::regtype THEN ((last_year + plausible)::date)::text
                    ELSE (@extschema@.local_midnight(last_year + 1) + plausible)::text END,
                pg_catalog.format('is outside the academic years known (%s to %s) widened by %s',
                                  first_year, last_year, plausible),
                'raw_' || col.name);
        END IF;
    END LOOP;

    IF target = 'career_event' THEN
        problems := problems || pg_catalog.format(
            ' WHEN t.attended AND t.event_day > @extschema@.today() THEN ARRAY[%L, %L, t.raw_event_day]',
            'event_day', 'is in the future, so it cannot have been attended');
    END IF;

    FOR con IN
        SELECT c.conname, c.contype, pg_catalog.pg_get_constraintdef(c.oid) AS def,
               pg_catalog.pg_get_expr(c.conbin, c.conrelid) AS expr, c.confrelid::regclass AS ref,
               (SELECT pg_catalog.array_agg(a.attname::text ORDER BY CASE c.contype WHEN 'c' THEN a.attnum ELSE k.n END)
                FROM pg_catalog.unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
                JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) AS cols,
               (SELECT pg_catalog.array_agg(a.attname::text ORDER BY k.n)
                FROM pg_catalog.unnest(c.confkey) WITH ORDINALITY AS k(attnum, n)
                JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) AS ref_cols
        FROM pg_catalog.pg_constraint AS c
        WHERE c.conrelid = source AND c.contype IN ('c', 'f', 'u')
        ORDER BY c.contype, c.conname
    LOOP
        i := i + 1;
        IF con.contype = 'c' THEN
            problems := problems || pg_catalog.format(
                ' WHEN NOT coalesce(%s, true) THEN ARRAY[%L, %L, t.%I]', con.expr,
                pg_catalog.array_to_string(con.cols, ', '), 'breaks ' || con.conname || ': ' || con.def,
                'raw_' || con.cols[1]);
        ELSIF con.contype = 'f' THEN
            -- a foreign key names a row that must exist (all its columns given)
            joins := joins || pg_catalog.format(' LEFT JOIN %s AS f%s ON %s', con.ref, i,
                (SELECT pg_catalog.string_agg(pg_catalog.format('f%s.%I = j.%I', i, con.ref_cols[u.n], u.c), ' AND ')
                 FROM pg_catalog.unnest(con.cols) WITH ORDINALITY AS u(c, n)));
            ref_problems := ref_problems || pg_catalog.format(
                ' WHEN f%s.%I IS NULL AND %s THEN ARRAY[%L, %L, j.%I]', i, con.ref_cols[1],
                (SELECT pg_catalog.string_agg(pg_catalog.format('j.%I IS NOT NULL', c), ' AND ')
                 FROM pg_catalog.unnest(con.cols) AS c),
                pg_catalog.array_to_string(con.cols, ', '), pg_catalog.format('names no row of %s', con.ref),
                'raw_' || con.cols[1]);
        ELSE
            -- a unique column (a login role) must not be another row's, in
            -- the table or on an earlier line
            joins := joins || pg_catalog.format(' LEFT JOIN %s AS f%s ON %s', source, i,
                (SELECT pg_catalog.string_agg(pg_catalog.format('f%s.%I = j.%I', i, c, c), ' AND ')
                 FROM pg_catalog.unnest(con.cols) AS c));
            ref_problems := ref_problems || pg_catalog.format(
                ' WHEN f%1$s.%2$I IS NOT NULL AND (%3$s) OR j.%2$I IS NOT NULL AND (%4$s)
                  THEN ARRAY[%5$L, %6$L, j.%7$I]', i, con.cols[1],
                (SELECT pg_catalog.string_agg(pg_catalog.format('f%s.%I IS DISTINCT FROM j.%I', i, k, k), ' OR ')
                 FROM pg_catalog.unnest(keys) AS k),
                (SELECT pg_catalog.string_agg(pg_catalog.format(
                            'first_value(j.%1$I) OVER (PARTITION BY %2$s ORDER BY j.line) IS DISTINCT FROM j.%1$I', k,
                            (SELECT pg_catalog.string_agg('j.' || pg_catalog.quote_ident(c), ', ')
                             FROM pg_catalog.unnest(con.cols) AS c)), ' OR ')
                 FROM pg_catalog.unnest(keys) AS k),
                pg_catalog.array_to_string(con.cols, ', '), 'is already another row''s', 'raw_' || con.cols[1]);
        END IF;
    END LOOP;

    INSERT INTO @extschema@.load_run (source, loaded_by, started_at, finished_at, rows_in, loaded, rejected, duplicates)
    VALUES (target, session_user, pg_catalog.clock_timestamp(), pg_catalog.clock_timestamp(), 0, 0, 0, 0)
    RETURNING * INTO run;

    -- one statement: take the caller's staged rows, type and judge them,
    -- insert the good ones not there yet, and set the bad ones aside
    EXECUTE pg_catalog.format($sql$
        WITH batch AS (
            DELETE FROM %1$s AS s WHERE s.loaded_by = session_user RETURNING s.*
        ), typed AS (
            -- OFFSET 0: each value is typed once, not once per check naming it
            SELECT b.line %2$s FROM batch AS b OFFSET 0
        ), judged AS (
            SELECT j.*, coalesce(j.problem, CASE %5$s END) AS reason
            FROM (SELECT t.*, CASE %3$s END AS problem FROM typed AS t) AS j %4$s
        ), good AS (
            SELECT DISTINCT ON (%9$s) j.* FROM judged AS j WHERE j.reason IS NULL ORDER BY %9$s, j.line
        ), ins AS (
            INSERT INTO %6$s (%7$s)
            SELECT %8$s FROM good AS j
            WHERE NOT EXISTS (SELECT FROM %6$s AS x WHERE %10$s)
            %11$s
            RETURNING 1
        ), rej AS (
            INSERT INTO @extschema@.load_reject (run_id, line, column_name, reason, value, loaded_by)
            SELECT $1, j.line - (SELECT min(b.line) FROM batch AS b) + 1, j.reason[1], j.reason[2],
                   CASE WHEN length(j.reason[3]) > 40 THEN left(j.reason[3], 40) || '...' ELSE j.reason[3] END,
                   session_user
            FROM judged AS j WHERE j.reason IS NOT NULL
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM batch), (SELECT count(*) FROM judged WHERE reason IS NULL),
               (SELECT count(*) FROM ins), (SELECT count(*) FROM rej)
        $sql$,
        stage, typed, coalesce(nullif(problems, ''), ' WHEN false THEN NULL::text[]'), joins,
        coalesce(nullif(ref_problems, ''), ' WHEN false THEN NULL::text[]'),
        source, pg_catalog.substr(inserted, 3), pg_catalog.substr(selected, 3),
        (SELECT pg_catalog.string_agg('j.' || pg_catalog.quote_ident(k), ', ') FROM pg_catalog.unnest(keys) AS k),
        (SELECT pg_catalog.string_agg(
                    CASE WHEN a.attnotnull THEN pg_catalog.format('x.%1$I = j.%1$I', k)
                         ELSE pg_catalog.format('x.%1$I IS NOT DISTINCT FROM j.%1$I', k) END, ' AND ')
         FROM pg_catalog.unnest(keys) AS k
         JOIN pg_catalog.pg_attribute AS a ON a.attrelid = source AND a.attname = k),
        -- a table that numbers its rows (consent decisions) numbers them in
        -- the order of the file
        CASE WHEN EXISTS (SELECT FROM pg_catalog.pg_attribute AS a
                          WHERE a.attrelid = source AND a.attidentity <> '')
             THEN 'ORDER BY j.line' END)
    USING run.run_id
    INTO run.rows_in, good, run.loaded, run.rejected;

    UPDATE @extschema@.load_run AS r
    SET finished_at = pg_catalog.clock_timestamp(), rows_in = run.rows_in, loaded = run.loaded,
        rejected = run.rejected, duplicates = good - run.loaded
    WHERE r.run_id = run.run_id
    RETURNING * INTO run;
    RETURN run;
END
$$;
COMMENT ON FUNCTION @extschema@.load(regclass, interval) IS
'Loads the rows the caller''s login staged in engage.stage_<table> into the table: inserts the good rows not there yet, sets each bad row aside in engage.load_reject with its line, column and reason, and returns (and records) the engage.load_run. Instants and days must fall within plausible of the academic years known.';
ALTER FUNCTION @extschema@.load(regclass, interval) OWNER TO engage_owner;
REVOKE ALL ON FUNCTION @extschema@.load(regclass, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.load(regclass, interval) TO engage_loader;
GRANT EXECUTE ON FUNCTION @extschema@.stage_line() TO engage_loader;
GRANT EXECUTE ON FUNCTION @extschema@.input_valid(text, regtype, integer) TO engage_owner;
GRANT UPDATE ON @extschema@.load_run TO engage_owner;
-- the rights engage.load needs on the source tables are granted with the
-- owner's others, in 95_grants.sql

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
CREATE OR REPLACE FUNCTION @extschema@.check_person_identity()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    is_student boolean := TG_ARGV[0] = 'student';
    id text := CASE WHEN is_student THEN to_jsonb(NEW) ->> 'student_id' ELSE to_jsonb(NEW) ->> 'staff_id' END;
    other regclass := @extschema@.here(CASE WHEN is_student THEN '@extschema@.staff' ELSE '@extschema@.student' END);
    taken boolean;
BEGIN
    IF TG_ARGV[0] IS DISTINCT FROM 'student' AND TG_ARGV[0] IS DISTINCT FROM 'staff' THEN
        RAISE EXCEPTION 'engage.check_person_identity guards student or staff, not %', coalesce(TG_ARGV[0], 'nothing')
            USING ERRCODE = '39P01';
    END IF;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s AS o WHERE o.%I = $1)',
                              other, CASE WHEN is_student THEN 'staff_id' ELSE 'student_id' END)
        INTO taken USING id;
    IF taken THEN
        RAISE EXCEPTION 'id % is already a % id', id, CASE WHEN is_student THEN 'staff' ELSE 'student' END
            USING ERRCODE = '23505',
                  HINT = 'Student and staff ids must differ: the viewer is named by id alone.';
    END IF;
    IF NEW.login_role IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s AS o WHERE o.login_role = $1)', other)
            INTO taken USING NEW.login_role;
        IF taken THEN
            RAISE EXCEPTION 'login role % already belongs to %', NEW.login_role,
                            CASE WHEN is_student THEN 'a member of staff' ELSE 'a student' END
                USING ERRCODE = '23505';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.check_person_identity() IS
'Trigger function (argument: student or staff, the table it guards): keeps student and staff ids, and their login roles, distinct from each other.';

CREATE OR REPLACE FUNCTION @extschema@.visible_students()
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- worked out first and passed in: on a Citus cluster a function called
    -- inside the query would run on the node that keeps the rows
    me    text := @extschema@.viewer();
    today date := @extschema@.today();
BEGIN
    RETURN (SELECT coalesce(pg_catalog.array_agg(DISTINCT x.student_id), '{}')
    FROM (SELECT s.student_id FROM @extschema@.student AS s WHERE s.student_id = me
          UNION ALL
          SELECT t.student_id FROM @extschema@.tutoring AS t
          WHERE t.tutor_id = me AND t.valid_from <= today
            AND (t.valid_to IS NULL OR t.valid_to > today)) AS x);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.consenting_students()
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    visible text[] := @extschema@.visible_students();
    year    text := @extschema@.current_academic_year();
BEGIN
    RETURN (SELECT coalesce(pg_catalog.array_agg(cl.student_id), '{}')
    FROM @extschema@.consent_latest AS cl
    WHERE cl.student_id = ANY (visible) AND cl.academic_year = year AND cl.granted);
END
$$;
DROP TRIGGER student_identity ON @extschema@.student;
DROP TRIGGER staff_identity ON @extschema@.staff;
CREATE TRIGGER student_identity BEFORE INSERT OR UPDATE OF student_id, login_role
    ON @extschema@.student FOR EACH ROW EXECUTE FUNCTION @extschema@.check_person_identity('student');
CREATE TRIGGER staff_identity BEFORE INSERT OR UPDATE OF staff_id, login_role
    ON @extschema@.staff FOR EACH ROW EXECUTE FUNCTION @extschema@.check_person_identity('staff');

-- Beyond one server: Citus -----------------------------------------------------
--
-- engage.distribute turns a loaded one-server database into the layout of
-- a Citus cluster (docs/scaling.md): the catalogues and the directory of
-- people replicated to every node as reference tables, each table of
-- personal data distributed by student_id, all in one co-location group, so
-- that everything about one student lives on one worker.  It calls Citus's
-- functions by name, so engage installs and runs without Citus.

-- Code that runs where a row is kept (triggers, and on Citus the policies
-- of the shards) may read and write only that node's rows, and on a Citus
-- worker only by the name of their shard: a query of a distributed or a
-- reference table from a shard is itself distributed, and Citus refuses it.
-- engage.here names the relation to use; on one server it is the table.
CREATE FUNCTION @extschema@.here(rel regclass, student_id text DEFAULT NULL)
RETURNS regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    method "char";
    shard  bigint;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN rel;
    END IF;
    SELECT p.partmethod INTO method FROM pg_catalog.pg_dist_partition AS p WHERE p.logicalrelid = rel;
    IF NOT FOUND THEN
        RETURN rel;
    END IF;
    IF method = 'n' THEN
        SELECT s.shardid INTO shard FROM pg_catalog.pg_dist_shard AS s WHERE s.logicalrelid = rel;
    ELSIF student_id IS NULL THEN
        RAISE EXCEPTION 'engage.here needs the student of distributed table %', rel
            USING ERRCODE = '22004';
    ELSE
        shard := pg_catalog.get_shard_id_for_distribution_column(rel, student_id);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_placement AS pl
                   JOIN pg_catalog.pg_dist_local_group AS g ON g.groupid = pl.groupid
                   WHERE pl.shardid = shard) THEN
        -- a student kept on another node; a reference table is read where
        -- it is, through Citus
        RETURN CASE WHEN method = 'n' THEN rel END;
    END IF;
    RETURN (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname || '_' || shard)::regclass
            FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
            WHERE c.oid = rel);
END
$$;
COMMENT ON FUNCTION @extschema@.here(regclass, text) IS
'The relation that holds, on this node, the rows of rel (of the given student, where rel is distributed by student): rel itself on one server; on a Citus node, the local shard or copy, or NULL where another node keeps the student''s rows.';

-- every relation on this node that holds rows of rel
CREATE FUNCTION @extschema@.local_shards(rel regclass)
RETURNS SETOF regclass
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (two tests: the second names a catalogue only Citus has)
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN NEXT rel;
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p WHERE p.logicalrelid = rel) THEN
        RETURN NEXT rel;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname || '_' || s.shardid)::regclass
    FROM pg_catalog.pg_dist_shard AS s
    JOIN pg_catalog.pg_dist_placement AS pl ON pl.shardid = s.shardid
    JOIN pg_catalog.pg_dist_local_group AS g ON g.groupid = pl.groupid
    JOIN pg_catalog.pg_class AS c ON c.oid = s.logicalrelid
    JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
    WHERE s.logicalrelid = rel
    ORDER BY s.shardid;
END
$$;
COMMENT ON FUNCTION @extschema@.local_shards(regclass) IS
'Every relation on this node that holds rows of rel: rel itself on one server; on a Citus node, its shards or copy placed there (none for a distributed table on the coordinator).';

-- The rows of rel this node reads, as SQL to put in a FROM clause: the table
-- itself on one server and on the coordinator (which keeps no shards, and
-- asks the workers), the local copy of a reference table, and on a worker
-- the shards kept there.
CREATE FUNCTION @extschema@.node_rows(rel regclass)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    shards text;
BEGIN
    SELECT pg_catalog.string_agg('SELECT * FROM ' || s::text, ' UNION ALL ')
    INTO shards
    FROM @extschema@.local_shards(rel) AS s;
    RETURN CASE WHEN shards IS NULL OR shards = 'SELECT * FROM ' || rel::text THEN rel::text
                ELSE '(' || shards || ')' END;
END
$$;
COMMENT ON FUNCTION @extschema@.node_rows(regclass) IS
'The rows of rel this node reads, as SQL for a FROM clause: rel on one server and on a Citus coordinator, the local copy of a reference table, on a Citus worker the union of the shards kept there.';

-- The access rules of engage.visible_students, engage.consenting_students
-- and engage.mark_students, on a Citus node: the same rules, read where the
-- node keeps the rows.  A policy of a distributed table runs on the worker
-- that keeps the row, where the student's consent is; the directory
-- (students, staff, tutoring) and the calendars are on every node.
CREATE FUNCTION @extschema@.node_students_compute(kind text)
RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    today    date := @extschema@.today();
    student  regclass := @extschema@.here('@extschema@.student');
    years    regclass := @extschema@.here('@extschema@.academic_year');
    viewer   text;
    visible  text[];
    exams    boolean;
    result   text[];
BEGIN
    IF kind IS NULL OR kind NOT IN ('visible', 'consenting', 'marks') THEN
        RAISE EXCEPTION 'no rule named %', coalesce(kind, 'NULL')
            USING ERRCODE = '22023', HINT = 'The rules are visible, consenting and marks.';
    END IF;
    -- as engage.viewer
    IF @extschema@.session_is_app() THEN
        viewer := @extschema@.app_viewer();
    ELSE
        EXECUTE pg_catalog.format(
            'SELECT coalesce((SELECT s.student_id FROM %s AS s WHERE s.login_role = session_user),
                             (SELECT f.staff_id FROM %s AS f WHERE f.login_role = session_user))',
            student, @extschema@.here('@extschema@.staff'))
            INTO viewer;
    END IF;
    -- as engage.visible_students
    EXECUTE pg_catalog.format(
        'SELECT coalesce(pg_catalog.array_agg(DISTINCT x.student_id), ''{}'')
         FROM (SELECT s.student_id FROM %s AS s WHERE s.student_id = $1
               UNION ALL
               SELECT t.student_id FROM %s AS t
               WHERE t.tutor_id = $1 AND t.valid_from <= $2
                 AND (t.valid_to IS NULL OR t.valid_to > $2)) AS x',
        student, @extschema@.here('@extschema@.tutoring'))
        INTO visible USING viewer, today;
    IF kind = 'visible' THEN
        RETURN visible;
    END IF;
    -- as engage.mark_students: nobody's marks during an exam period
    IF kind = 'marks' THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s AS e WHERE $1 BETWEEN e.starts AND e.ends)',
                                  @extschema@.here('@extschema@.exam_period'))
            INTO exams USING today;
        IF exams THEN
            RETURN '{}';
        END IF;
    END IF;
    -- as engage.consenting_students, over engage.consent_latest
    EXECUTE pg_catalog.format(
        'SELECT coalesce(pg_catalog.array_agg(l.student_id), ''{}'')
         FROM (SELECT DISTINCT ON (c.student_id) c.student_id, c.granted FROM %s AS c
               WHERE c.student_id = ANY ($1)
                 AND c.academic_year = (SELECT y.label FROM %s AS y WHERE $2 BETWEEN y.starts AND y.ends)
               ORDER BY c.student_id, c.consent_id DESC) AS l
         WHERE l.granted',
        @extschema@.node_rows('@extschema@.consent'), years)
        INTO result USING visible, today;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.node_students_compute(text) IS
'The students the viewer may see (kind visible), with consent in force (consenting), or whose marks they may see (marks), by the rules of engage.visible_students, engage.consenting_students and engage.mark_students, read where this node keeps the rows. Called by engage.node_students.';

CREATE FUNCTION @extschema@.node_students(kind text)
RETURNS text[]
AS 'MODULE_PATHNAME', 'engage_node_students'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.node_students(text) IS
'On a Citus cluster, what the policies call: engage.node_students_compute(kind), worked out once per query and kept for its rows.';

-- Whether engage.distribute has run in this database.
CREATE FUNCTION @extschema@.distributed()
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (two tests: the second names a catalogue only Citus has)
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL THEN
        RETURN false;
    END IF;
    RETURN EXISTS (SELECT FROM pg_catalog.pg_dist_partition AS p
                   WHERE p.logicalrelid = '@extschema@.daily_engagement'::regclass);
END
$$;
COMMENT ON FUNCTION @extschema@.distributed() IS
'Whether engage''s tables are distributed over a Citus cluster (engage.distribute has run in this database).';

-- engage.refresh's computation on a Citus cluster: one INSERT ... SELECT
-- grouped by student, which Citus runs on every shard, each worker reading
-- and writing only the students it keeps (the tables are co-located by
-- student_id).  The same rows as engage.refresh writes on one server, from
-- the raw events of the days and of the six before them.  students limits it
-- to those students (NULL: everyone with consent).  Returns the rows written.
CREATE FUNCTION @extschema@.refresh_on_workers(first_day date, last_day date, students text[])
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r       record := @extschema@.profile_range(first_day, last_day);
    written bigint;
BEGIN
    INSERT INTO @extschema@.daily_engagement
        (student_id, module_code, day, ele_minutes, app_choices, career_events, score,
         ele_minutes_7d, app_choices_7d, career_events_7d)
    -- the kernel's rows come out of the grouped query (Citus pushes a
    -- set-returning function in the select list down, not a LATERAL one)
    SELECT g.student_id, (g.p).module_code, (g.p).day, (g.p).ele_minutes, (g.p).app_choices,
           (g.p).career_events, (g.p).score, (g.p).ele_minutes_7d, (g.p).app_choices_7d,
           (g.p).career_events_7d
    FROM (
        SELECT f.student_id,
               pg_catalog.unnest(@extschema@.daily_profile(f.kind, f.ts, f.module_code, f.day, f.until,
                                                           f.x, f.y, f.z, first_day, last_day)) AS p
        FROM (
            SELECT cl.student_id, 'w'::"char" AS kind, NULL::timestamptz AS ts, NULL::text AS module_code,
                   greatest(y.starts, sc.valid_from) AS day, least(y.ends, sc.valid_to - 1) AS until,
                   cf.ele AS x, cf.app AS y, cf.events AS z
            FROM @extschema@.consent_latest AS cl
            JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
            JOIN @extschema@.college_spans AS sc
              ON sc.student_id = cl.student_id AND sc.valid_from <= y.ends
             AND (sc.valid_to IS NULL OR sc.valid_to > y.starts)
            JOIN @extschema@.coefficients AS cf
              ON cf.college = sc.college AND cf.academic_year = cl.academic_year
            WHERE cl.granted AND y.starts <= last_day AND y.ends >= r.first_day
              AND (students IS NULL OR cl.student_id = ANY (students))
            UNION ALL
            SELECT en.student_id, 'm', NULL, en.module_code, y.starts, y.ends, NULL, NULL, NULL
            FROM @extschema@.enrolment AS en
            JOIN @extschema@.academic_year AS y ON y.label = en.academic_year
            WHERE y.starts <= last_day AND y.ends >= r.first_day
              AND (students IS NULL OR en.student_id = ANY (students))
            UNION ALL
            SELECT ev.student_id, 'v', ev.ts, ev.module_code, NULL, NULL, NULL, NULL, NULL
            FROM @extschema@.ele_event AS ev
            WHERE ev.ts >= r.from_ts AND ev.ts < r.to_ts
              AND (students IS NULL OR ev.student_id = ANY (students))
            UNION ALL
            SELECT ap.student_id, 'a', ap.ts, NULL, NULL, NULL, NULL, NULL, NULL
            FROM @extschema@.app_event AS ap
            WHERE ap.ts >= r.from_ts AND ap.ts < r.to_ts
              AND (students IS NULL OR ap.student_id = ANY (students))
            UNION ALL
            SELECT ce.student_id, 'c', NULL, NULL, ce.event_day, NULL, NULL, NULL, NULL
            FROM @extschema@.career_event AS ce
            WHERE ce.attended AND ce.event_day BETWEEN r.first_day AND last_day
              AND (students IS NULL OR ce.student_id = ANY (students))
        ) AS f
        GROUP BY f.student_id
    ) AS g;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;
COMMENT ON FUNCTION @extschema@.refresh_on_workers(date, date, text[]) IS
'Called by engage.refresh on a Citus cluster: computes and writes the days first_day to last_day of every consenting student (or of the students given), each worker those it keeps, from the raw events. Returns the rows written.';

-- The tutee list as a Citus cluster can compute it.  @extschema@.my_students
-- joins each student to laterals over the tables of personal data, which
-- read each student's latest rows through the indexes (the tutee list's
-- p95 is under a millisecond on one server); Citus refuses a lateral join
-- from a reference table to a distributed one.  These give the same rows
-- with each figure grouped per student and joined on the student
-- (test/pgtap/dashboard.sql compares them on one server, make test-citus
-- on a cluster); @extschema@.distribute makes @extschema@.my_students read them.
CREATE FUNCTION @extschema@.programme_positions_cluster(OUT student_id text, OUT week date, OUT band text)
RETURNS SETOF record
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the viewer's students by the rule, read where this runs: Citus may
    -- run it on the worker that keeps a student (a query of one student's
    -- row goes there whole), and the tables are read where the node keeps
    -- them
    ids text[] := @extschema@.node_students('consenting');
    latest_ids text[];
    latest_weeks date[];
    latest_medians double precision[];
BEGIN
    -- the latest week with published programme-wide figures, per programme,
    -- for each of those students (reference tables, read on this node)
    EXECUTE pg_catalog.format($q$
    SELECT pg_catalog.array_agg(m.student_id), pg_catalog.array_agg(c.week), pg_catalog.array_agg(c.median_score)
    FROM %1$s AS m
    JOIN (SELECT DISTINCT ON (cw.college, cw.programme) cw.college, cw.programme, cw.week, cw.median_score
          FROM %2$s AS cw
          WHERE cw.module_code IS NULL AND cw.week <= @extschema@.today()
          ORDER BY cw.college, cw.programme, cw.week DESC) AS c
      ON c.college = m.college AND c.programme = m.programme
    WHERE m.student_id = ANY ($1)
    $q$, @extschema@.here('@extschema@.student'), @extschema@.here('@extschema@.cohort_week'))
    INTO latest_ids, latest_weeks, latest_medians USING ids;
    IF latest_ids IS NULL THEN
        RETURN;
    END IF;
    -- each student's score in that week exactly as engage.refresh computes
    -- it for the cohort; the students and weeks go in as values, so that a
    -- cluster reads only the shards that keep those students, in one query
    RETURN QUERY EXECUTE pg_catalog.format($q$
    SELECT own.student_id, own.week,
           CASE WHEN own.score > l.median_score THEN 'upper half'
                WHEN own.score < l.median_score THEN 'lower half'
                ELSE 'median' END
    FROM (SELECT d.student_id, @extschema@.week_start(d.day) AS week, @extschema@.stable_avg(d.score) AS score
          FROM %1$s AS d
          WHERE d.module_code IS NULL AND d.student_id = ANY ($1)
            AND d.day >= (SELECT min(w) FROM pg_catalog.unnest($2) AS w)
          GROUP BY 1, 2) AS own
    JOIN ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3))
         AS l(student_id, week, median_score)
      ON l.student_id = own.student_id AND l.week = own.week
    $q$, @extschema@.node_rows('@extschema@.daily_engagement')) USING latest_ids, latest_weeks, latest_medians;
END
$$;
COMMENT ON FUNCTION @extschema@.programme_positions_cluster() IS
'The rows of @extschema@.programme_positions, as a Citus cluster can compute them (no lateral join; the viewer''s students worked out first). @extschema@.distribute makes @extschema@.my_students read it.';

CREATE VIEW @extschema@.my_students_cluster
WITH (security_invoker = true) AS
WITH today AS MATERIALIZED (
    SELECT @extschema@.today() AS day,
           @extschema@.node_students('visible') AS visible,
           @extschema@.node_students('consenting') AS consenting,
           @extschema@.node_students('marks') AS marked
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
       met.last_meeting,
       CASE WHEN s.student_id = ANY (t.consenting)
            THEN coalesce(eng.score < 0.5 * eng.mean_4wk, false) END AS flag_score_drop,
       CASE WHEN s.student_id = ANY (t.consenting)
            THEN coalesce(eng.ele_minutes_7d = 0, false) END AS flag_no_vle_7d,
       coalesce(late.last_three_absent, false) AS flag_absences,
       mk.mean_mark,
       @extschema@.mark_class(mk.mean_mark) AS mark_band,
       mk.marks,
       pos.week AS programme_week,
       pos.band AS programme_position
FROM @extschema@.student AS s
CROSS JOIN today AS t
-- each figure per student, joined on the student: Citus refuses a lateral
-- join from a reference table (student) to a distributed one
LEFT JOIN (
    SELECT a.student_id,
           round(100.0 * count(*) FILTER (WHERE a.status = 'present')
                 / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'), 0), 1) AS rate_year,
           round(100.0 * count(*) FILTER (WHERE a.status = 'present'
                                            AND a.starts_at >= @extschema@.local_midnight(@extschema@.today() - 28))
                 / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'
                                             AND a.starts_at >= @extschema@.local_midnight(@extschema@.today() - 28)), 0), 1) AS rate_4wk
    FROM @extschema@.attendance AS a
    WHERE a.starts_at >= @extschema@.local_midnight((SELECT y.starts FROM @extschema@.academic_year AS y
                                                WHERE @extschema@.today() BETWEEN y.starts AND y.ends))
      AND a.starts_at < pg_catalog.statement_timestamp()
    GROUP BY a.student_id
) AS att ON att.student_id = s.student_id
LEFT JOIN (
    SELECT l.student_id, count(*) = 3 AND bool_and(l.status = 'absent') AS last_three_absent
    FROM (SELECT a3.student_id, a3.status,
                 pg_catalog.row_number() OVER (PARTITION BY a3.student_id ORDER BY a3.starts_at DESC) AS k
          FROM @extschema@.attendance AS a3
          WHERE a3.starts_at < pg_catalog.statement_timestamp() AND a3.status <> 'authorised_absence') AS l
    WHERE l.k <= 3
    GROUP BY l.student_id
) AS late ON late.student_id = s.student_id
LEFT JOIN (
    SELECT d.student_id, d.day, d.score, d.ele_minutes_7d,
           (SELECT p.score FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = d.student_id AND p.module_code IS NULL AND p.day = d.day - 28) AS score_4wk_ago,
           (SELECT @extschema@.stable_avg(p.score) FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = d.student_id AND p.module_code IS NULL
              AND p.day BETWEEN d.day - 28 AND d.day - 1) AS mean_4wk
    FROM (SELECT DISTINCT ON (d.student_id) d.student_id, d.day, d.score, d.ele_minutes_7d
          FROM @extschema@.daily_engagement AS d
          WHERE d.module_code IS NULL AND d.day < @extschema@.today()
          ORDER BY d.student_id, d.day DESC) AS d
) AS eng ON eng.student_id = s.student_id
LEFT JOIN (
    SELECT n.student_id, max(n.met_on) AS last_meeting FROM @extschema@.meeting_note AS n GROUP BY n.student_id
) AS met ON met.student_id = s.student_id
LEFT JOIN (
    SELECT k.student_id, round(avg(k.mark), 1) AS mean_mark, count(*) AS marks
    FROM @extschema@.assessment_mark AS k
    WHERE k.recorded_at >= @extschema@.local_midnight((SELECT y.starts FROM @extschema@.academic_year AS y
                                                  WHERE @extschema@.today() BETWEEN y.starts AND y.ends))
    GROUP BY k.student_id
) AS mk ON mk.student_id = s.student_id AND s.student_id = ANY (t.marked)
LEFT JOIN @extschema@.programme_positions_cluster() AS pos ON pos.student_id = s.student_id
WHERE s.student_id = ANY (t.visible);
COMMENT ON VIEW @extschema@.my_students_cluster IS
'The rows of @extschema@.my_students, as a Citus cluster can compute them: each figure grouped per student and joined on the student, no lateral join. On one server @extschema@.my_students reads each student''s latest rows through its indexes, which is faster; @extschema@.distribute makes @extschema@.my_students read this view.';
-- its columns mean what engage.my_students's do
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attname, pg_catalog.col_description(a.attrelid, a.attnum) AS said
             FROM pg_catalog.pg_attribute AS a
             WHERE a.attrelid = '@extschema@.my_students'::regclass AND a.attnum > 0 LOOP
        EXECUTE pg_catalog.format('COMMENT ON COLUMN @extschema@.my_students_cluster.%I IS %L', c.attname, c.said);
    END LOOP;
END
$$;

CREATE PROCEDURE @extschema@.distribute()
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Reference tables, in the order their foreign keys need.  The directory
    -- of people (students, staff, who tutors whom, the colleges students were
    -- in) is one: an id and a login role must name one person across
    -- students and staff, which the identity check reads on whichever node
    -- a row is written, the unique key on login_role needs the whole table,
    -- and the access rules read who may see whom on every node.
    reference_tables text[] := ARRAY['college', 'academic_year', 'mark_band', 'exam_period', 'module',
                                     'staff', 'student', 'student_college', 'tutoring', 'coefficients',
                                     'cohort_week', 'model_fit'];
    -- co-located with the first
    distributed_tables text[] := ARRAY['consent', 'enrolment',
                                       'ele_event', 'app_event', 'career_event', 'attendance',
                                       'assessment_mark', 'employability', 'meeting_note',
                                       'meeting_note_removal', 'note_removal_request',
                                       'daily_engagement', 'refresh_stale', 'alert'];
    -- a distributed table's keys must hold its distribution column
    rekeyed text[] := ARRAY[['consent', 'consent_id'], ['meeting_note', 'note_id'],
                            ['meeting_note_removal', 'note_id'],
                            ['note_removal_request', 'request_id'], ['alert', 'alert_id']];
    t text;
    k text[];
    p record;
    rule text;
    -- the institution's time zone as this node is configured
    zone text := (SELECT s.reset_val FROM pg_catalog.pg_settings AS s WHERE s.name = 'engage.time_zone');
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_extension AS e WHERE e.extname = 'citus') THEN
        RAISE EXCEPTION 'engage.distribute needs Citus in this database'
            USING ERRCODE = '55000',
                  HINT = 'CREATE EXTENSION citus on the coordinator and add the workers with citus_add_node first.';
    END IF;
    IF EXISTS (SELECT FROM pg_dist_partition AS d
               WHERE d.logicalrelid = '@extschema@.student'::regclass) THEN
        RAISE EXCEPTION 'engage is already distributed in this database' USING ERRCODE = '55000';
    END IF;
    IF NOT EXISTS (SELECT FROM citus_get_active_worker_nodes()) THEN
        RAISE EXCEPTION 'the Citus cluster has no active worker' USING ERRCODE = '55000',
            HINT = 'Add the workers with citus_add_node first.';
    END IF;
    -- A worker judges "today" for the rows it keeps by its own configured
    -- zone: every node must have the coordinator's.  (Where engage is not
    -- loaded and the zone not configured, a worker shows none.)
    FOR p IN
        SELECT w.nodename, w.nodeport, w.success, w.result
        FROM run_command_on_workers(
            $q$SELECT coalesce(pg_catalog.current_setting('engage.time_zone', true), '(unknown)')$q$) AS w
        WHERE NOT w.success OR w.result IS DISTINCT FROM zone
    LOOP
        RAISE EXCEPTION 'worker %:% judges the day in time zone %, the coordinator in %',
                        p.nodename, p.nodeport, p.result, zone
            USING ERRCODE = '55000',
                  HINT = 'Preload engage on every node (shared_preload_libraries = ''citus, engage'') and give every node the same engage.time_zone in its configuration.';
    END LOOP;
    -- The catalogues' foreign keys from tables that stay on the coordinator
    -- are kept as they are (by default Citus would convert every table they
    -- link, and send each to the workers, where engage's own copy exists).
    PERFORM pg_catalog.set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- the viewer named with SET LOCAL engage.viewer reaches the workers
    EXECUTE pg_catalog.format('ALTER DATABASE %I SET citus.propagate_set_commands = %L',
                              pg_catalog.current_database(), 'local');

    -- Citus refuses subqueries in the policies of distributed tables, and a
    -- policy runs where the row is: each (SELECT engage.visible_students())
    -- and the like becomes engage.node_students('visible'), the same rule
    -- read where the node keeps the rows, once per query.
    FOR p IN SELECT pl.policyname, pl.tablename, pl.qual FROM pg_catalog.pg_policies AS pl
             WHERE pl.schemaname = '@extschema@' AND pl.qual ~ 'SELECT' LOOP
        rule := p.qual;
        FOREACH k SLICE 1 IN ARRAY ARRAY[['visible_students', 'visible'], ['consenting_students', 'consenting'],
                                         ['mark_students', 'marks']] LOOP
            rule := pg_catalog.regexp_replace(rule, '\(\s*SELECT @extschema@\.' || k[1] || '\(\) AS \w+\)',
                                              pg_catalog.format('@extschema@.node_students(%L)', k[2]), 'g');
        END LOOP;
        IF rule ~ 'SELECT' THEN
            RAISE EXCEPTION 'policy % on % has a subquery engage.distribute cannot rewrite', p.policyname, p.tablename
                USING ERRCODE = 'XX000';
        END IF;
        EXECUTE pg_catalog.format('ALTER POLICY %I ON @extschema@.%I USING (%s)', p.policyname, p.tablename, rule);
    END LOOP;
    -- Citus connects to the workers as the role running a query, and
    -- engage's owner's-rights functions run as engage_owner: it must be able
    -- to log in, from the other nodes only (docs/scaling.md).
    ALTER ROLE engage_owner LOGIN;
    -- the tutee list and the programme positions as a cluster computes them
    CREATE OR REPLACE VIEW @extschema@.my_students WITH (security_invoker = true) AS
        SELECT * FROM @extschema@.my_students_cluster;
    CREATE OR REPLACE FUNCTION @extschema@.programme_positions(OUT student_id text, OUT week date, OUT band text)
    RETURNS SETOF record
    LANGUAGE sql STABLE PARALLEL RESTRICTED SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    AS 'SELECT * FROM @extschema@.programme_positions_cluster()';
    -- Citus checks the privileges on a view's tables as the reader, not as
    -- the view's owner: analysts read the published cohort figures of
    -- engage.cohort_engagement from the table itself.
    GRANT SELECT ON @extschema@.cohort_week TO engage_analyst;

    -- The rows are copied with the tables' triggers off: they were checked
    -- and marked when they were written.
    FOREACH t IN ARRAY reference_tables LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I DISABLE TRIGGER USER', t);
        PERFORM create_reference_table(pg_catalog.format('@extschema@.%I', t)::regclass);
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE TRIGGER USER', t);
    END LOOP;
    FOREACH k SLICE 1 IN ARRAY rekeyed LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I DROP CONSTRAINT %I, ADD PRIMARY KEY (student_id, %I)',
                                  k[1], k[1] || '_pkey', k[2]);
    END LOOP;
    FOREACH t IN ARRAY distributed_tables LOOP
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I DISABLE TRIGGER USER', t);
        PERFORM create_distributed_table(pg_catalog.format('@extschema@.%I', t)::regclass, 'student_id',
                                         colocate_with => CASE WHEN t = distributed_tables[1] THEN 'none'
                                                               ELSE '@extschema@.' || distributed_tables[1] END);
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE TRIGGER USER', t);
    END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.distribute() IS
'On a Citus coordinator with workers added: turns this database''s engage into the distributed layout, the catalogues and the directory of people as reference tables and every table of personal data distributed by student_id in one co-location group, with its rows. Run once, as a superuser, after loading; see docs/scaling.md.';
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
