-- engage.ele_minutes runs in parallel: partial states are built by workers,
-- serialized, combined, and give the same answer as a serial plan.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';
CREATE TABLE pv (student_id int NOT NULL, ts timestamptz NOT NULL, module_code text);
INSERT INTO pv
SELECT i % 50, '2026-03-28 12:00+00'::timestamptz + (hashint4(i) & 65535) * interval '7 seconds',
       (ARRAY['BIO1001', 'CHE1002', NULL, 'INTERDISCIPLINARY-PROJECT-2026'])[1 + (hashint4(i + 7) & 3)]
FROM generate_series(1, 200000) AS i;
ANALYZE pv;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF)
SELECT engage.ele_minutes(ts, module_code) FROM pv;
EXPLAIN (COSTS OFF)
SELECT student_id, engage.ele_minutes(ts, module_code, '5 minutes', '2 minutes', 'Europe/London')
FROM pv GROUP BY student_id;

-- A plan that shows Gather proves nothing if no worker starts: run each
-- statement under EXPLAIN ANALYZE and count the workers that did.
CREATE FUNCTION pg_temp.workers_launched(statement text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    plan text;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || statement INTO plan;
    RETURN (SELECT coalesce(sum(m[1]::bigint), 0)
            FROM regexp_matches(plan, '"Workers Launched": ([0-9]+)', 'g') AS m);
END
$$;
SELECT pg_temp.workers_launched($$CREATE TEMP TABLE par AS
    SELECT student_id, engage.ele_minutes(ts, module_code) AS credits FROM pv GROUP BY student_id$$) > 0
    AS grouped_by_workers;
SELECT pg_temp.workers_launched($$CREATE TEMP TABLE whole_par AS
    SELECT engage.ele_minutes(ts, module_code) AS credits FROM pv$$) > 0
    AS one_group_by_workers;

SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE ser AS
SELECT student_id, engage.ele_minutes(ts, module_code) AS credits FROM pv GROUP BY student_id;

SELECT count(*) AS students,
       count(*) FILTER (WHERE par.credits IS NOT DISTINCT FROM ser.credits) AS identical
FROM par FULL JOIN ser USING (student_id);
SELECT (SELECT credits FROM whole_par) = (SELECT engage.ele_minutes(ts, module_code) FROM pv) AS one_group_identical;
RESET ALL;
DROP TABLE pv;
