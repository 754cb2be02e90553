-- The extension's catalog: what CREATE EXTENSION creates, that every object
-- is commented, that functions cannot be hijacked through search_path, and
-- that pg_dump keeps every table of data.
BEGIN;
SELECT plan(25);

SELECT tables_are('engage', ARRAY[
    'college', 'academic_year', 'coefficients', 'student', 'staff', 'tutoring', 'consent',
    'module', 'enrolment', 'ele_event', 'app_event', 'career_event', 'attendance',
    'assessment_mark', 'exam_period', 'employability', 'meeting_note', 'daily_engagement',
    'refresh_run', 'meeting_note_removal', 'cohort_week', 'student_college', 'refresh_stale',
    'note_removal_request', 'alert', 'load_run', 'load_reject',
    'stage_college', 'stage_module', 'stage_staff', 'stage_student', 'stage_tutoring', 'stage_consent',
    'stage_enrolment', 'stage_ele_event', 'stage_app_event', 'stage_career_event', 'stage_attendance',
    'stage_assessment_mark', 'stage_employability',
    'ele_event_0', 'ele_event_1', 'ele_event_2', 'ele_event_3', 'ele_event_4', 'ele_event_5',
    'ele_event_6', 'ele_event_7', 'mark_band', 'model_fit'], 'the canonical tables exist with their contract names, and the page-view partitions');

SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'engage'), false,
          'the extension is not relocatable');

SELECT is_empty($$
    SELECT pg_describe_object(d.classid, d.objid, 0)
    FROM pg_depend AS d
    WHERE d.refclassid = 'pg_extension'::regclass
      AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'engage')
      AND d.deptype = 'e'
      AND obj_description(d.objid, d.classid::regclass::name) IS NULL
      -- PostgreSQL 17 and later also list each table's and view's row type and
      -- its array type; those are commented through the relation
      AND NOT EXISTS (
          SELECT FROM pg_type AS t
          LEFT JOIN pg_type AS elem ON elem.typarray = t.oid
          JOIN pg_class AS c ON c.oid = coalesce(nullif(t.typrelid, 0), elem.typrelid)
          WHERE d.classid = 'pg_type'::regclass AND t.oid = d.objid AND c.relkind <> 'c')
$$, 'every object of the extension has a comment');

SELECT is_empty($$
    SELECT c.relname || '.' || a.attname
    FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind IN ('r', 'p', 'v') AND NOT c.relispartition
      AND a.attnum > 0 AND NOT a.attisdropped
      AND col_description(c.oid, a.attnum) IS NULL
$$, 'every column of every table and view has a comment');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text
    FROM pg_proc AS p JOIN pg_language AS l ON l.oid = p.prolang
    WHERE p.pronamespace = 'engage'::regnamespace AND p.prokind IN ('f', 'p')
      AND l.lanname <> 'c'
      AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)
$$, 'every SQL and PL/pgSQL function fixes search_path to pg_catalog, pg_temp');

SELECT set_eq($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
    WHERE p.pronamespace = 'engage'::regnamespace AND p.prosecdef
$$, ARRAY['engage.viewer()', 'engage.visible_students()', 'engage.consenting_students()',
          'engage.mark_students()', 'engage.require_student_or_tutor(text)',
          'engage.record_meeting_note(text,date,text,text,jsonb,text)',
          'engage.set_consent(text,boolean)', 'engage.remove_meeting_note(bigint,text)',
          'engage.mark_stale()', 'engage.request_note_removal(bigint,text)',
          'engage.node_students_compute(text)', 'engage.programme_positions_cluster()',
          'engage.decide_note_removal(bigint,boolean,text)', 'engage.note_index()',
          'engage.pending_note_removals()',
          'engage.fit_coefficients(text,text,text[])', 'engage.apply_fit(bigint)',
          'engage.programme_positions()', 'engage.load(regclass,interval)',
          'engage.open_years(date,date)', 'engage.index_years()'],
   'only the identity, policy, writing, fitting and loading functions run with the owner''s rights');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text, r.rolname
    FROM pg_proc AS p, pg_roles AS r
    WHERE p.pronamespace = 'engage'::regnamespace AND p.prosecdef
      AND r.rolname IN ('engage_analyst', 'engage_loader', 'public')
      AND has_function_privilege(CASE r.rolname WHEN 'public' THEN 'engage_analyst' ELSE r.rolname END,
                                 p.oid, 'EXECUTE')
      -- analysts fit weights: the fit returns a model, never a student's row
      AND NOT (r.rolname = 'engage_analyst' AND p.oid = 'engage.fit_coefficients(text,text,text[])'::regprocedure)
      -- loading is the loaders' own (see test/pgtap/loading.sql)
      AND NOT (r.rolname = 'engage_loader' AND p.oid = 'engage.load(regclass,interval)'::regprocedure)
      -- the refresh, which loaders run, makes and indexes the partitions of
      -- daily_engagement (see test/pgtap/partitions.sql)
      AND NOT (r.rolname = 'engage_loader'
               AND p.oid IN ('engage.open_years(date,date)'::regprocedure, 'engage.index_years()'::regprocedure))
    UNION ALL
    SELECT p.oid::regprocedure::text, 'PUBLIC' FROM pg_proc AS p
    WHERE p.pronamespace = 'engage'::regnamespace AND p.prosecdef
      AND EXISTS (SELECT FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
                  WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE')
$$, 'no function with the owner''s rights is executable by PUBLIC, analysts or loaders, but loaders load');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
    WHERE p.oid = ANY (ARRAY['engage.remove_meeting_note(bigint,text)',
                             'engage.decide_note_removal(bigint,boolean,text)']::regprocedure[])
      AND (has_function_privilege('engage_tutor', p.oid, 'EXECUTE')
           OR has_function_privilege('engage_student', p.oid, 'EXECUTE')
           OR has_function_privilege('engage_app', p.oid, 'EXECUTE'))
