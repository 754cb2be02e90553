-- engage.fit_coefficients and engage.apply_fit: the training set against a
-- plain-SQL statement of it, who may fit and apply, the minimum number of
-- students, the audit trail and the days an applied fit marks for the
-- nightly run.
BEGIN;
SELECT plan(28);
SET LOCAL client_min_messages = warning;

CREATE ROLE ow_analyst LOGIN IN ROLE engage_analyst;
CREATE ROLE ow_admin LOGIN IN ROLE engage_admin;
CREATE ROLE ow_tutor LOGIN IN ROLE engage_tutor;
CREATE ROLE ow_loader LOGIN IN ROLE engage_loader;
CREATE ROLE ow_app LOGIN IN ROLE engage_app;

-- last academic year, complete: 365 days
CREATE TEMP TABLE yr AS
SELECT format('%s/%s', y, lpad(((y + 1) % 100)::text, 2, '0')) AS label, make_date(y, 8, 1) AS starts,
       make_date(y + 1, 7, 31) AS ends
FROM (SELECT extract(year FROM engage.today() - 212)::int - 1 AS y) AS t;
SELECT label AS ay FROM yr \gset
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences'), ('HUMS', 'Humanities');
INSERT INTO engage.academic_year SELECT label, starts, ends FROM yr;
INSERT INTO engage.coefficients VALUES ('CLES', :'ay', 0.446, 0.068, 1.11);
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES'), ('BIO1002', 'Genetics', 'CLES'),
                                 ('GEO1001', 'Physical Geography', 'CLES'), ('HIS1001', 'Medieval Europe', 'HUMS');

-- the students: who is in the training set and what it holds for each
CREATE TEMP TABLE gen (student_id text, college text, programme text, yos int, consent boolean, fitted boolean,
                       app int, careers int);
INSERT INTO gen
SELECT id, college, programme, yos, consent, fitted, (hashint4(i * 3) & 255), (hashint4(i * 5) & 7)
FROM (SELECT i, 'S' || lpad(i::text, 3, '0') AS id,
             CASE WHEN i BETWEEN 96 AND 100 THEN 'HUMS' ELSE 'CLES' END AS college,
             CASE WHEN i BETWEEN 81 AND 90 THEN 'BSc Geography' WHEN i BETWEEN 96 AND 100 THEN 'BA History'
                  ELSE 'BSc Biology' END AS programme,
             CASE WHEN i BETWEEN 91 AND 95 THEN 2 ELSE 1 END AS yos,
             i NOT BETWEEN 101 AND 105 AS consent,
             i <= 90 AS fitted
      FROM generate_series(1, 105) AS i) AS s;
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
SELECT student_id, 'Student ' || student_id, college, programme, yos FROM gen;
INSERT INTO engage.consent (student_id, academic_year, granted) SELECT student_id, :'ay', consent FROM gen;
CREATE TEMP TABLE gen_module AS
SELECT g.student_id, m.module_code, 1 + (hashint4(hashtext(g.student_id || m.module_code)) & 63) AS views
FROM gen AS g
JOIN (VALUES ('BSc Biology', 'BIO1001'), ('BSc Biology', 'BIO1002'), ('BSc Geography', 'GEO1001'),
             ('BA History', 'HIS1001')) AS m(programme, module_code) ON m.programme = g.programme;
INSERT INTO engage.enrolment SELECT student_id, module_code, :'ay' FROM gen_module;
-- a burst of views a minute apart in the year, each module's hours apart: the
-- ELE rule credits views + 1 minutes
INSERT INTO engage.ele_event
SELECT gm.student_id, engage.local_midnight(yr.starts + 40) + interval '8 hours'
                     + CASE gm.module_code WHEN 'BIO1002' THEN interval '4 hours' ELSE interval '0' END
                     + j * interval '1 minute', gm.module_code
