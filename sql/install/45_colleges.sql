-- College history ----------------------------------------------------------------

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

SELECT pg_catalog.pg_extension_config_dump('@extschema@.student_college', '');

-- read by the refresh (as the loader) and by administrators; viewers read
-- the student's college from engage.student
ALTER TABLE @extschema@.student_college ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.student_college FORCE ROW LEVEL SECURITY;
CREATE POLICY loader_all ON @extschema@.student_college FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY admin_read ON @extschema@.student_college FOR SELECT TO engage_admin USING (true);
