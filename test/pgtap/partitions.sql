-- daily_engagement keeps one partition per academic year.  The first refresh
-- that writes a year's days makes its partition and indexes it after the
-- write; later runs write into it.  A partition is read through
-- daily_engagement alone, under its policies.
BEGIN;
SELECT plan(23);
SET LOCAL client_min_messages = warning;

CREATE ROLE pt_tutor LOGIN IN ROLE engage_tutor;
CREATE ROLE pt_student LOGIN IN ROLE engage_student;
CREATE ROLE pt_loader LOGIN IN ROLE engage_loader;

INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year VALUES ('2024/25', '2024-08-01', '2025-07-31'), ('2025/26', '2025-08-01', '2026-07-31'),
                                        ('2026/27', '2026-08-01', '2027-07-31');
INSERT INTO engage.coefficients SELECT 'CLES', label, 0.446, 0.068, 1.11 FROM engage.academic_year;
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
VALUES ('P1', 'Pat One', 'CLES', 'BSc Biology', 1), ('P2', 'Pip Two', 'CLES', 'BSc Biology', 1);
INSERT INTO engage.consent (student_id, academic_year, granted)
SELECT s, y, true FROM unnest(ARRAY['P1', 'P2']) AS s, unnest(ARRAY['2024/25', '2025/26']) AS y;
INSERT INTO engage.enrolment
SELECT s, 'BIO1001', y FROM unnest(ARRAY['P1', 'P2']) AS s, unnest(ARRAY['2024/25', '2025/26']) AS y;
-- page views on both sides of the turn of the year
INSERT INTO engage.ele_event
SELECT s, engage.local_midnight('2025-07-20'::date + k) + interval '10 hours' + i * interval '4 minutes', 'BIO1001'
FROM unnest(ARRAY['P1', 'P2']) AS s, generate_series(0, 20) AS k, generate_series(1, 5) AS i;

CREATE FUNCTION pg_temp.partitions() RETURNS SETOF text LANGUAGE sql AS $$
    SELECT i.inhrelid::regclass::text FROM pg_inherits AS i
    WHERE i.inhparent = 'engage.daily_engagement'::regclass
$$;

SELECT is((SELECT relkind FROM pg_class WHERE oid = 'engage.daily_engagement'::regclass), 'p'::"char",
          'daily_engagement is partitioned');
SELECT is_empty('SELECT * FROM pg_temp.partitions()', 'a fresh install has no partition');
SELECT throws_ok($$INSERT INTO engage.daily_engagement VALUES ('P1', NULL, '2025-08-01', 1, 0, 0, 0.1, 1, 0, 0)$$,
                 '23514', NULL, 'a row of a year without a partition is refused');

-- the first write of two years, in one run
CALL engage.refresh('2025-07-25', '2025-08-05');
SELECT set_eq('SELECT * FROM pg_temp.partitions()',
              ARRAY['engage.daily_engagement_2024_25', 'engage.daily_engagement_2025_26'],
              'a run makes the partition of each academic year it writes first');
SELECT is((SELECT count(*) FROM engage.daily_engagement), 2 * 12 * 2::bigint,
          'every day of the run is stored, overall and per module');
SELECT is_empty($$SELECT day FROM engage.daily_engagement_2024_25 WHERE day NOT BETWEEN '2024-08-01' AND '2025-07-31'
                  UNION ALL
                  SELECT day FROM engage.daily_engagement_2025_26 WHERE day NOT BETWEEN '2025-08-01' AND '2026-07-31'$$,
                'each partition holds the days of its year');
SELECT set_eq($$SELECT indexrelid::regclass::text || CASE WHEN indisunique THEN ' unique' ELSE '' END
                FROM pg_index WHERE indrelid IN ('engage.daily_engagement_2024_25'::regclass,
                                                 'engage.daily_engagement_2025_26'::regclass)$$,
              ARRAY['engage.daily_engagement_2024_25_key unique', 'engage.daily_engagement_2024_25_day',
                    'engage.daily_engagement_2025_26_key unique', 'engage.daily_engagement_2025_26_day'],
              'each partition is indexed once written: its key, and its days');
