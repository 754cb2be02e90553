-- The nightly pipeline -------------------------------------------------------------
--
-- What engage.refresh computes and records, what marks stored days stale,
-- and the refresh itself.

-- Computed from tables that hold the foreign keys, so it holds none itself:
-- checking each of millions of written rows against student and module
-- cost the refresh more than computing them.  Deleting a student or a module
-- deletes its computed rows instead (engage.forget_computed).
--
-- One partition per academic year, made by the first refresh that writes
-- one of the year's days (engage.open_years): empty and without indexes, so
-- that the run writes its rows into a bare heap and the year's indexes are
-- built once, by sorting, after the write (engage.index_years), instead of
-- being kept up row by row.  Later runs write into the indexed partition.
-- Each partition has its own key, which holds day, so the key is unique in
-- the whole table.
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
) PARTITION BY RANGE (day);
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

-- The academic years from first_day to last_day that have no partition of
-- engage.daily_engagement get one, empty and without indexes; returns them.
-- Attaching takes a lock that readers of the table do not wait for.  With
-- the owner's rights: only the owner of a table may attach to it.
CREATE FUNCTION @extschema@.open_years(first_day date, last_day date)
RETURNS regclass[]
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (the bounds are compared as PostgreSQL prints them)
SET datestyle = 'ISO, YMD'
AS $$
DECLARE
    y       record;
    part    text;
    bounds  text;
    present text;
    opened  regclass[] := '{}';
BEGIN
    FOR y IN SELECT ay.label, ay.starts, ay.ends FROM @extschema@.academic_year AS ay
             WHERE ay.starts <= last_day AND ay.ends >= first_day
             ORDER BY ay.starts LOOP
        part := 'daily_engagement_' || pg_catalog.translate(y.label, '/', '_');
        bounds := pg_catalog.format('FOR VALUES FROM (%L) TO (%L)', y.starts, y.ends + 1);
        SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) INTO present
        FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
        WHERE i.inhparent = '@extschema@.daily_engagement'::regclass AND c.relname = part;
        IF FOUND THEN
            IF present <> bounds THEN
                RAISE EXCEPTION 'the days of academic year % are stored in a partition %, not %',
                                y.label, present, bounds
                    USING ERRCODE = '55000',
                          HINT = 'The dates of an academic year whose days are computed cannot change.';
            END IF;
            CONTINUE;
        END IF;
        EXECUTE pg_catalog.format('CREATE TABLE @extschema@.%I (LIKE @extschema@.daily_engagement)', part);
        -- read through engage.daily_engagement and its policies only
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', part);
        EXECUTE pg_catalog.format('COMMENT ON TABLE @extschema@.%I IS %L', part,
            pg_catalog.format('The days of academic year %s of engage.daily_engagement (a partition: read it through engage.daily_engagement).', y.label));
        EXECUTE pg_catalog.format('ALTER TABLE @extschema@.daily_engagement ATTACH PARTITION @extschema@.%I %s', part, bounds);
        opened := opened || pg_catalog.format('@extschema@.%I', part)::regclass;
    END LOOP;
    RETURN opened;
END
$$;
COMMENT ON FUNCTION @extschema@.open_years(date, date) IS
'For engage.refresh: gives each academic year from first_day to last_day without a partition of engage.daily_engagement one, empty and without indexes, and returns them (engage.index_years indexes them once their rows are written).';

