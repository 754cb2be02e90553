-- engage.refresh on a small hand-made college: every row checked by hand.
SET DateStyle = 'ISO, YMD';
SET TimeZone = 'UTC';
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year VALUES ('2025/26', '2025-08-01', '2026-07-31');
INSERT INTO engage.coefficients VALUES ('CLES', '2025/26', 0.446, 0.068, 1.11);
INSERT INTO engage.module VALUES
  ('BIO1001', 'Cell Biology', 'CLES'), ('CHE1002', 'Chemistry for Biologists', 'CLES'),
  ('GEO1003', 'Physical Geography', 'CLES');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study) VALUES
  ('690000001', 'Ada Jones', 'CLES', 'BSc Biological Sciences', 1),
  ('690000002', 'Ben Smith', 'CLES', 'BSc Biological Sciences', 1),
  ('690000003', 'Cara Patel', 'CLES', 'BSc Biological Sciences', 1),
  ('690000004', 'Dev Okafor', 'CLES', 'BSc Biological Sciences', 1);
INSERT INTO engage.enrolment VALUES
  ('690000001', 'BIO1001', '2025/26'), ('690000001', 'CHE1002', '2025/26'),
  ('690000002', 'BIO1001', '2025/26'), ('690000004', 'BIO1001', '2025/26');
-- Ada and Dev consent; Ben refuses; Cara never decides.
INSERT INTO engage.consent (student_id, academic_year, granted, recorded_at, recorded_by) VALUES
  ('690000001', '2025/26', true,  '2025-09-20 10:00', 'student'),
  ('690000002', '2025/26', false, '2025-09-20 10:00', 'student'),
  ('690000004', '2025/26', true,  '2025-09-20 10:00', 'student');

-- Ada: 10 minutes on BIO1001 and 3 on CHE1002 on Monday 2 February (the
-- last CHE1002 view earns the 2-minute credit), a page of no module on
-- Tuesday, a view on GEO1003 (not enrolled) on Wednesday.
INSERT INTO engage.ele_event VALUES
  ('690000001', '2026-02-02 09:00', 'BIO1001'), ('690000001', '2026-02-02 09:04', 'BIO1001'),
  ('690000001', '2026-02-02 09:08', 'BIO1001'), ('690000001', '2026-02-02 09:10', 'CHE1002'),
  ('690000001', '2026-02-02 09:11', 'CHE1002'),
  ('690000001', '2026-02-03 12:00', NULL),
  ('690000001', '2026-02-04 12:00', 'GEO1003'),
  ('690000002', '2026-02-02 09:00', 'BIO1001'),
  ('690000004', '2026-02-02 09:00', 'BIO1001');
INSERT INTO engage.app_event VALUES
  ('690000001', '2026-02-02 08:00', 'timetable'), ('690000001', '2026-02-02 23:30', 'grades'),
  ('690000001', '2026-02-03 07:00', 'library'),
  ('690000002', '2026-02-02 08:00', 'timetable');
INSERT INTO engage.career_event VALUES
  ('690000001', 'CV-101', '2026-02-03', true),
  ('690000001', 'CV-102', '2026-02-04', false);

CALL engage.refresh('2026-02-02', '2026-02-04');

-- Ben (refused) and Cara (no decision) get no rows; Dev and Ada get one
-- overall row and one row per enrolled module for each day.
SELECT student_id, module_code, day, ele_minutes, app_choices, career_events, round(score::numeric, 6) AS score
FROM engage.daily_engagement ORDER BY student_id, module_code NULLS FIRST, day;

-- Ada's overall score on 4 February, by hand:
-- 0.446 * (13 + 0 + 2) / 7 + 0.068 * 3 / 7 + 1.11 * 1 / 7
SELECT round((0.446 * 15 / 7 + 0.068 * 3 / 7 + 1.11 / 7)::numeric, 6) AS by_hand;

SELECT from_day, to_day, days, students, rows_written, rows_purged, finished_at >= started_at AS ordered
FROM engage.refresh_run ORDER BY run_id;

-- Running it again changes nothing.
CREATE TEMP TABLE first_run AS SELECT * FROM engage.daily_engagement;
CALL engage.refresh('2026-02-02', '2026-02-04');
SELECT count(*) AS differing FROM (
    (SELECT * FROM engage.daily_engagement EXCEPT ALL SELECT * FROM first_run)
    UNION ALL
    (SELECT * FROM first_run EXCEPT ALL SELECT * FROM engage.daily_engagement)) AS d;

-- Dev withdraws consent: the next refresh of any day removes all his rows
-- of the year, not only those of the days it computes.
INSERT INTO engage.consent (student_id, academic_year, granted, recorded_at, recorded_by)
VALUES ('690000004', '2025/26', false, '2026-02-10 10:00', 'student');
CALL engage.refresh('2026-02-05', '2026-02-05');
SELECT student_id, count(*) FROM engage.daily_engagement GROUP BY 1 ORDER BY 1;
SELECT from_day, to_day, days, students, rows_written, rows_purged
FROM engage.refresh_run ORDER BY run_id DESC LIMIT 1;

-- Consent given again brings the rows back on the next refresh.
INSERT INTO engage.consent (student_id, academic_year, granted, recorded_at, recorded_by)
VALUES ('690000004', '2025/26', true, '2026-02-11 10:00', 'student');
CALL engage.refresh('2026-02-02', '2026-02-05');
SELECT student_id, count(*) FROM engage.daily_engagement GROUP BY 1 ORDER BY 1;

-- A missing coefficient row or academic year stops the run before it writes.
\set VERBOSITY terse
DELETE FROM engage.coefficients;
CALL engage.refresh('2026-02-02', '2026-02-02');
CALL engage.refresh('2026-08-01', '2026-08-01');
CALL engage.refresh('2026-02-03', '2026-02-02');
\set VERBOSITY default
SELECT count(*) AS rows_kept FROM engage.daily_engagement;
