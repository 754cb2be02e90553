-- engage.ele_minutes: every edge of the ELE-minutes rule.
-- The default settings: idle gap 5 minutes, credit 2 minutes, Europe/London.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';
CREATE TEMP TABLE v (g int NOT NULL DEFAULT 1, ts timestamptz, m text);
\set show 'SELECT x.g, c.* FROM (SELECT g, engage.ele_minutes(ts, m) AS cr FROM v GROUP BY g) AS x, unnest(x.cr) AS c ORDER BY x.g'

-- A single view is credited the 2-minute credit.
INSERT INTO v (ts, m) VALUES ('2026-02-02 10:00', 'BIO1001');
:show;

-- A gap just under 5 minutes is credited; exactly 5 minutes is idle; over is idle.
TRUNCATE v;
INSERT INTO v (g, ts, m) VALUES
  (1, '2026-02-02 10:00:00', 'BIO1001'), (1, '2026-02-02 10:04:59.999999', 'BIO1001'),
  (2, '2026-02-02 10:00:00', 'BIO1001'), (2, '2026-02-02 10:05:00', 'BIO1001'),
  (3, '2026-02-02 10:00:00', 'BIO1001'), (3, '2026-02-02 10:05:00.000001', 'BIO1001');
:show;

-- The credit goes to the module of the view being credited, even when the
-- next view is on another module.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES
  ('2026-02-02 10:00', 'BIO1001'), ('2026-02-02 10:03', 'CHE1002'),
  ('2026-02-02 10:04', 'BIO1001'), ('2026-02-02 10:30', 'CHE1002');
:show;

-- A view of no module ends the previous view's credit and credits nothing.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES
  ('2026-02-02 10:00', 'BIO1001'), ('2026-02-02 10:01', NULL),
  ('2026-02-02 10:04', NULL), ('2026-02-02 10:05', 'BIO1001');
:show;

-- Only views of no module: no credit at all, an empty result.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES ('2026-02-02 10:00', NULL), ('2026-02-02 10:01', NULL);
SELECT engage.ele_minutes(ts, m) FROM v;

-- Ties: views at one instant are ordered by module code, no module last;
-- the first of the tie is credited zero minutes.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES
  ('2026-02-02 10:00', 'CHE1002'), ('2026-02-02 10:00', 'BIO1001'),
  ('2026-02-02 10:00', NULL), ('2026-02-02 10:03', 'CHE1002');
:show;

-- A duplicated view (same instant, same module) adds nothing.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES ('2026-02-02 10:00', 'BIO1001'), ('2026-02-02 10:00', 'BIO1001');
:show;

-- Input order does not matter: shuffled and sorted input agree.
TRUNCATE v;
INSERT INTO v (ts, m)
SELECT '2026-02-02 09:00'::timestamptz + i * interval '97 seconds',
       (ARRAY['BIO1001', 'CHE1002', NULL, 'PHY1003'])[1 + i % 4]
FROM generate_series(1, 200) AS i;
SELECT (SELECT engage.ele_minutes(ts, m) FROM (SELECT * FROM v ORDER BY ts) s)
     = (SELECT engage.ele_minutes(ts, m) FROM (SELECT * FROM v ORDER BY md5(ts::text)) s)
     AS order_independent;

-- A view at 23:58 followed by one at 00:02: the 4 minutes belong to the day
-- of the 23:58 view (February: Europe/London is UTC).
TRUNCATE v;
INSERT INTO v (ts, m) VALUES ('2026-02-02 23:58', 'BIO1001'), ('2026-02-03 00:02', 'BIO1001');
:show;

-- Days are Europe/London days whatever the session's TimeZone.
SET TimeZone = 'America/New_York';
:show;
SET TimeZone = 'UTC';

-- Spring forward, Sunday 29 March 2026: 01:00 GMT becomes 02:00 BST.
-- 00:58 GMT and 02:01 BST are 3 minutes apart and on the same day; a 23-hour
-- day still ends at local midnight (23:00 UTC).
TRUNCATE v;
INSERT INTO v (ts, m) VALUES
  ('2026-03-29 00:58+00', 'BIO1001'), ('2026-03-29 01:01+00', 'BIO1001'),
  ('2026-03-29 22:59+00', 'CHE1002'), ('2026-03-29 23:01+00', 'CHE1002');