FROM gen_module AS gm, yr, generate_series(0, gm.views - 1) AS j;
-- and views outside the year, which do not count
INSERT INTO engage.ele_event
SELECT gm.student_id, engage.local_midnight(yr.starts - 3) + interval '10 hours', gm.module_code FROM gen_module AS gm, yr;
INSERT INTO engage.app_event
SELECT g.student_id, engage.local_midnight(yr.starts + 10 + j % 200) + interval '12 hours', 'timetable'
FROM gen AS g, yr, generate_series(1, g.app) AS j;
INSERT INTO engage.career_event
SELECT g.student_id, 'E' || j, yr.starts + 20 + j, j <= g.careers FROM gen AS g, yr, generate_series(1, 9) AS j;
-- the mark rises with engagement, with noise: two assessments a module
CREATE TEMP TABLE gen_mark AS
SELECT gm.student_id, gm.module_code, a.assessment,
       least(100, greatest(0, round(35 + 0.3 * gm.views + 0.04 * g.app + 2 * g.careers
                                    + ((hashint4(hashtext(gm.student_id || gm.module_code || a.assessment)) & 1023) / 1023.0 - 0.5) * 40)))::numeric(5, 2) AS mark
FROM gen_module AS gm JOIN gen AS g USING (student_id), (VALUES ('Essay'), ('Test')) AS a(assessment);
INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark, recorded_at)
SELECT student_id, module_code, assessment, 'coursework', mark, engage.local_midnight(yr.starts + 100) + interval '9 hours'
FROM gen_mark, yr;
DELETE FROM engage.refresh_stale;

SET SESSION AUTHORIZATION ow_analyst;
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L)', 'CLES', :'ay'), '55000',
                 'engage.mark_band needs at least two bands', 'a fit needs the mark bands');
SELECT throws_ok($$INSERT INTO engage.mark_band VALUES (1, 'fail', 0)$$, '42501', NULL,
                 'an analyst does not define the bands');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ow_admin;
INSERT INTO engage.mark_band VALUES (1, 'fail', 0), (2, 'third', 40), (3, '2:2', 50), (4, '2:1', 60), (5, 'first', 70);
RESET SESSION AUTHORIZATION;

-- the training set, stated in plain SQL from what was generated
CREATE TEMP TABLE expected AS
SELECT engage.ordinal_fit((SELECT max(b.band) FROM engage.mark_band AS b WHERE b.min_mark <= t.mark),
                          ARRAY[(t.views + 1)::float8 / 365, t.app::float8 / 365, (t.careers * 7)::float8 / 365]) AS m,
       count(DISTINCT t.student_id) AS students
FROM (SELECT gm.student_id, gm.views, g.app, g.careers, avg(mk.mark) AS mark
      FROM gen_module AS gm JOIN gen AS g USING (student_id)
      JOIN gen_mark AS mk USING (student_id, module_code)
      WHERE g.fitted
      GROUP BY gm.student_id, gm.module_code, gm.views, g.app, g.careers) AS t;

SET SESSION AUTHORIZATION ow_analyst;
CREATE TEMP TABLE fit1 AS SELECT * FROM engage.fit_coefficients('CLES', :'ay');
GRANT SELECT ON fit1 TO PUBLIC;
RESET SESSION AUTHORIZATION;
SELECT is((SELECT (students, programmes, from_day, to_day, fitted_by) FROM fit1),
          (SELECT (90, ARRAY['BSc Biology', 'BSc Geography'], starts, ends, 'ow_analyst'::text) FROM yr),
          'an analyst fits the first-year programmes of the college with consent, over the year');
SELECT is((SELECT model::text FROM fit1), (SELECT m::text FROM expected),
          'the fit is that of the training set stated in plain SQL, to the bit');
SELECT is((SELECT (model).converged FROM fit1), true, 'the fit converges');
SELECT ok((SELECT (model).coefficients[1] > 0 AND (model).coefficient_p[1] < 0.001 FROM fit1),
          'ELE minutes raise the band');
SELECT is((SELECT (ele, app, events) FROM fit1),
          (SELECT ((model).coefficients[1], (model).coefficients[2], 7 * (model).coefficients[3]) FROM fit1),
          'the weights are the coefficients in the score''s units (events a day, not a week)');
SELECT is((SELECT (bands, band_min_marks) FROM fit1),
          (ARRAY['fail', 'third', '2:2', '2:1', 'first'], ARRAY[0, 40, 50, 60, 70]::numeric[]),
          'the bands the fit used are recorded');
SELECT is((SELECT count(*) FROM engage.model_fit), 1::bigint, 'the fit is stored');