-- The indexes of the partitions that have none (those engage.open_years
-- made, once their rows are written): built by sorting.
CREATE FUNCTION @extschema@.index_years()
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part record;
BEGIN
    FOR part IN SELECT c.oid::regclass AS name, c.relname
                FROM pg_catalog.pg_inherits AS i JOIN pg_catalog.pg_class AS c ON c.oid = i.inhrelid
                WHERE i.inhparent = '@extschema@.daily_engagement'::regclass
                  AND NOT EXISTS (SELECT FROM pg_catalog.pg_index AS x WHERE x.indrelid = c.oid)
                ORDER BY c.relname LOOP
        EXECUTE pg_catalog.format('CREATE UNIQUE INDEX %I ON %s (student_id, day, (COALESCE(module_code, %L)))',
                                  part.relname || '_key', part.name, '');
        EXECUTE pg_catalog.format('CREATE INDEX %I ON %s (day)', part.relname || '_day', part.name);
        -- the statistics the run's later steps are planned with
        EXECUTE pg_catalog.format('ANALYZE %s', part.name);
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.index_years() IS
'For engage.refresh: builds the indexes (the key student, day, module; and day) of the partitions of engage.daily_engagement that have none (made by engage.open_years), once their rows are written, and analyzes them.';
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
COMMENT ON SEQUENCE @extschema@.refresh_run_run_id_seq IS 'Numbers engage.refresh_run rows.';

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

