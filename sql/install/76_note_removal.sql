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
