-- engage.daily_profile, the per-student kernel of the nightly run: its rows
-- against the ELE rule and a plain-SQL window, stored days standing in for
-- raw ones (what an incremental run relies on), and its errors.
BEGIN;
SELECT plan(12);
SET LOCAL TimeZone = 'Pacific/Auckland';  -- must not matter
SET LOCAL engage.time_zone = 'Europe/London';

SELECT setseed(0.31);
CREATE TEMP TABLE feed (student text, kind "char", ts timestamptz, module_code text, day date,
                        until date, x float8, y float8, z float8);
-- 12 students, views on a 30-second grid over three weeks around the end of
-- British Summer Time; some views of no module; app choices and careers events
INSERT INTO feed
SELECT 's' || i, 'v', '2026-10-12 06:00+00'::timestamptz + floor(random() * 60000) * interval '30 seconds',
       (ARRAY['BIO1001', 'CHE1002', NULL])[1 + floor(random() * 3)::int], NULL, NULL, NULL, NULL, NULL
FROM generate_series(1, 12) AS i, generate_series(1, 150);
INSERT INTO feed
SELECT 's' || i, 'a', '2026-10-12 00:00+00'::timestamptz + random() * interval '20 days', NULL, NULL, NULL, NULL, NULL, NULL
FROM generate_series(1, 12) AS i, generate_series(1, 20);
INSERT INTO feed
SELECT 's' || i, 'c', NULL, NULL, '2026-10-12'::date + floor(random() * 20)::int, NULL, NULL, NULL, NULL
FROM generate_series(1, 12) AS i, generate_series(1, 2);
-- enrolled on BIO1001 and on MAT1003, which they never view; consent from
-- the 15th for odd students, all term for even ones
INSERT INTO feed
SELECT 's' || i, 'm', NULL, m, '2026-08-01', '2027-07-31', NULL, NULL, NULL
FROM generate_series(1, 12) AS i, unnest(ARRAY['BIO1001', 'MAT1003']) AS m;
INSERT INTO feed
SELECT 's' || i, 'w', NULL, NULL, CASE WHEN i % 2 = 1 THEN '2026-10-15'::date ELSE '2026-08-01' END,
       '2027-07-31', 0.446, 0.068, 1.11
FROM generate_series(1, 12) AS i;

CREATE FUNCTION pg_temp.profile(f date, t date)
RETURNS TABLE (student text, p engage.profile_day) LANGUAGE sql AS $$
    SELECT student, unnest(engage.daily_profile(kind, ts, module_code, day, until, x, y, z, f, t))
    FROM feed GROUP BY student
$$;
CREATE TEMP TABLE whole AS
SELECT student, (p).* FROM pg_temp.profile('2026-10-18', '2026-10-31');

SELECT is((SELECT count(*) FROM whole WHERE module_code = 'MAT1003' AND ele_minutes = 0 AND day >= '2026-10-18'),
          (SELECT count(*) FROM whole WHERE module_code IS NULL),
          'a module enrolled but never viewed has a row on every day, with no minutes');
SELECT is((SELECT count(*) FROM whole WHERE module_code = 'CHE1002'), 0::bigint,
          'a module viewed but not enrolled on has no series');

-- the day's minutes per module and overall are the ELE rule's
SELECT is_empty($$
    WITH credits AS (
        SELECT f.student, c.module_code, c.day, c.minutes
        FROM (SELECT student, engage.ele_minutes(ts, module_code) AS cr FROM feed WHERE kind = 'v' GROUP BY student) AS f,
             unnest(f.cr) AS c
    ), overall AS (
        SELECT student, day, sum(minutes ORDER BY module_code) AS minutes FROM credits GROUP BY 1, 2
    )
    SELECT w.* FROM whole AS w
    LEFT JOIN credits AS c ON c.student = w.student AND c.module_code = w.module_code AND c.day = w.day
    LEFT JOIN overall AS o ON o.student = w.student AND o.day = w.day
    WHERE w.ele_minutes IS DISTINCT FROM coalesce(CASE WHEN w.module_code IS NULL THEN o.minutes ELSE c.minutes END, 0)
$$, 'each day''s minutes, per module and overall, are those of engage.ele_minutes');