CREATE PROCEDURE @extschema@.refresh(from_day date DEFAULT NULL, to_day date DEFAULT NULL)
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
    -- the weeks, where some weeks between them are not (NULL where all are)
    weeks_apart date[];
    sort_was    text;
    bulk        boolean;
    bulk_to_ts  timestamptz;
    lookback    date;
    stored_back boolean;
    from_midnight timestamptz;
    on_cluster  boolean := @extschema@.distributed();
    -- the first day the run writes
    write_from  date;
    -- whether the steps after the write read its rows back student by student
    per_student boolean;
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

    -- The steps after the write read its rows back (the weekly means, the
    -- count of students), planned from the statistics daily_engagement had
    -- before it.  A run of up to a week reads its days' rows in one pass.
    -- A longer one, on one server, reads them student by student through
    -- the key: the count then takes one look-up per student, not a pass
    -- over the range, and each student's weekly groups are few, where all
    -- students' groups of a year at once outgrow work_mem and go to disk.
    -- (Citus refuses a lateral join from the reference table of students,
    -- and a cluster reads in one pass.)
    per_student := NOT on_cluster AND to_day - from_day >= 7;

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

    -- The days of an academic year written for the first time go into a
    -- partition of their own, indexed once they are written.
    write_from := least(from_day, (SELECT min(f) FROM pg_catalog.unnest(stale_from) AS f));
    PERFORM @extschema@.open_years(write_from, to_day);

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
        -- The students whose look-back days are all stored and none is marked
        -- stale (counted by hashing: a window over the students sorted them,
        -- at twice the time); the stored days of the others are not read.
        IF pg_catalog.to_regclass('pg_temp.engage_refresh_kept') IS NOT NULL THEN
            DROP TABLE pg_temp.engage_refresh_kept;
        END IF;
        CREATE TEMP TABLE engage_refresh_kept ON COMMIT DROP AS
        SELECT s.student_id FROM pg_temp.engage_refresh_lookback AS s
        GROUP BY s.student_id
        HAVING pg_catalog.count(*) FILTER (WHERE s.module_code IS NULL) = from_day - lookback
           AND NOT (s.student_id = ANY (stale_ids))
           AND NOT EXISTS (SELECT FROM @extschema@.refresh_stale AS rs WHERE rs.student_id = s.student_id);
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
        bulk := to_day - from_day < 7 AND EXISTS (SELECT FROM pg_temp.engage_refresh_kept);
        -- read per student only where the run goes student by student
        IF NOT bulk THEN
            CREATE INDEX ON pg_temp.engage_refresh_lookback (student_id);
        END IF;
        ANALYZE pg_temp.engage_refresh_lookback;
        ANALYZE pg_temp.engage_refresh_kept;
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
            WHERE f.student_id IN (SELECT k.student_id FROM pg_temp.engage_refresh_kept AS k)
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
        LEFT JOIN pg_temp.engage_refresh_kept AS kept ON kept.student_id = st.student_id
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
                WHERE NOT bulk AND s.stored AND lb.student_id = st.student_id
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
    PERFORM @extschema@.index_years();

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
    IF on_cluster THEN
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
    ELSE
        -- The same, found student by student through the key: the planner
        -- knows daily_engagement by its statistics of before this run's
        -- writes, and for a long range it would read every row the run
        -- wrote to find none.  (OFFSET 0 keeps the look-up per student.
        -- Citus refuses it, a lateral join from the reference table, and a
        -- cluster keeps the join above.)
        WITH gone AS (
            DELETE FROM @extschema@.daily_engagement AS de
            WHERE de.ctid = ANY (ARRAY(
                SELECT w.ctid
                FROM @extschema@.consent_latest AS cl
                JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
                CROSS JOIN LATERAL (
                    SELECT d.ctid FROM @extschema@.daily_engagement AS d
                    WHERE d.student_id = cl.student_id AND d.day BETWEEN y.starts AND y.ends
                    OFFSET 0) AS w
                WHERE NOT cl.granted))
            RETURNING de.day
        )
        SELECT count(*), count(*) FILTER (WHERE gone.day BETWEEN from_day AND to_day),
               coalesce(pg_catalog.array_agg(DISTINCT @extschema@.week_start(gone.day)), '{}')
        INTO purged, purged_here, weeks
        FROM gone;
    END IF;
    -- rows this run wrote and the purge removed were never written
    written := written - purged_here;
    purged := purged - purged_here;

    -- the cohort figures of every week the run touched: small groups left
    -- out, and groups that differ from another published group of their
    -- programme and week by only 1 to 4 students, whose figures would follow
    -- by difference
    weeks := weeks || ARRAY(
        SELECT w.first + 7 * i
        FROM (SELECT @extschema@.week_start(write_from) AS first) AS w,
             pg_catalog.generate_series(0, (to_day - w.first) / 7) AS i);
    DELETE FROM @extschema@.cohort_week AS cw WHERE cw.week = ANY (weeks);
    SELECT min(w), max(w) + 7, CASE WHEN count(DISTINCT w) < (max(w) + 7 - min(w)) / 7 THEN weeks END
    INTO weeks_from, weeks_until, weeks_apart FROM pg_catalog.unnest(weeks) AS w;
    -- Each student's mean score per group and week, in a temporary table
    -- whose statistics the planner sees.  The statements below are planned
    -- with the run's weeks as values (EXECUTE ... USING): estimated without
    -- them, the groups look a thousand times smaller than they are, and the
    -- plans chosen for that take seconds.  daily_engagement holds the days
    -- of consenting students only (the purge above), and engage.stable_avg
    -- has the same bits in any order, so no plan (parallel workers
    -- included) can change a figure.  The weeks are read as days from
    -- weeks_from to weeks_until, and tested one by one only where some
    -- weeks between them are not the run's.
    IF pg_catalog.to_regclass('pg_temp.engage_refresh_weekly') IS NOT NULL THEN
        DROP TABLE pg_temp.engage_refresh_weekly;
    END IF;
    -- The groups are hashed: the statistics of daily_engagement are those of
    -- before this run's writes, and a plan made from them sorts the rows
    -- (on disk, at three times the time).
    sort_was := pg_catalog.current_setting('enable_sort');
    PERFORM pg_catalog.set_config('enable_sort', 'off', true);
    IF NOT per_student THEN
        EXECUTE $sql$
        CREATE TEMP TABLE engage_refresh_weekly ON COMMIT DROP AS
        SELECT st.college, st.programme, g.module_code, g.week, g.student_id, g.score
        FROM (
            SELECT d.student_id, d.module_code, @extschema@.week_start(d.day) AS week,
                   @extschema@.stable_avg(d.score) AS score
            FROM @extschema@.daily_engagement AS d
            WHERE d.day >= $1 AND d.day < $2 AND ($3 IS NULL OR @extschema@.week_start(d.day) = ANY ($3))
            GROUP BY 1, 2, 3
        ) AS g
        JOIN @extschema@.student AS st ON st.student_id = g.student_id
        $sql$ USING weeks_from, weeks_until, weeks_apart;
    ELSE
        EXECUTE $sql$
        CREATE TEMP TABLE engage_refresh_weekly ON COMMIT DROP AS
        SELECT st.college, st.programme, g.module_code, g.week, st.student_id, g.score
        FROM @extschema@.student AS st
        CROSS JOIN LATERAL (
            SELECT d.module_code, @extschema@.week_start(d.day) AS week,
                   @extschema@.stable_avg(d.score) AS score
            FROM @extschema@.daily_engagement AS d
            WHERE d.student_id = st.student_id
              AND d.day >= $1 AND d.day < $2 AND ($3 IS NULL OR @extschema@.week_start(d.day) = ANY ($3))
            GROUP BY 1, 2
        ) AS g
        $sql$ USING weeks_from, weeks_until, weeks_apart;
    END IF;
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
               @extschema@.stable_median(w.score) AS median_score,
               round(100.0 * sum(a.present) / nullif(sum(a.counted), 0), 1) AS attendance_rate,
               @extschema@.byte_sorted(array_agg(w.student_id)) AS members
        FROM pg_temp.engage_refresh_weekly AS w
        LEFT JOIN (SELECT at.student_id, at.week, at.module_code, at.present, at.counted FROM attendance AS at
                   UNION ALL
                   SELECT at.student_id, at.week, NULL, sum(at.present), sum(at.counted)
                   FROM attendance AS at GROUP BY 1, 2) AS a
               ON a.student_id = w.student_id AND a.week = w.week
              AND coalesce(a.module_code, '') = coalesce(w.module_code, '')
        -- (no aggregate here needs the rows in order, so the groups can be
        -- hashed: the median and the members are sorted group by group;
        -- were all rows sorted, module first, as colleges and programmes
        -- repeat)
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

    IF NOT per_student THEN
        SELECT count(*) INTO n_students
        FROM (SELECT DISTINCT de.student_id FROM @extschema@.daily_engagement AS de
              WHERE de.day BETWEEN from_day AND to_day) AS s;
    ELSE
        -- (LIMIT keeps the look-up per student)
        SELECT count(*) INTO n_students
        FROM @extschema@.student AS st
        CROSS JOIN LATERAL (SELECT FROM @extschema@.daily_engagement AS de
                            WHERE de.student_id = st.student_id AND de.day BETWEEN from_day AND to_day
                            LIMIT 1) AS w;
    END IF;

    INSERT INTO @extschema@.refresh_run
        (started_at, finished_at, from_day, to_day, days, students, rows_written, rows_purged, students_caught_up)
    VALUES (started, pg_catalog.clock_timestamp(), from_day, to_day, to_day - from_day + 1,
            n_students, written, purged, pg_catalog.cardinality(stale_ids));

    CALL @extschema@.refresh_alerts();
END
$$;

COMMENT ON PROCEDURE @extschema@.refresh(date, date) IS
'The nightly computation: recomputes engage.daily_engagement for every consenting student, per enrolled module and overall, for each day from from_day to to_day (both default to yesterday in engage.time_zone; called without arguments it also recomputes the students engage.refresh_stale marks, from their first changed day), removes the rows of withdrawn consent, recomputes the cohort figures of the weeks it touched, and records the run in engage.refresh_run. Idempotent.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.daily_engagement', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_run', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.refresh_run_run_id_seq', '');

-- the computed days only with consent; the marks are written by
-- engage.mark_stale and read and emptied by the refresh (as the loader)
ALTER TABLE @extschema@.daily_engagement ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.daily_engagement FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.refresh_stale ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.refresh_stale FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.daily_engagement FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY ((SELECT @extschema@.consenting_students())::text[]));
CREATE POLICY loader_all ON @extschema@.refresh_stale FOR ALL TO engage_loader USING (true) WITH CHECK (true);
CREATE POLICY loader_all ON @extschema@.daily_engagement FOR ALL TO engage_loader USING (true) WITH CHECK (true);