$$, 'only administrators may remove notes');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text, r.rolname
    FROM pg_proc AS p, pg_roles AS r
    WHERE p.oid = ANY (ARRAY['engage.note_index()', 'engage.pending_note_removals()']::regprocedure[])
      AND r.rolname IN ('engage_tutor', 'engage_student', 'engage_app', 'engage_analyst', 'engage_loader')
      AND has_function_privilege(r.rolname, p.oid, 'EXECUTE')
$$, 'only administrators may run the functions behind their note views');

SELECT is_empty($$
    SELECT c.relname FROM pg_class AS c
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind IN ('r', 'p')
      AND EXISTS (SELECT FROM pg_attribute AS a WHERE a.attrelid = c.oid AND a.attname = 'student_id')
      AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
      AND c.relname NOT LIKE 'stage\_%'
$$, 'row-level security is enabled and forced on every table of personal data but the staging tables');

-- COPY FROM refuses a table under row-level security, so the staging tables
-- have none: nobody but engage.load (as engage_owner) reads them
SELECT is_empty($$
    SELECT c.relname, r.rolname, p.privilege
    FROM pg_class AS c, pg_roles AS r, unnest(ARRAY['SELECT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES']) AS p(privilege)
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relname LIKE 'stage\_%'
      AND NOT r.rolsuper AND r.rolname <> 'engage_owner' AND r.rolname NOT LIKE 'pg\_%'
      AND (has_table_privilege(r.oid, c.oid, p.privilege)
           OR has_any_column_privilege(r.oid, c.oid, 'SELECT') AND p.privilege = 'SELECT')
$$, 'nobody but the owner reads or changes a staging table; loaders only insert into it');

SELECT policies_are('engage', 'assessment_mark', ARRAY['viewer_read', 'loader_all'],
                    'marks have exactly the viewer and loader policies');

SELECT set_eq($$
    SELECT c.relname::text FROM pg_class AS c
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind = 'v'
      AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
$$, ARRAY['cohort_engagement', 'meeting_note_index', 'note_removal_queue'],
   'every view runs with the caller''s rights but the cohort view and the administrators'' note index and queue');

SELECT set_eq($$
    SELECT r.rolname::text FROM pg_roles AS r
    WHERE (has_table_privilege(r.oid, 'engage.meeting_note_index', 'SELECT')
           OR has_table_privilege(r.oid, 'engage.note_removal_queue', 'SELECT')) AND NOT r.rolsuper
      AND r.rolname LIKE 'engage\_%' AND r.rolname <> 'engage_owner'
$$, ARRAY['engage_admin'], 'only administrators read the note index and the removal queue');

SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc AS p
    WHERE p.pronamespace = 'engage'::regnamespace AND p.prosecdef
      AND p.proowner <> 'engage_owner'::regrole
      -- only the owner of daily_engagement may attach a partition to it: the
      -- two functions that make and index its partitions take dates alone
      AND p.oid NOT IN ('engage.open_years(date,date)'::regprocedure, 'engage.index_years()'::regprocedure)
    UNION ALL
    SELECT c.relname FROM pg_class AS c
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind = 'v'
      AND NOT coalesce('security_invoker=true' = ANY (c.reloptions), false)
      AND c.relowner <> 'engage_owner'::regrole