SET SESSION AUTHORIZATION ow_admin;
SELECT is((SELECT (students, programmes) FROM engage.fit_coefficients('CLES', :'ay', ARRAY['BSc Biology', 'BSc Biology'])),
          (80, ARRAY['BSc Biology']), 'an administrator fits chosen programmes');
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L, %L)', 'CLES', :'ay', '{BSc Geography}'), '22023',
                 'a fit needs at least 50 students', 'a fit on fewer than 50 students is refused');
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L)', 'HUMS', :'ay'), '22023',
                 'a fit needs at least 50 students', 'a college with too few students is refused');
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L, %L)', 'CLES', :'ay', '{}'), '22023', NULL,
                 'an empty list of programmes is refused');
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L)', 'NOPE', :'ay'), '22023', 'no college NOPE',
                 'an unknown college is refused');
SELECT throws_ok($$SELECT engage.fit_coefficients('CLES', '1999/00')$$, '22023', 'no academic year 1999/00',
                 'an unknown year is refused');
RESET SESSION AUTHORIZATION;

SELECT is((SELECT engage.fit_min_students()), 50, 'the documented minimum is 50 students');

-- who may fit and apply
SET SESSION AUTHORIZATION ow_tutor;
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L)', 'CLES', :'ay'), '42501', NULL,
                 'a tutor may not fit');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ow_loader;
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L)', 'CLES', :'ay'), '42501', NULL,
                 'a loader may not fit');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ow_app;
SELECT throws_ok(format('SELECT engage.fit_coefficients(%L, %L)', 'CLES', :'ay'), '42501', NULL,
                 'the web front end may not fit');
RESET SESSION AUTHORIZATION;
SET SESSION AUTHORIZATION ow_analyst;
SELECT throws_ok(format('SELECT engage.apply_fit(%s)', (SELECT fit_id FROM fit1)), '42501', NULL,
                 'an analyst may not apply a fit');
SELECT throws_ok('SELECT count(*) FROM engage.ele_event', '42501', NULL,
                 'the analyst who fitted still reads no page view');
RESET SESSION AUTHORIZATION;

SET SESSION AUTHORIZATION ow_admin;
SELECT is((SELECT (c.ele, c.app, c.events) FROM engage.apply_fit((SELECT fit_id FROM fit1)) AS c),
          (SELECT (ele, app, events) FROM fit1), 'an administrator applies a fit: its weights are in force');
RESET SESSION AUTHORIZATION;
SELECT is((SELECT (ele, app, events) FROM engage.coefficients WHERE college = 'CLES' AND academic_year = :'ay'),
          (SELECT (ele, app, events) FROM fit1), 'engage.coefficients holds the fit''s weights');
SELECT is((SELECT (applied_by, applied_at IS NOT NULL, replaced) FROM engage.model_fit WHERE fit_id = (SELECT fit_id FROM fit1)),
          ('ow_admin'::text, true, ARRAY[0.446, 0.068, 1.11]::float8[]),
          'the fit records who applied it, when, and the weights it replaced');
SELECT set_eq($$SELECT student_id, from_day FROM engage.refresh_stale$$,
              $$SELECT student_id, (SELECT starts FROM yr) FROM gen WHERE college = 'CLES'$$,
              'the days of every student of the college in that year are marked for the nightly run');

SET SESSION AUTHORIZATION ow_admin;
SELECT throws_ok(format('SELECT engage.apply_fit(%s)', (SELECT fit_id FROM fit1)), '55000', NULL,
                 'a fit is applied once');
SELECT throws_ok('SELECT engage.apply_fit(-1)', 'P0002', 'no fit -1', 'an unknown fit is refused');
RESET SESSION AUTHORIZATION;
INSERT INTO engage.model_fit (college, academic_year, programmes, from_day, to_day, bands, band_min_marks, students, model)
SELECT 'CLES', :'ay', '{x}', starts, ends, '{a,b}', '{0,50}', 60,
       (SELECT engage.ordinal_fit(y, ARRAY[x]) FROM (VALUES (1, -2.0), (1, -1), (2, 1), (2, 2)) AS v(y, x))
FROM yr;
SET SESSION AUTHORIZATION ow_admin;
SELECT throws_ok(format('SELECT engage.apply_fit(%s)', (SELECT max(fit_id) FROM engage.model_fit)), '55000',
                 format('fit %s did not converge and has no weights', (SELECT max(fit_id) FROM engage.model_fit)),
                 'a fit that did not converge cannot be applied');
RESET SESSION AUTHORIZATION;

SELECT * FROM finish();
ROLLBACK;
