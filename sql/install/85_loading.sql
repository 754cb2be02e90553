-- Loading ---------------------------------------------------------------------------
--
-- The ETL's path into the source tables, in one place (see docs/loading.md).
-- A loader COPYs a file into engage.stage_<table> (every column as text),
-- then calls engage.load('<table>'), which checks every row in set-based SQL,
-- inserts the good rows that are not there yet in one statement, sets each
-- bad row aside in engage.load_reject with its line, column and reason, and
-- records the batch in engage.load_run.
--
-- The source tables keep row-level security, under which PostgreSQL refuses
-- COPY FROM; the staging tables have none, so no role but engage_owner may
-- read them: a loader may only insert, and only the data columns (the line
-- and the staging login come from their defaults).  engage.load reads the
-- rows its caller's login staged, with the owner's rights.

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