$$, 'every function and view with the owner''s rights is owned by engage_owner');

SELECT is((SELECT ARRAY[rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolinherit, rolbypassrls]
           FROM pg_roles WHERE rolname = 'engage_owner'),
          ARRAY[false, false, false, false, false, true],
          'engage_owner cannot log in and is no superuser; it reads past row-level security only');

SELECT is_empty($$
    SELECT m.member::regrole::text FROM pg_auth_members AS m WHERE m.roleid = 'engage_owner'::regrole
$$, 'nobody is a member of engage_owner, so nobody can SET ROLE to it');

SELECT is_empty($$
    SELECT a.attname FROM pg_attribute AS a
    WHERE a.attrelid IN ('engage.cohort_engagement'::regclass, 'engage.cohort_week'::regclass)
      AND a.attname IN ('student_id', 'full_name')
$$, 'the cohort view names no student');

SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class AS c
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind IN ('r', 'S')
      AND c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'engage')::oid[])
      AND c.relname <> 'refresh_stale' AND c.relname NOT LIKE 'stage\_%'
$$, 'every table and sequence is registered for pg_dump, but the nightly run''s marks, which a restore writes again, and the staged rows');

SELECT ok('engage.refresh_stale'::regclass <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'engage')::oid[]),
          'the nightly run''s marks are not dumped: loading the dump marks the restored days again');

SELECT is_empty($$
    SELECT a.aggfnoid::text FROM pg_aggregate AS a JOIN pg_proc AS p ON p.oid = a.aggfnoid
    WHERE p.pronamespace = 'engage'::regnamespace AND p.proparallel <> 's'
$$, 'every aggregate is parallel safe');

SELECT is((SELECT count(*) FROM pg_aggregate AS a JOIN pg_proc AS p ON p.oid = a.aggfnoid
           WHERE p.proname = 'ele_minutes' AND p.pronamespace = 'engage'::regnamespace
             AND a.aggcombinefn <> 0 AND a.aggserialfn <> 0 AND a.aggdeserialfn <> 0),
          2::bigint, 'both forms of engage.ele_minutes can combine, serialize and deserialize');

SELECT is_empty($$
    SELECT c.relname, a.attname FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind = 'r'
      AND a.attname = 'student_id'
      AND NOT EXISTS (SELECT FROM pg_index AS i WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum)
      AND c.relname NOT LIKE 'stage\_%'
$$, 'every student_id column leads an index (but in the staging tables, which are only copied into and emptied)');

SELECT is_empty($$
    SELECT c.relname FROM pg_class AS c
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind = 'r'
      AND c.relname NOT IN ('college', 'academic_year', 'coefficients', 'staff', 'module',
                            'exam_period', 'refresh_run', 'cohort_week', 'mark_band', 'model_fit',
                            'load_run', 'load_reject')
      AND c.relname NOT LIKE 'stage\_%'
      AND NOT EXISTS (SELECT FROM pg_attribute AS a WHERE a.attrelid = c.oid AND a.attname = 'student_id'
                        AND a.attnotnull)
$$, 'every table of personal data carries a NOT NULL student_id');

-- Every way SQL has of naming the transaction's time: now(), CURRENT_DATE,
-- current_timestamp, CURRENT_TIME, LOCALTIME[STAMP], transaction_timestamp().
SELECT is_empty($$
    WITH clock AS (SELECT '(\mnow\s*\(|\mcurrent_(date|time|timestamp)\M|\mlocaltime(stamp)?\M|\mtransaction_timestamp\M)' AS re)
    SELECT p.oid::regprocedure::text FROM pg_proc AS p, clock
    WHERE p.pronamespace = 'engage'::regnamespace AND p.prolang <> (SELECT oid FROM pg_language WHERE lanname = 'c')
      AND p.prokind IN ('f', 'p') AND pg_get_functiondef(p.oid) ~* clock.re
    UNION ALL
    SELECT c.relname FROM pg_class AS c, clock
    WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind = 'v' AND pg_get_viewdef(c.oid) ~* clock.re
    UNION ALL
    SELECT pol.polname || ' on ' || pol.polrelid::regclass FROM pg_policy AS pol, clock
    WHERE pol.polrelid::regclass::text LIKE 'engage.%'
      AND (coalesce(pg_get_expr(pol.polqual, pol.polrelid), '') ~* clock.re
           OR coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '') ~* clock.re)
$$, 'the rules judge "today" by the statement (engage.today()), never by the transaction''s clock');

SELECT * FROM finish();
ROLLBACK;
