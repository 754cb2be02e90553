-- Consent ---------------------------------------------------------------------------
--
-- An append-only history per student and academic year; the last decision
-- recorded is in force.  Students change theirs through engage.set_consent.

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

CREATE VIEW @extschema@.consent_latest
WITH (security_invoker = true) AS
SELECT DISTINCT ON (c.student_id, c.academic_year)
       c.student_id, c.academic_year, c.granted, c.recorded_at, c.recorded_by
FROM @extschema@.consent AS c
ORDER BY c.student_id, c.academic_year, c.consent_id DESC;

COMMENT ON VIEW @extschema@.consent_latest IS
'The consent decision in force per student and academic year: the last record of engage.consent in order of recording (consent_id), whatever recorded_at claims. A student with no row has not consented.';
COMMENT ON COLUMN @extschema@.consent_latest.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.consent_latest.academic_year IS 'The academic year.';
COMMENT ON COLUMN @extschema@.consent_latest.granted IS 'Whether consent is in force.';
COMMENT ON COLUMN @extschema@.consent_latest.recorded_at IS 'When the decision in force was recorded.';
COMMENT ON COLUMN @extschema@.consent_latest.recorded_by IS 'Who recorded the decision in force.';

CREATE FUNCTION @extschema@.set_consent(student_id text, granted boolean)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text := @extschema@.viewer();
    is_admin boolean := pg_has_role(session_user, 'engage_admin', 'MEMBER');
    y text := @extschema@.current_academic_year();
    id bigint;
BEGIN
    IF NOT is_admin AND (v IS NULL OR v IS DISTINCT FROM set_consent.student_id) THEN
        RAISE EXCEPTION 'only the student themself or an administrator may change consent'
            USING ERRCODE = '42501';
    END IF;
    IF granted IS NULL THEN
        RAISE EXCEPTION 'granted must be true or false' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.student AS s WHERE s.student_id = set_consent.student_id) THEN
        RAISE EXCEPTION 'no student %', coalesce(set_consent.student_id, 'NULL') USING ERRCODE = '22023';
    END IF;
    IF y IS NULL THEN
        RAISE EXCEPTION 'no academic year covers today' USING ERRCODE = '55000',
            HINT = 'Add the academic year to engage.academic_year.';
    END IF;
    INSERT INTO @extschema@.consent AS c (student_id, academic_year, granted, recorded_at, recorded_by)
    VALUES (set_consent.student_id, y, set_consent.granted, clock_timestamp(),
            CASE WHEN is_admin THEN session_user::text ELSE v END)
    RETURNING c.consent_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.set_consent(text, boolean) IS
'Records a student''s consent decision for the current academic year, appending to the history; allowed to the student themself and to administrators. Takes effect on the next query. Returns the consent_id.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent', '');
COMMENT ON SEQUENCE @extschema@.consent_consent_id_seq IS 'Numbers engage.consent rows in order of recording.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.consent_consent_id_seq', '');

-- viewers see their visible students' decisions; loaders record them;
-- administrators read them
ALTER TABLE @extschema@.consent ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.consent FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.consent FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.visible_students())::text[]));
CREATE POLICY loader_all ON @extschema@.consent FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY admin_read ON @extschema@.consent FOR SELECT TO engage_admin USING (true);