-- the 7-day sums and the score, as a plain-SQL window over the daily figures
SELECT is_empty($$
    WITH daily AS (
        SELECT w.student, w.module_code, d::date AS day,
               coalesce(x.ele_minutes, 0) AS ele, coalesce(x.app_choices, 0) AS app, coalesce(x.career_events, 0) AS ev
        FROM (SELECT DISTINCT student, module_code FROM whole) AS w
        CROSS JOIN generate_series('2026-10-12'::date, '2026-10-31', '1 day') AS d
        LEFT JOIN (SELECT student, (p).* FROM pg_temp.profile('2026-10-12', '2026-10-31')) AS x
               ON x.student = w.student AND x.module_code IS NOT DISTINCT FROM w.module_code AND x.day = d::date
    ), windowed AS (
        SELECT *, sum(ele) OVER w AS ele7, sum(app) OVER w AS app7, sum(ev) OVER w AS ev7
        FROM daily WINDOW w AS (PARTITION BY student, module_code ORDER BY day ROWS 6 PRECEDING)
    )
    SELECT h.* FROM whole AS h JOIN windowed AS x
      ON x.student = h.student AND x.module_code IS NOT DISTINCT FROM h.module_code AND x.day = h.day
    WHERE abs(h.ele_minutes_7d - x.ele7) > 1e-9 OR h.app_choices_7d <> x.app7 OR h.career_events_7d <> x.ev7
       OR abs(h.score - (0.446 * x.ele7 / 7 + 0.068 * x.app7 / 7.0 + 1.11 * x.ev7 / 7.0)) > 1e-9
$$, 'the 7-day sums and the score agree with a window over the daily figures');

SELECT is((SELECT count(*) FROM whole WHERE student IN ('s1', 's3') AND day < '2026-10-15'), 0::bigint,
          'no row on a day without consent');
SELECT ok((SELECT bool_and(app_choices_7d <= (SELECT count(*) FROM feed AS f WHERE f.student = w.student AND f.kind = 'a'
                                                AND engage.local_day(f.ts) BETWEEN '2026-10-15' AND w.day))
           FROM whole AS w WHERE student = 's1' AND day BETWEEN '2026-10-15' AND '2026-10-21'),
          'days before consent count as zero in the windows after it');

-- An incremental run: the days before from_day come from stored rows, the
-- raw events only from from_day on.  It must give the same bits.
CREATE TEMP TABLE stored AS
SELECT student, (p).* FROM pg_temp.profile('2026-10-19', '2026-10-24');
CREATE TEMP TABLE incremental AS
SELECT f.student, unnest(engage.daily_profile(f.kind, f.ts, f.module_code, f.day, f.until, f.x, f.y, f.z,
                                              '2026-10-25', '2026-10-31')) AS p
FROM (SELECT student, kind, ts, module_code, day, until, x, y, z FROM feed
      WHERE kind IN ('m', 'w') OR engage.local_day(ts) >= '2026-10-25' OR day >= '2026-10-25'
      UNION ALL
      SELECT student, 's', NULL, module_code, day, NULL, ele_minutes, app_choices, career_events
      FROM stored WHERE day >= '2026-10-19') AS f
GROUP BY f.student;
SELECT set_eq($$SELECT student, (p).* FROM incremental$$,
              $$SELECT * FROM whole WHERE day >= '2026-10-25'$$,
              'stored days in place of raw ones give the same rows, to the bit');

-- errors
SELECT throws_ok($$SELECT engage.daily_profile('x', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '2026-01-01', '2026-01-02')$$,
                 '22023', NULL, 'an unknown kind is refused');
SELECT throws_ok($$SELECT engage.daily_profile(k, NULL, NULL, '2026-01-01', '2026-01-31', 1, 1, 1, '2026-01-01', '2026-01-02')
                   FROM (VALUES ('w'::"char"), ('w')) AS v(k)$$,
                 '22023', 'two spans of consent of engage.daily_profile cover 2026-01-01', 'overlapping spans of consent are refused');
SELECT throws_ok($$SELECT engage.daily_profile('s', NULL, NULL, '2026-01-01', NULL, -1, 0, 0, '2026-01-01', '2026-01-02')$$,
                 '22003', NULL, 'a stored day with negative minutes is refused');
SELECT throws_ok($$SELECT engage.daily_profile('m', NULL, NULL, '2026-01-01', '2026-01-31', NULL, NULL, NULL, '2026-01-01', '2026-01-02')$$,
                 '22004', NULL, 'an enrolment without a module is refused');
SELECT throws_ok($$SELECT engage.daily_profile(k, NULL, NULL, '2026-01-01', '2026-01-31', x, 0, 0, '2026-01-01', '2026-01-02')
                   FROM (VALUES ('w'::"char", 1e308::float8), ('s', 1e308)) AS v(k, x)$$,
                 '22003', 'engagement score out of range on 2026-01-01', 'a score that would be infinite is refused, naming the day');

SELECT * FROM finish();
ROLLBACK;
