-- engage.engagement_series and engage.score on hand-computed series.
SET DateStyle = 'ISO, YMD';
CREATE TEMP TABLE a (k int NOT NULL DEFAULT 1, day date, ele float8, app bigint, ev bigint);
\set show 'SELECT x.k, d.* FROM (SELECT k, engage.engagement_series(day, ele, app, ev, :''from'', :''to'') AS s FROM a GROUP BY k) AS x, unnest(x.s) AS d ORDER BY x.k, d.day'

-- One active day: the means decay to zero seven days later.  The rows on
-- 23 February (from_day - 6) count; those on the 22nd are outside every window.
\set from 2026-03-01
\set to 2026-03-09
INSERT INTO a VALUES
  (1, '2026-02-22', 1000, 1000, 1000),
  (1, '2026-02-23', 70, 0, 0),
  (1, '2026-03-01', 7, 14, 1),
  (1, '2026-03-10', 1000, 1000, 1000);
:show;

-- Rows of one day add up; NULL measures count as zero; a row without a day
-- asks for the series and contributes nothing.
TRUNCATE a;
\set from 2026-03-01
\set to 2026-03-03
INSERT INTO a VALUES
  (1, '2026-03-02', 3.5, 1, NULL), (1, '2026-03-02', 3.5, NULL, 2), (1, NULL, 99, 99, 99),
  (2, NULL, NULL, NULL, NULL);
:show;

-- A steady week: every day 7 minutes, 7 choices, one event a week.
TRUNCATE a;
\set from 2026-01-15
\set to 2026-01-17
INSERT INTO a SELECT 1, d, 7, 7, CASE WHEN extract(dow FROM d) = 1 THEN 1 END
FROM generate_series('2026-01-01'::date, '2026-01-31', '1 day') AS d;
:show;

-- One-day range.
\set from 2026-01-20
\set to 2026-01-20
:show;

-- No rows at all: no series.
SELECT engage.engagement_series(day, ele, app, ev, '2026-01-01', '2026-01-02') FROM a WHERE false;

-- The score: the published CLES 2019/20 weights applied to the 7-day means.
SELECT engage.score(10, 2, 1.0 / 7, 0.446, 0.068, 1.11) AS score,
       0.446 * 10 + 0.068 * 2 + 1.11 / 7 AS by_hand;
SELECT engage.score(0, 0, 0, 0.446, 0.068, 1.11) AS idle_student;
SELECT engage.score(NULL, 0, 0, 0.446, 0.068, 1.11) AS unknown;

-- Long series do not drift: a day's means are summed afresh from its week,
-- so a day computed in a long range equals the same day computed alone.
TRUNCATE a;
INSERT INTO a SELECT 1, d, (hashint4(i) & 1023) / 7.0, hashint4(i + 1) & 15, hashint4(i + 2) & 1
FROM generate_series(0, 729) AS i, LATERAL (SELECT '2025-01-01'::date + i AS d) AS dd;
WITH long AS (
    SELECT d.* FROM unnest((SELECT engage.engagement_series(day, ele, app, ev, '2025-01-07', '2026-12-31') FROM a)) AS d
), single AS (
    SELECT d.* FROM generate_series('2025-01-07'::date, '2026-12-31', '1 day') AS g,
         LATERAL unnest((SELECT engage.engagement_series(day, ele, app, ev, g::date, g::date) FROM a)) AS d
)
SELECT count(*) AS days, count(*) FILTER (WHERE l IS DISTINCT FROM s) AS differing
FROM long AS l FULL JOIN single AS s USING (day);
