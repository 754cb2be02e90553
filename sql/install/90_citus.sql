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

CREATE PROCEDURE @extschema@.distribute()
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- Reference tables, in the order their foreign keys need.  The directory
    -- of people (student, staff, and the colleges students were in) is one:
    -- an id and a login role must name one person across students and
    -- staff, which the identity check reads on whichever node a row is
    -- written, and the unique key on login_role needs the whole table.
    reference_tables text[] := ARRAY['college', 'academic_year', 'mark_band', 'exam_period', 'module',
                                     'staff', 'student', 'student_college', 'coefficients',
                                     'cohort_week', 'model_fit'];
    -- co-located with the first
    distributed_tables text[] := ARRAY['tutoring', 'consent', 'enrolment',
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
    -- The catalogues' foreign keys from tables that stay on the coordinator
    -- are kept as they are (by default Citus would convert every table they
    -- link, and send each to the workers, where engage's own copy exists).
    PERFORM pg_catalog.set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    PERFORM pg_catalog.set_config('citus.enable_unsafe_triggers', 'on', true);
    -- the viewer named with SET LOCAL engage.viewer reaches the workers
    EXECUTE pg_catalog.format('ALTER DATABASE %I SET citus.propagate_set_commands = %L',
                              pg_catalog.current_database(), 'local');

    -- Citus refuses subqueries in the policies of distributed tables: each
    -- (SELECT engage.f()) becomes the call itself.
    FOR p IN SELECT pl.policyname, pl.tablename, pl.qual FROM pg_catalog.pg_policies AS pl
             WHERE pl.schemaname = '@extschema@' AND pl.qual ~ 'SELECT' LOOP
        EXECUTE pg_catalog.format('ALTER POLICY %I ON @extschema@.%I USING (%s)', p.policyname, p.tablename,
            pg_catalog.regexp_replace(p.qual, '\(\s*SELECT (@extschema@\.\w+\(\)) AS \w+\)', '\1', 'g'));
    END LOOP;

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
'On a Citus coordinator with workers added: turns this database''s engage into the distributed layout, the catalogues and engage.student as reference tables and every table of personal data distributed by student_id in one co-location group, with its rows. Run once, as a superuser, after loading; see docs/scaling.md.';