:show;

-- Fall back, Sunday 25 October 2026: 02:00 BST becomes 01:00 GMT.  The local
-- day starts at 23:00 UTC the evening before and lasts 25 hours.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES
  ('2026-10-24 22:58+00', 'BIO1001'), ('2026-10-24 23:01+00', 'BIO1001'),
  ('2026-10-25 00:30+00', 'CHE1002'), ('2026-10-25 01:30+00', 'CHE1002'),
  ('2026-10-25 23:58+00', 'PHY1003'), ('2026-10-26 00:01+00', 'PHY1003');
:show;

-- NULL timestamps are ignored; a group of only NULL timestamps gives NULL.
TRUNCATE v;
INSERT INTO v (g, ts, m) VALUES
  (1, NULL, 'BIO1001'), (1, '2026-02-02 10:00', 'BIO1001'), (1, NULL, 'BIO1001'),
  (2, NULL, 'BIO1001');
SELECT g, engage.ele_minutes(ts, m) FROM v GROUP BY g ORDER BY g;
SELECT engage.ele_minutes(ts, m) FROM v WHERE false;

-- Module codes sort bytewise, so the order does not follow the collation.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES
  ('2026-02-02 10:00', 'bio'), ('2026-02-02 11:00', 'BIO'), ('2026-02-02 12:00', 'BIO1');
:show;

-- The settings change the rule: a 10-minute idle gap, a 1-minute credit.
TRUNCATE v;
INSERT INTO v (ts, m) VALUES ('2026-02-02 10:00', 'BIO1001'), ('2026-02-02 10:07', 'BIO1001');
SET engage.idle_gap = '10min';
SET engage.credit = '1min';
:show;
RESET engage.idle_gap;
RESET engage.credit;
:show;

-- The explicit form takes idle gap, credit and time zone per call.
SELECT c.* FROM unnest((SELECT engage.ele_minutes(ts, m, '10 minutes', '30 seconds', 'Asia/Tokyo') FROM v)) AS c;
TRUNCATE v;
INSERT INTO v (ts, m) VALUES ('2026-07-01 23:30+00', 'BIO1001');
SELECT c.* FROM unnest((SELECT engage.ele_minutes(ts, m, '5 minutes', '2 minutes', 'UTC') FROM v)) AS c;
SELECT c.* FROM unnest((SELECT engage.ele_minutes(ts, m, '5 minutes', '2 minutes', 'Europe/London') FROM v)) AS c;
SET engage.time_zone = 'UTC';
:show;
RESET engage.time_zone;

-- A credit of zero is allowed: views after an idle gap count for nothing.
SELECT c.* FROM unnest((SELECT engage.ele_minutes(ts, m, '5 minutes', '0', 'UTC') FROM v)) AS c;

-- Reading the warehouse table, one row per student, module and day.
BEGIN;
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES'), ('CHE1002', 'Chemistry', 'CLES');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study) VALUES
  ('690000001', 'Ada Jones', 'CLES', 'BSc Biological Sciences', 1),
  ('690000002', 'Ben Smith', 'CLES', 'BSc Biological Sciences', 1);
INSERT INTO engage.ele_event VALUES
  ('690000001', '2026-02-02 10:00', 'BIO1001'), ('690000001', '2026-02-02 10:02', 'CHE1002'),
  ('690000002', '2026-02-02 11:00', 'BIO1001'), ('690000002', '2026-02-03 11:00', NULL);
SELECT e.student_id, c.module_code, c.day, c.minutes
FROM (SELECT student_id, engage.ele_minutes(ts, module_code) AS credits
      FROM engage.ele_event GROUP BY student_id) AS e,
     unnest(e.credits) AS c
ORDER BY 1, 2, 3;

-- As a window aggregate, the final function runs again after more rows
-- arrive: the running total of a student's minutes.
SELECT w.ts, (SELECT sum(c.minutes) FROM unnest(w.credits) AS c) AS running_minutes
FROM (SELECT ts, engage.ele_minutes(ts, module_code)
                 OVER (PARTITION BY student_id ORDER BY ts DESC) AS credits
      FROM engage.ele_event WHERE student_id = '690000001') AS w
ORDER BY w.ts;
ROLLBACK;