SELECT is((SELECT pg_get_indexdef('engage.daily_engagement_2025_26_key'::regclass)),
          'CREATE UNIQUE INDEX daily_engagement_2025_26_key ON engage.daily_engagement_2025_26 USING btree (student_id, day, COALESCE(module_code, ''''::text))',
          'the key is the student, the day and the module or overall');
SELECT throws_ok($$INSERT INTO engage.daily_engagement SELECT * FROM engage.daily_engagement LIMIT 1$$,
                 '23505', NULL, 'a student''s day and module are stored once');
SELECT is((SELECT rows_written FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1), 48::bigint,
          'the run counts the rows it wrote into new partitions');

-- the same run again writes into the indexed partitions, with the same rows
CREATE TEMP TABLE first_rows AS SELECT * FROM engage.daily_engagement;
CALL engage.refresh('2025-07-25', '2025-08-05');
SELECT bag_eq('SELECT * FROM engage.daily_engagement', 'SELECT * FROM first_rows',
              'a run into stored partitions gives the rows the first run gave');
SELECT set_eq('SELECT * FROM pg_temp.partitions()',
              ARRAY['engage.daily_engagement_2024_25', 'engage.daily_engagement_2025_26'],
              'a year keeps its partition');

-- the functions, as the refresh calls them
SELECT is(engage.open_years('2025-08-01', '2026-12-01')::text[], ARRAY['engage.daily_engagement_2026_27'],
          'engage.open_years makes the partitions missing, and returns them');
SELECT is_empty($$SELECT FROM pg_index WHERE indrelid = 'engage.daily_engagement_2026_27'::regclass$$,
                'a partition is made without indexes');
SELECT lives_ok('SELECT engage.index_years()', 'engage.index_years runs');
SELECT is((SELECT count(*) FROM pg_index WHERE indrelid = 'engage.daily_engagement_2026_27'::regclass), 2::bigint,
          'engage.index_years builds its two indexes');
SELECT is(engage.open_years('2024-08-01', '2027-07-31'), '{}'::regclass[], 'no year gets a second partition');

-- a year whose dates changed after its days were stored
UPDATE engage.academic_year SET ends = '2027-06-30' WHERE label = '2026/27';
SELECT throws_ok($$SELECT engage.open_years('2026-08-01', '2026-08-01')$$, '55000',
                 $$the days of academic year 2026/27 are stored in a partition FOR VALUES FROM ('2026-08-01') TO ('2027-08-01'), not FOR VALUES FROM ('2026-08-01') TO ('2027-07-01')$$,
                 'a year whose dates no longer match its partition is refused');
UPDATE engage.academic_year SET ends = '2027-07-31' WHERE label = '2026/27';

-- read through daily_engagement alone: no role may read a partition itself
SELECT is(array_agg(c.relname ORDER BY c.relname), NULL,
          'every partition has row-level security on, with no policy: nothing is readable through it')
FROM pg_class AS c
WHERE c.oid IN (SELECT i.inhrelid FROM pg_inherits AS i WHERE i.inhparent = 'engage.daily_engagement'::regclass)
  AND NOT (c.relrowsecurity AND NOT EXISTS (SELECT FROM pg_policy AS p WHERE p.polrelid = c.oid));
SELECT is_empty($$
    SELECT r.rolname, i.inhrelid::regclass
    FROM pg_inherits AS i, pg_roles AS r
    WHERE i.inhparent = 'engage.daily_engagement'::regclass
      AND r.rolname IN ('engage_tutor', 'engage_student', 'engage_app', 'engage_loader', 'engage_analyst',
                        'engage_admin', 'engage_owner', 'public')
      AND has_table_privilege(CASE r.rolname WHEN 'public' THEN 'engage_analyst' ELSE r.rolname END,
                              i.inhrelid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
$$, 'no role is granted anything on a partition');
SET SESSION AUTHORIZATION pt_tutor;
SELECT throws_ok('SELECT count(*) FROM engage.daily_engagement_2025_26', '42501', NULL,
                 'a tutor cannot read a partition');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION pt_loader;
SELECT throws_ok('TRUNCATE engage.daily_engagement_2025_26', '42501', NULL,
                 'a loader cannot empty a partition');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION pt_student;
SELECT throws_ok($$SELECT engage.open_years('2024-08-01', '2024-08-01')$$, '42501', NULL,
                 'only loaders make partitions');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
