-- engage.ele_minutes against a plain-SQL statement of the same rule, on
-- thousands of random streams full of ties, exact 5-minute gaps, short and
-- long module codes, pages of no module, midnights and both daylight-saving
-- days of Europe/London.
BEGIN;
SELECT plan(6);
SET LOCAL TimeZone = 'Pacific/Auckland';  -- must not matter

CREATE TEMP TABLE stream (g int NOT NULL, ts timestamptz, m text);
SELECT setseed(0.2026);
-- 3000 streams of 1 to 60 views on a 30-second grid, so gaps of exactly
-- 5 minutes and ties are common; starts spread over ordinary days,
-- midnights and the DST changes.
INSERT INTO stream
SELECT g,
       base + (floor(random() * 240) * interval '30 seconds'),
       (ARRAY['BIO1001', 'CHE1002', 'PHY1003', 'bio1001', 'INTERDISCIPLINARY-PROJECT-2026', NULL])[1 + floor(random() * 6)::int]
FROM (SELECT g,
             (ARRAY['2026-03-29 00:00+00', '2026-10-24 22:30+00', '2026-10-25 00:30+00',
                    '2026-02-02 23:30+00', '2026-06-30 22:30+00', '2026-11-03 09:00+00'
                   ]::timestamptz[])[1 + g % 6] AS base,
             1 + floor(random() * 60)::int AS n
      FROM generate_series(1, 3000) AS g) AS s,
     generate_series(1, s.n);
-- and some NULL timestamps, which the aggregate ignores
INSERT INTO stream SELECT g, NULL, 'BIO1001' FROM generate_series(1, 3000, 7) AS g;

CREATE TEMP VIEW by_sql AS
WITH ordered AS (
    SELECT g, ts, m,
           lead(ts) OVER (PARTITION BY g ORDER BY ts, m COLLATE "C" NULLS LAST) AS next_ts
    FROM stream WHERE ts IS NOT NULL
), credited AS (
    SELECT g, m, (ts AT TIME ZONE 'Europe/London')::date AS day,
           CASE WHEN next_ts - ts < interval '5 minutes' THEN next_ts - ts
                ELSE interval '2 minutes' END AS credit
    FROM ordered WHERE m IS NOT NULL
)
SELECT g, m AS module_code, day, extract(epoch FROM sum(credit)) / 60 AS minutes
FROM credited GROUP BY g, m, day;

CREATE TEMP VIEW by_c AS
SELECT s.g, c.module_code, c.day, c.minutes
FROM (SELECT g, engage.ele_minutes(ts, m) AS credits FROM stream GROUP BY g) AS s,
     unnest(s.credits) AS c;

SELECT cmp_ok((SELECT count(DISTINCT g) FROM stream)::int, '=', 3000, 'there are 3000 random streams');

SELECT is((SELECT count(*) FROM by_c), (SELECT count(*) FROM by_sql),
          'the aggregate yields one element per (stream, module, day) the SQL rule credits');

SELECT is_empty($$
    SELECT * FROM by_c FULL JOIN by_sql USING (g, module_code, day)
    WHERE by_c.minutes IS NULL OR by_sql.minutes IS NULL
       OR abs(by_c.minutes - by_sql.minutes) > 1e-9
$$, 'the aggregate matches the plain-SQL rule on every stream, module and day');

-- The same credits whatever order the views arrive in: sorted, reversed,
-- or sorted but for one view in ten that arrives an hour late.
SELECT is_empty($$
    WITH arrivals AS (
        SELECT g,
               engage.ele_minutes(ts, m) AS any_order,
               engage.ele_minutes(ts, m ORDER BY ts, m) AS sorted,
               engage.ele_minutes(ts, m ORDER BY ts DESC, m DESC) AS reversed,
               engage.ele_minutes(ts, m ORDER BY ts + CASE WHEN hashtext(ts::text || m) % 10 = 0
                                                          THEN interval '1 hour' ELSE interval '0' END) AS nearly
        FROM stream GROUP BY g
    )
    SELECT g FROM arrivals
    WHERE sorted IS DISTINCT FROM any_order OR reversed IS DISTINCT FROM any_order
       OR nearly IS DISTINCT FROM any_order
$$, 'the credits do not depend on the order in which views arrive');

-- Elements come in module then day order.
SELECT is_empty($$
    SELECT s.g FROM (SELECT g, engage.ele_minutes(ts, m) AS credits FROM stream GROUP BY g) AS s
    WHERE s.credits IS DISTINCT FROM ARRAY(
        SELECT c FROM unnest(s.credits) AS c ORDER BY c.module_code COLLATE "C", c.day)
$$, 'elements are ordered by module code, then day');

-- Other parameters: a 3-minute idle gap, 1-minute credit, a half-hour zone.
SELECT is_empty($$
    WITH ordered AS (
        SELECT g, ts, m,
               lead(ts) OVER (PARTITION BY g ORDER BY ts, m COLLATE "C" NULLS LAST) AS next_ts
        FROM stream WHERE ts IS NOT NULL
    ), by_sql AS (
        SELECT g, m AS module_code, (ts AT TIME ZONE 'Asia/Kolkata')::date AS day,
               extract(epoch FROM sum(CASE WHEN next_ts - ts < interval '3 minutes'
                                           THEN next_ts - ts ELSE interval '1 minute' END)) / 60 AS minutes
        FROM ordered WHERE m IS NOT NULL GROUP BY 1, 2, 3
    ), by_c AS (
        SELECT s.g, c.* FROM (SELECT g, engage.ele_minutes(ts, m, '3 minutes', '1 minute', 'Asia/Kolkata') AS cr
                              FROM stream GROUP BY g) AS s, unnest(s.cr) AS c
    )
    SELECT * FROM by_c FULL JOIN by_sql USING (g, module_code, day)
    WHERE by_c.minutes IS NULL OR by_sql.minutes IS NULL OR abs(by_c.minutes - by_sql.minutes) > 1e-9
$$, 'with explicit parameters the aggregate matches the plain-SQL rule too');

SELECT * FROM finish();
ROLLBACK;
