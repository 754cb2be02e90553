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
