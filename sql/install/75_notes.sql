-- Meeting notes -----------------------------------------------------------------------
--
-- Tutors and students write notes only through these functions, which run
-- with the extension owner's rights and check who is asking first.

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
COMMENT ON SEQUENCE @extschema@.meeting_note_note_id_seq IS 'Numbers engage.meeting_note rows.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.meeting_note', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.meeting_note_note_id_seq', '');

-- Viewers read the notes of their visible students, whatever the consent.
-- There is no policy for administrators: which notes exist they read through
-- engage.meeting_note_index, since a policy opening meeting_note to them would
-- open the notes' text too to an administrator who is also a tutor.
ALTER TABLE @extschema@.meeting_note ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.meeting_note FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.meeting_note FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));

CREATE TABLE @extschema@.meeting_note_removal (
    note_id     bigint PRIMARY KEY,
    student_id  text NOT NULL REFERENCES @extschema@.student,
    author_id   text NOT NULL,
    met_on      date NOT NULL,
    recorded_at timestamptz NOT NULL,
    removed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    removed_by  text NOT NULL,
    reason      text NOT NULL CONSTRAINT meeting_note_removal_reason_not_blank CHECK (btrim(reason) <> '')
);
CREATE INDEX ON @extschema@.meeting_note_removal (student_id);
COMMENT ON TABLE @extschema@.meeting_note_removal IS 'Audit trail of removed meeting notes: who removed which note, when and why. The note''s text is gone.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.note_id IS 'The removed note.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.student_id IS 'The tutee the note was about.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.author_id IS 'Who had written the note.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.met_on IS 'Day of the meeting.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.recorded_at IS 'When the note had been recorded.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.removed_at IS 'When it was removed.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.removed_by IS 'Login role of the administrator who removed it.';
COMMENT ON COLUMN @extschema@.meeting_note_removal.reason IS 'Why it was removed.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.meeting_note_removal', '');
ALTER TABLE @extschema@.meeting_note_removal ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.meeting_note_removal FORCE ROW LEVEL SECURITY;
CREATE POLICY admin_read ON @extschema@.meeting_note_removal FOR SELECT TO engage_admin USING (true);

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
COMMENT ON VIEW @extschema@.meeting_note_index IS
'For administrators: every meeting note''s id, student, author, day and focus, without its text.';
COMMENT ON COLUMN @extschema@.meeting_note_index.note_id IS 'The note.';
COMMENT ON COLUMN @extschema@.meeting_note_index.student_id IS 'The tutee the meeting was with.';
COMMENT ON COLUMN @extschema@.meeting_note_index.author_id IS 'staff_id or student_id of the author.';
COMMENT ON COLUMN @extschema@.meeting_note_index.met_on IS 'Day of the meeting.';
COMMENT ON COLUMN @extschema@.meeting_note_index.focus IS 'routine or issue.';
COMMENT ON COLUMN @extschema@.meeting_note_index.recorded_at IS 'When the note was recorded.';

CREATE TRIGGER meeting_note_append_only
    BEFORE UPDATE ON @extschema@.meeting_note
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forbid_change();
CREATE TRIGGER meeting_note_removal_append_only
    BEFORE UPDATE OR DELETE ON @extschema@.meeting_note_removal
    FOR EACH ROW EXECUTE FUNCTION @extschema@.forbid_change();

-- Refuses, with SQLSTATE 42501, anyone who may not write about the student.
CREATE FUNCTION @extschema@.require_student_or_tutor(p_student_id text)
RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text := @extschema@.viewer();
BEGIN
    IF v IS NULL THEN
        RAISE EXCEPTION 'no viewer: the caller is neither a known student or member of staff nor the web front end naming one'
            USING ERRCODE = '42501',
                  HINT = 'The web front end runs SET LOCAL engage.viewer = ''<id>'' in each transaction.';
    END IF;
    IF p_student_id IS NULL OR NOT (p_student_id = ANY (@extschema@.visible_students())) THEN
        RAISE EXCEPTION 'viewer % may not write about student %', v, coalesce(p_student_id, 'NULL')
            USING ERRCODE = '42501',
                  DETAIL = 'Only the student and their current personal tutor may.';
    END IF;
    RETURN v;
END
$$;
COMMENT ON FUNCTION @extschema@.require_student_or_tutor(text) IS
'Returns the viewer if they are the student or the student''s current tutor; otherwise raises 42501.';

CREATE FUNCTION @extschema@.record_meeting_note(student_id text, met_on date, focus text,
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

CREATE FUNCTION @extschema@.remove_meeting_note(note_id bigint, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n @extschema@.meeting_note;
BEGIN
    IF NOT pg_has_role(session_user, 'engage_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only an administrator may remove a meeting note' USING ERRCODE = '42501';
    END IF;
    IF btrim(coalesce(reason, '')) = '' THEN
        RAISE EXCEPTION 'a reason is required to remove a meeting note' USING ERRCODE = '22023';
    END IF;
    DELETE FROM @extschema@.meeting_note AS m WHERE m.note_id = remove_meeting_note.note_id
    RETURNING m.* INTO n;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no meeting note %', coalesce(remove_meeting_note.note_id::text, 'NULL')
            USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO @extschema@.meeting_note_removal
        (note_id, student_id, author_id, met_on, recorded_at, removed_by, reason)
    VALUES (n.note_id, n.student_id, n.author_id, n.met_on, n.recorded_at, session_user, btrim(reason));
END
$$;
COMMENT ON FUNCTION @extschema@.remove_meeting_note(bigint, text) IS
'Administrators only: removes a meeting note everywhere, purging its text, and records who removed it, when and why in engage.meeting_note_removal.';
