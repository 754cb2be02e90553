-- test/datagen.sql: a deterministic synthetic university for engage.
--
-- Loads every canonical table of schema engage (which must be empty) with a
-- plausible university: colleges, programmes and modules, students and their
-- personal tutors, consent, enrolments, VLE page views, app choices, careers
-- events, attendance, marks, exam periods, careers registrations and meeting
-- notes.  Used by `make demo` and by the benchmarks.
--
--   psql -X -v ON_ERROR_STOP=1 [-v students=25000] [-v days=30] \
--        [-v views_per_day=13] [-v end_day=2026-11-27] -d DB -f test/datagen.sql
--
-- Parameters (psql variables):
--   students       number of students (default 2000)
--   end_day        last day with activity (default yesterday in Europe/London)
--   days           days of activity ending on end_day (default 70)
--   views_per_day  mean VLE page views per student per calendar day in term
--                  time (default 12), so that views come to about
--                  students * days * views_per_day (fewer in vacations: the
--                  academic calendar is modelled).  Students are active on
--                  about 55-60% of term days, so an active day averages about
--                  1.7 * views_per_day views, scaled by the student's
--                  engagement propensity.
--
-- Determinism: every random choice is a hash of the row's keys (student,
-- day, session, view...), never random(), so the same parameters give the
-- same rows whatever the plan, the session's TimeZone or DateStyle.  Event
-- rows are inserted day by day and by student within a day, as nightly loads
-- would be.  Everything runs in one transaction: on error nothing is left
-- behind.  The script prints its parameters and a summary of row counts.

\set ON_ERROR_STOP 1
\set datagen_quiet :QUIET
\set QUIET 1

\if :{?students}
\else
\set students 2000
\endif
\if :{?days}
\else
\set days 70
\endif
\if :{?views_per_day}
\else
\set views_per_day 12
\endif
\if :{?end_day}
\else
SELECT to_char((now() AT TIME ZONE 'Europe/London')::date - 1, 'YYYY-MM-DD') AS end_day \gset
\endif

BEGIN;
SET LOCAL client_min_messages = warning;
SET LOCAL work_mem = '256MB';
SET LOCAL synchronous_commit = off;
-- the plans are cheap and the cost estimates of generate_series huge
SET LOCAL jit = off;

-- Helpers (temporary: they vanish with the session) ---------------------------

CREATE FUNCTION pg_temp.check(ok boolean, msg text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'datagen: %', msg USING ERRCODE = '22023';
    END IF;
    RETURN true;
END
$$;

CREATE FUNCTION pg_temp.is_date(t text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RETURN t ~ '^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$' AND t::date BETWEEN '1901-01-01' AND '2999-12-31';
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
    RETURN false;
END
$$;

-- A uniform number in [0, 1) from two keys and a salt (one salt per purpose).
CREATE FUNCTION pg_temp.u(a bigint, b bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (hashint8extended(b, hashint8extended(a, salt)) & 9007199254740991)::float8
       / 9007199254740992.0;

-- A standard normal number (Box-Muller) from two keys and a salt.
CREATE FUNCTION pg_temp.z(a bigint, b bigint, salt bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN sqrt(-2.0 * ln(1.0 - pg_temp.u(a, b, salt)))
       * cos(2.0 * pi() * pg_temp.u(a, b, salt + 1000));

-- Cumulative distribution of weights: {0, w1/W, (w1+w2)/W, ..., 1}.
CREATE FUNCTION pg_temp.cdf(w float8[]) RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(CASE WHEN i = n THEN 1.0 ELSE c END ORDER BY i)
    FROM (SELECT 0 AS i, 0.0::float8 AS c, cardinality(w) AS n
          UNION ALL
          SELECT i, sum(x) OVER (ORDER BY i) / sum(x) OVER (), cardinality(w)
          FROM unnest(w) WITH ORDINALITY AS t(x, i)) AS q
$$;

-- The item of a weighted list that a uniform number u falls on.
CREATE FUNCTION pg_temp.wpick(u float8, items text[], weights float8[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN items[width_bucket(u, pg_temp.cdf(weights))];

-- An item of a list, uniformly.
CREATE FUNCTION pg_temp.pick(u float8, items text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN items[1 + floor(u * cardinality(items))::integer];

-- Academic year (its first calendar year) containing a day: 1 August to 31 July.
CREATE FUNCTION pg_temp.ay0(d date) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN extract(year FROM d - interval '7 months')::integer;

CREATE FUNCTION pg_temp.ay_label(y integer) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN y::text || '/' || lpad(((y + 1) % 100)::text, 2, '0');

-- Local time of day of a study session, in seconds after midnight, by inverse
-- CDF of an hourly profile from 07:00 to 02:00 the next morning: peaks late
-- morning, mid afternoon and evening.  Monotone in u, so stratified u values
-- give a day's sessions in order.
SELECT pg_temp.cdf('{1, 3, 6, 8, 8, 6, 6, 8, 8, 7, 5, 4, 6, 7, 7, 5, 3, 1.5, 0.6}') AS tod_cdf \gset
CREATE FUNCTION pg_temp.tod_at(u float8, c float8[], b integer) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN 3600.0 * (6 + b + (u - c[b]) / (c[b + 1] - c[b]));
CREATE FUNCTION pg_temp.tod(u float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_temp.tod_at(u, :'tod_cdf'::float8[], width_bucket(u, :'tod_cdf'::float8[]));

-- Seconds between two page views of a session: mostly 10 s to 4 min
-- (log-uniform), a few quick clicks (0-9 s, sometimes a tie), some pauses
-- of 4-15 min and a few breaks of 15-60 min.
CREATE FUNCTION pg_temp.gap(r float8) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (CASE WHEN r < 0.03 THEN floor(r / 0.03 * 10)
             WHEN r < 0.90 THEN round(10.0 * exp((r - 0.03) / 0.87 * ln(24.0)))
             WHEN r < 0.97 THEN 240 + floor((r - 0.90) / 0.07 * 660)
             ELSE 900 + floor((r - 0.97) / 0.03 * 2700) END)::integer;

-- Parameters ------------------------------------------------------------------

SELECT pg_temp.check(:'students' ~ '^\s*[0-9]{1,8}\s*$' AND :'students' !~ '^\s*0+\s*$',
                     'students must be a whole number from 1 to 99999999') AS ok,
       pg_temp.check(:'days' ~ '^\s*[0-9]{1,4}\s*$' AND :'days' !~ '^\s*0+\s*$',
                     'days must be a whole number from 1 to 9999') AS ok,
       pg_temp.check(:'views_per_day' ~ '^\s*([0-9]{1,4}(\.[0-9]*)?|\.[0-9]+)\s*$',
                     'views_per_day must be a number from 0 to 9999') AS ok,
       pg_temp.check(pg_temp.is_date(:'end_day'),
                     'end_day must be a date such as 2026-11-27') AS ok,
       pg_temp.check(NOT EXISTS (SELECT FROM engage.student) AND NOT EXISTS (SELECT FROM engage.college)
                     AND NOT EXISTS (SELECT FROM engage.academic_year) AND NOT EXISTS (SELECT FROM engage.staff)
                     AND NOT EXISTS (SELECT FROM engage.module) AND NOT EXISTS (SELECT FROM engage.exam_period)
                     AND NOT EXISTS (SELECT FROM engage.ele_event),
                     'the engage tables are not empty: run datagen right after CREATE EXTENSION engage') AS ok
\gset

SELECT to_char(:'end_day'::date, 'YYYY-MM-DD') AS end_day,
       to_char(:'end_day'::date - (:'days'::integer - 1), 'YYYY-MM-DD') AS start_day,
       pg_temp.ay_label(pg_temp.ay0(:'end_day'::date)) AS ay,
       to_char(make_date(pg_temp.ay0(:'end_day'::date), 8, 1), 'YYYY-MM-DD') AS ay_starts,
       ceil(:'students'::integer / 15.0)::integer AS tutors,
       -- days of VLE views loaded per INSERT: about ten million views
       greatest(1, least(:'days'::integer,
                         floor(1e7 / (:'students'::integer * greatest(1, :'views_per_day'::numeric)))))::integer
           AS chunk_days
\gset

\echo datagen: students=:students days=:days views_per_day=:views_per_day start_day=:start_day end_day=:end_day academic_year=:ay

-- Reference data ----------------------------------------------------------------

INSERT INTO engage.college (code, name) VALUES
    ('CLES',  'Life and Environmental Sciences'),
    ('CEMPS', 'Engineering, Mathematics and Physical Sciences'),
    ('HUMS',  'Humanities'),
    ('UEBS',  'Business School'),
    ('SSIS',  'Social Sciences and International Studies'),
    ('CMH',   'Medicine and Health');

INSERT INTO engage.academic_year (label, starts, ends)
SELECT pg_temp.ay_label(y), make_date(y, 8, 1), make_date(y + 1, 7, 31)
FROM generate_series(least(2019, pg_temp.ay0(:'start_day'::date)),
                     greatest(2029, pg_temp.ay0(:'end_day'::date))) AS y;

-- Weights re-derived every year: a college's own level (within about 15% of
-- the published CLES weights) with a few per cent of drift from year to year.
INSERT INTO engage.coefficients (college, academic_year, ele, app, events)
SELECT c.code, y.label,
       CASE WHEN (c.code, y.label) = ('CLES', '2019/20') THEN 0.446
            ELSE round((0.446 * (1 + 0.30 * (pg_temp.u(hashtext(c.code), 0, 1) - 0.5))
                              * (1 + 0.10 * (pg_temp.u(hashtext(c.code), hashtext(y.label), 2) - 0.5)))::numeric, 3) END,
       CASE WHEN (c.code, y.label) = ('CLES', '2019/20') THEN 0.068
            ELSE round((0.068 * (1 + 0.30 * (pg_temp.u(hashtext(c.code), 0, 3) - 0.5))
                              * (1 + 0.10 * (pg_temp.u(hashtext(c.code), hashtext(y.label), 4) - 0.5)))::numeric, 3) END,
       CASE WHEN (c.code, y.label) = ('CLES', '2019/20') THEN 1.11
            ELSE round((1.11 * (1 + 0.30 * (pg_temp.u(hashtext(c.code), 0, 5) - 0.5))
                             * (1 + 0.10 * (pg_temp.u(hashtext(c.code), hashtext(y.label), 6) - 0.5)))::numeric, 2) END
FROM engage.college AS c CROSS JOIN engage.academic_year AS y;

-- January exams: the two weeks from the Monday on or after 8 January; summer
-- exams: four weeks from the Monday on or after 8 May.
INSERT INTO engage.exam_period (label, starts, ends)
SELECT format('%s %s exams', p.season, p.yr), p.monday, p.monday + p.len
FROM engage.academic_year AS y
CROSS JOIN LATERAL (VALUES ('January', 1, 11), ('Summer', 5, 25)) AS s(season, month, len)
CROSS JOIN LATERAL (SELECT extract(year FROM y.ends)::integer AS yr) AS e
CROSS JOIN LATERAL (SELECT s.season, e.yr, s.len,
                           make_date(e.yr, s.month, 8)
                           + (8 - extract(isodow FROM make_date(e.yr, s.month, 8))::integer) % 7 AS monday) AS p;

CREATE TEMP TABLE gen_programme (
    pno integer PRIMARY KEY, college text, programme text, prefix text, share float8, topics text[]);
INSERT INTO gen_programme VALUES
 ( 1, 'CLES', 'BSc Biological Sciences', 'BIO', 7,
   '{Cell Biology,Genetics,Ecology,Microbiology,Biochemistry,Evolutionary Biology,Animal Behaviour,Plant Sciences}'),
 ( 2, 'CLES', 'BSc Geography', 'GEO', 6,
   '{Physical Geography,Human Geography,Climate Change,Geographical Information Systems,Urban Geography,Glaciology,Environmental Policy,Field Methods}'),
 ( 3, 'CLES', 'BSc Psychology', 'PSY', 7,
   '{Cognitive Psychology,Social Psychology,Developmental Psychology,Research Methods and Statistics,Biological Psychology,Clinical Psychology,Perception,Individual Differences}'),
 ( 4, 'CEMPS', 'BSc Computer Science', 'COM', 7,
   '{Programming,Data Structures and Algorithms,Computer Systems,Databases,Software Engineering,Artificial Intelligence,Computer Networks,Theory of Computation}'),
 ( 5, 'CEMPS', 'MEng Engineering', 'ENG', 5,
   '{Engineering Mathematics,Mechanics,Thermodynamics,Electronics,Materials,Fluid Dynamics,Control Systems,Engineering Design}'),
 ( 6, 'CEMPS', 'BSc Mathematics', 'MTH', 6,
   '{Calculus,Linear Algebra,Probability,Analysis,Statistics,Differential Equations,Number Theory,Mathematical Modelling}'),
 ( 7, 'HUMS', 'BA English', 'EAS', 5,
   '{English Literature,Shakespeare,Victorian Fiction,Poetry,Creative Writing,Literary Theory,Modernism,Romanticism}'),
 ( 8, 'HUMS', 'BA History', 'HIS', 5,
   '{Medieval Europe,Early Modern Britain,The British Empire,Modern European History,Historical Methods,The Cold War,Social History,Global History}'),
 ( 9, 'HUMS', 'BA Modern Languages', 'MLL', 4,
   '{French Language,Spanish Language,German Language,Translation,European Cinema,Linguistics,Intercultural Studies,Language and Society}'),
 (10, 'UEBS', 'BSc Accounting and Finance', 'ACF', 6,
   '{Financial Accounting,Management Accounting,Corporate Finance,Auditing,Taxation,Financial Markets,Financial Reporting,Investment Analysis}'),
 (11, 'UEBS', 'BSc Business and Management', 'BEM', 8,
   '{Management,Marketing,Organisational Behaviour,Operations Management,Strategy,Entrepreneurship,Human Resource Management,Business Analytics}'),
 (12, 'UEBS', 'BSc Economics', 'ECN', 6,
   '{Microeconomics,Macroeconomics,Econometrics,Economic History,Development Economics,Game Theory,Labour Economics,Public Economics}'),
 (13, 'SSIS', 'BA Politics and International Relations', 'POL', 6,
   '{Political Theory,International Relations,Comparative Politics,British Politics,Security Studies,Public Policy,European Union Politics,Political Economy}'),
 (14, 'SSIS', 'LLB Law', 'LAW', 7,
   '{Contract Law,Criminal Law,Public Law,Tort Law,Land Law,Equity and Trusts,EU Law,Legal Skills}'),
 (15, 'SSIS', 'BA Sociology', 'SOC', 4,
   '{Sociological Theory,Social Research Methods,Gender and Society,Sociology of Health,Crime and Deviance,Race and Ethnicity,Media and Culture,Social Inequality}'),
 (16, 'CMH', 'BMBS Medicine', 'MED', 5,
   '{Anatomy,Physiology,Pathology,Pharmacology,Clinical Skills,Public Health,Medical Ethics,Clinical Reasoning}'),
 (17, 'CMH', 'BSc Medical Sciences', 'MSC', 4,
   '{Human Physiology,Molecular Medicine,Immunology,Neuroscience,Drug Discovery,Genomics,Infection and Disease,Research Skills}'),
 (18, 'CMH', 'BSc Sport and Exercise Sciences', 'SPS', 3,
   '{Exercise Physiology,Biomechanics,Sport Psychology,Nutrition,Motor Control,Strength and Conditioning,Health and Exercise,Sport and Society}');

SELECT pg_temp.cdf(array_agg(share ORDER BY pno)) AS programme_cdf FROM gen_programme \gset

-- Eight modules per programme and level (year of study 1-4), such as BIO1003.
CREATE TEMP TABLE gen_module AS
SELECT row_number() OVER (ORDER BY p.pno, l.level, k.k)::integer AS mno,
       p.prefix || l.level || lpad(k.k::text, 3, '0') AS module_code,
       p.pno, l.level, k.k, p.college,
       format((ARRAY[ARRAY['Introduction to %s', 'Foundations of %s', '%s I', 'Principles of %s'],
                     ARRAY['%s II', 'Intermediate %s', 'Methods in %s', 'Applied %s'],
                     ARRAY['Advanced %s', 'Topics in %s', 'Contemporary %s', '%s: Theory and Practice'],
                     ARRAY['Research Project in %s', 'Current Research in %s',
                           'Advanced Topics in %s', 'Dissertation: %s']])[l.level][1 + (k.k - 1) % 4],
              p.topics[1 + (k.k + l.level - 2) % 8]) AS title
FROM gen_programme AS p
CROSS JOIN generate_series(1, 4) AS l(level)
CROSS JOIN generate_series(1, 8) AS k(k);

INSERT INTO engage.module (module_code, title, college)
SELECT module_code, title, college FROM gen_module ORDER BY mno;

-- Two timetabled sessions a week per module: a lecture, and a seminar,
-- tutorial, practical (sciences) or clinical skills session (CMH).
CREATE TEMP TABLE gen_slot AS
SELECT m.mno, m.module_code, s.slot,
       1 + floor(pg_temp.u(m.mno, s.slot, 101) * 5)::integer AS dow,
       9 + floor(pg_temp.u(m.mno, s.slot, 102) * 8)::integer AS hour,
       CASE WHEN s.slot = 1 THEN 'lecture'
            WHEN m.college = 'CMH' THEN pg_temp.pick(pg_temp.u(m.mno, 2, 103), '{clinical_skills,clinical_skills,practical,tutorial}')
            WHEN m.college IN ('CLES', 'CEMPS') THEN pg_temp.pick(pg_temp.u(m.mno, 2, 103), '{practical,practical,tutorial,seminar}')
            ELSE pg_temp.pick(pg_temp.u(m.mno, 2, 103), '{seminar,seminar,tutorial}') END AS session_type
FROM gen_module AS m CROSS JOIN generate_series(1, 2) AS s(slot);

CREATE TEMP TABLE gen_names (first text[], last text[]);
INSERT INTO gen_names VALUES (
 '{Olivia,Amelia,Isla,Ava,Mia,Ivy,Lily,Isabella,Sophia,Grace,Freya,Emily,Ella,Poppy,Evie,Chloe,Priya,Aisha,Zara,Hannah,Sarah,Lucy,Jessica,Mei,Yuki,Fatima,Chiara,Inès,Niamh,Siobhan,Oliver,George,Noah,Arthur,Leo,Harry,Oscar,Archie,Henry,Theo,Jack,Charlie,Thomas,James,William,Samuel,Joshua,Daniel,Mohammed,Ali,Arjun,Rohan,Wei,Kenji,Luca,Mateo,Lukas,Kwame,Tomasz,Rhys,Callum,Finn,Ewan,Jamal}',
 '{Smith,Jones,Williams,Taylor,Brown,Davies,Evans,Wilson,Thomas,Johnson,Roberts,Robinson,Thompson,Wright,Walker,White,Edwards,Hughes,Green,Hall,Lewis,Harris,Clarke,Patel,Jackson,Wood,Turner,Martin,Cooper,Hill,Ward,Morris,Moore,Clark,Lee,King,Baker,Harrison,Morgan,Allen,James,Scott,Phillips,Watson,Davis,Parker,Price,Bennett,Young,Griffiths,Mitchell,Kelly,Cook,Carter,Richardson,Bailey,Collins,Khan,Chen,Nowak,Okafor,Kowalski,Singh,Ahmed,Nguyen,Murphy,O''Brien,Rossi,García,Müller,Mensah,Kaur,Wang,Ferreira,Campbell,Stewart,MacDonald,Pengelly,Trelawny,Hosking}');

-- People -----------------------------------------------------------------------

-- Students: college and programme by share, year of study 1-4, an engagement
-- propensity (log-normal, mean 1: a few very engaged, some barely), an
-- academic ability independent of it, about 5% who stop engaging 2-3 weeks
-- before end_day, about 60% who use the app.
CREATE TEMP TABLE gen_student AS
SELECT n, (690000000 + n)::text AS student_id,
       pg_temp.pick(pg_temp.u(n, 0, 201), nm.first) || ' ' || pg_temp.pick(pg_temp.u(n, 0, 202), nm.last) AS full_name,
       p.college, p.programme, p.pno,
       width_bucket(pg_temp.u(n, 0, 203), pg_temp.cdf('{30, 28, 27, 15}'))::integer AS yos,
       zp, exp(0.8 * zp - 0.32) AS prop,
       least(0.95, greatest(0.08, 0.2 + 0.45 * exp(0.8 * zp - 0.32))) AS pa,
       CASE WHEN pg_temp.u(n, 0, 205) < 0.05
            THEN :'end_day'::date - 14 - floor(pg_temp.u(n, 0, 206) * 8)::integer END AS drop_day,
       pg_temp.u(n, 0, 207) < 0.6 AS app_user,
       pg_temp.z(n, 0, 208) AS ability
FROM generate_series(1, :students) AS n
CROSS JOIN gen_names AS nm
CROSS JOIN LATERAL (SELECT pg_temp.z(n, 0, 204) AS zp) AS zz
JOIN gen_programme AS p ON p.pno = width_bucket(pg_temp.u(n, 0, 200), :'programme_cdf'::float8[]);
ALTER TABLE gen_student ADD PRIMARY KEY (n);

-- One personal tutor per 15 students, tutees grouped by college and programme.
CREATE TEMP TABLE gen_tutee AS
SELECT n, ((row_number() OVER (ORDER BY pno, n) - 1) / 15 + 1)::integer AS tutor_no
FROM gen_student;

CREATE TEMP TABLE gen_staff AS
SELECT k AS tutor_no,
       'S' || lpad(k::text, greatest(4, length(k::text)), '0') AS staff_id,
       pg_temp.wpick(pg_temp.u(k, 0, 301), '{"Dr ","Prof ",""}', '{70, 12, 18}')
       || pg_temp.pick(pg_temp.u(k, 0, 302), nm.first) || ' ' || pg_temp.pick(pg_temp.u(k, 0, 303), nm.last) AS full_name
FROM generate_series(1, :tutors) AS k CROSS JOIN gen_names AS nm;

INSERT INTO engage.staff (staff_id, full_name, login_role)
SELECT staff_id, full_name, 'tutor_' || lower(staff_id) FROM gen_staff
UNION ALL
VALUES ('A0001', 'Morwenna Penrose', 'admin_a0001'),
       ('A0002', 'Daniel Okonjo', 'admin_a0002');

INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
SELECT student_id, full_name, college, programme, yos, 'student_' || student_id
FROM gen_student ORDER BY n;

-- Tutoring: the current tutor from the start of the academic year; about 5%
-- changed tutor during the period (the earlier tutor until the change day).
CREATE TEMP TABLE gen_tutor_change AS
SELECT t.n, t.tutor_no, t.tutor_no % :tutors + 1 AS old_tutor_no,
       w.lo + floor(pg_temp.u(t.n, 0, 402) * (w.hi - w.lo + 1))::integer AS change_day
FROM gen_tutee AS t
CROSS JOIN LATERAL (SELECT greatest(:'ay_starts'::date + 1, :'start_day'::date + 7) AS lo,
                           :'end_day'::date - 3 AS hi) AS w
WHERE pg_temp.u(t.n, 0, 401) < 0.05 AND :tutors > 1 AND w.lo <= w.hi;

INSERT INTO engage.tutoring (tutor_id, student_id, valid_from, valid_to)
SELECT st.staff_id, s.student_id, coalesce(c.change_day, :'ay_starts'::date), NULL::date
FROM gen_tutee AS t
JOIN gen_student AS s USING (n)
JOIN gen_staff AS st USING (tutor_no)
LEFT JOIN gen_tutor_change AS c USING (n)
UNION ALL
SELECT st.staff_id, s.student_id, :'ay_starts'::date, c.change_day
FROM gen_tutor_change AS c
JOIN gen_student AS s USING (n)
JOIN gen_staff AS st ON st.tutor_no = c.old_tutor_no;

-- Calendar: the days of the period, the academic year of each, a day factor
-- (weekday rhythm with mean 1 over a week; vacations quieter, exam seasons
-- busier) and whether it is a teaching day.
CREATE TEMP TABLE gen_day AS
SELECT d, dayno, ay.label AS ay_label, ay.starts AS ay_starts, ay.ends AS ay_ends,
       pg_temp.ay0(:'end_day'::date) - pg_temp.ay0(d) AS ay_off,
       dow,
       (ARRAY[1.12, 1.12, 1.12, 1.12, 1.0, 0.62, 0.9])[dow]
       * CASE WHEN md >= '1219' OR md <= '0104' THEN 0.3
              WHEN md BETWEEN '0327' AND '0418' THEN 0.55
              WHEN md BETWEEN '0612' AND '0914' THEN 0.2
              WHEN md BETWEEN '0915' AND '0920' THEN 0.6
              WHEN md BETWEEN '0105' AND '0124' OR md BETWEEN '0505' AND '0611' THEN 1.1
              ELSE 1.0 END AS df,
       dow <= 5 AND (md BETWEEN '0921' AND '1218' OR md BETWEEN '0125' AND '0326'
                     OR md BETWEEN '0419' AND '0504') AS teaching
FROM generate_series(0, :days - 1) AS g(i)
CROSS JOIN LATERAL (SELECT :'start_day'::date + g.i AS d) AS dd
CROSS JOIN LATERAL (SELECT d - date '2000-01-01' AS dayno, extract(isodow FROM d)::integer AS dow,
                           to_char(d, 'MMDD') AS md) AS x
JOIN engage.academic_year AS ay ON d BETWEEN ay.starts AND ay.ends;

-- Academic years of the period, with how many years before end_day's each is.
CREATE TEMP TABLE gen_year AS
SELECT ay_label, ay_off, min(d) AS lo, max(d) AS hi, min(ay_starts) AS ay_starts
FROM gen_day GROUP BY ay_label, ay_off;

-- Enrolment: 4-6 of the 8 modules of the programme at the level of study of
-- that year (a student in year 1 now was not here last year).
CREATE TEMP TABLE gen_enrol AS
SELECT s.n, s.student_id, y.ay_label, y.ay_off, m.mno, m.module_code
FROM gen_student AS s
CROSS JOIN gen_year AS y
CROSS JOIN LATERAL (SELECT s.n::bigint * 100 + y.ay_off AS key) AS k
CROSS JOIN LATERAL generate_series(0, 3 + floor(pg_temp.u(k.key, 0, 501) * 3)::integer) AS j
JOIN gen_module AS m
  ON m.pno = s.pno AND m.level = s.yos - y.ay_off
 AND m.k = 1 + (floor(pg_temp.u(k.key, 0, 502) * 8)::integer
                + j * (1 + 2 * floor(pg_temp.u(k.key, 0, 503) * 4)::integer)) % 8
WHERE s.yos - y.ay_off >= 1;
CREATE INDEX ON gen_enrol (module_code, ay_label);

INSERT INTO engage.enrolment (student_id, module_code, academic_year)
SELECT student_id, module_code, ay_label FROM gen_enrol ORDER BY ay_label, n, module_code;

CREATE TEMP TABLE gen_mods AS
SELECT n, ay_label, array_agg(module_code ORDER BY module_code) AS mods, count(*)::integer AS nmods
FROM gen_enrol GROUP BY n, ay_label;

ANALYZE gen_student, gen_day, gen_year, gen_enrol, gen_mods, gen_slot, gen_module;

-- Consent, per academic year of the period: ~90% granted at registration,
-- ~5% refused, ~5% no decision; ~2% granted then withdrew later.
INSERT INTO engage.consent (student_id, academic_year, granted, recorded_at, recorded_by)
SELECT s.student_id, y.ay_label, r.granted, r.at,
       CASE WHEN pg_temp.u(k.key, r.seq, 604) < 0.8 THEN 'student'
            ELSE pg_temp.pick(pg_temp.u(k.key, r.seq, 605), '{A0001,A0002}') END
FROM gen_student AS s
JOIN gen_year AS y ON s.yos - y.ay_off >= 1
CROSS JOIN LATERAL (SELECT s.n::bigint * 100 + y.ay_off AS key) AS k
CROSS JOIN LATERAL (SELECT pg_temp.u(k.key, 0, 601) AS c) AS c
-- registration: within the first 50 days of the year (not after end_day)
CROSS JOIN LATERAL (
    SELECT (y.ay_starts + least(floor(pg_temp.u(k.key, 0, 602) * 50)::integer,
                                :'end_day'::date - y.ay_starts))
           + make_interval(secs => 8 * 3600 + floor(pg_temp.u(k.key, 0, 603) * 12 * 3600)) AS reg) AS g
CROSS JOIN LATERAL (
    SELECT 1 AS seq, c.c >= 0.10 AS granted, g.reg AT TIME ZONE 'Europe/London' AS at
    WHERE c.c >= 0.05
    UNION ALL
    SELECT 2, false,
           (g.reg + interval '1 hour'
            + (greatest(0, y.hi - g.reg::date) * pg_temp.u(k.key, 0, 606)) * interval '1 day')
           AT TIME ZONE 'Europe/London'
    WHERE c.c >= 0.10 AND c.c < 0.12) AS r
ORDER BY r.at, s.n, r.seq;

-- Activity ----------------------------------------------------------------------

-- Gap patterns for VLE sessions: 1000 templates of 600 successive gaps
-- (pg_temp.gap) with their running sums.  A session takes its gaps from a
-- template at a random position, so that view times come from an index range
-- scan rather than a running sum computed per session.
CREATE TEMP TABLE gen_gap AS
SELECT tpl, i, sum(pg_temp.gap(pg_temp.u(tpl, i, 708))) OVER (PARTITION BY tpl ORDER BY i) AS cum
FROM generate_series(0, 999) AS tpl CROSS JOIN generate_series(1, 600) AS i;
ALTER TABLE gen_gap ADD PRIMARY KEY (tpl, i);
ANALYZE gen_gap;

-- VLE page views.  A student is active on a day with a probability set by
-- their propensity and the day factor (falling to nothing over the two weeks
-- before a drop-off), and then makes a log-normal number of views around
-- views_per_day * propensity * day factor / that probability, in 1-3
-- sessions at local times drawn from the daily profile.  A session is a burst
-- of up to 300 views, mostly on one enrolled module, sometimes another, and
-- ~10% on pages of no module (often the landing page).
--
-- Loaded in chunks of days of about ten million views each (one INSERT for
-- usual sizes), which bounds the memory of the foreign-key checks queued per
-- statement on very large backfills.
CREATE TEMP TABLE gen_chunk (lo date, hi date);
INSERT INTO gen_chunk VALUES (:'start_day', :'end_day');

CREATE TEMP VIEW gen_ele AS
SELECT ses.student_id,
       ses.t0 + make_interval(secs => g.cum - ses.base),
       CASE WHEN pg_temp.u(ses.sk, g.i, 707) < CASE WHEN g.i = ses.i0 + 1 THEN 0.45 ELSE 0.06 END THEN NULL
            WHEN pg_temp.u(ses.sk, g.i, 707) < 0.82 THEN ses.mods[ses.pm]
            ELSE ses.mods[1 + floor(pg_temp.u(ses.sk, g.i, 705) * ses.nmods)::integer] END
FROM (
    -- one row per session (OFFSET 0: computed once, not once per view)
    SELECT d.d, s.n, s.student_id, m.mods, m.nmods, x.sk, x.tpl, x.i0, x.nv, x.pm, g0.cum AS base,
           (d.d + make_interval(secs => floor(pg_temp.tod((j - 1 + pg_temp.u(x.sk, 0, 704)) / b.nsessions))))
           AT TIME ZONE 'Europe/London' AS t0
    FROM gen_chunk AS c
    JOIN gen_day AS d ON d.d BETWEEN c.lo AND c.hi
    JOIN gen_mods AS m ON m.ay_label = d.ay_label
    JOIN gen_student AS s ON s.n = m.n
    CROSS JOIN LATERAL (SELECT s.n::bigint * 100000 + d.dayno AS dk,
                               least(0.97, s.pa * d.df) AS p0) AS k
    CROSS JOIN LATERAL (
        SELECT greatest(1, round(:views_per_day * s.prop * d.df / k.p0
                                 * exp(0.45 * pg_temp.z(k.dk, 0, 702) - 0.10125)))::integer AS nviews,
               pg_temp.u(k.dk, 0, 703) AS r) AS a
    CROSS JOIN LATERAL (
        SELECT CASE WHEN a.nviews < 5 THEN 1
                    WHEN a.nviews < 15 THEN 1 + (a.r >= 0.5)::integer
                    ELSE 1 + (a.r >= 0.15)::integer + (a.r >= 0.65)::integer END AS nsessions) AS b
    CROSS JOIN LATERAL generate_series(1, b.nsessions) AS j
    CROSS JOIN LATERAL (
        SELECT k.dk * 4 + j AS sk,
               least(300, (a.nviews * j) / b.nsessions - (a.nviews * (j - 1)) / b.nsessions) AS nv,
               floor(pg_temp.u(k.dk * 4 + j, 0, 709) * 1000)::integer AS tpl,
               floor(pg_temp.u(k.dk * 4 + j, 0, 710) * 300)::integer AS i0,
               1 + floor(pg_temp.u(k.dk * 4 + j, 0, 706) * m.nmods)::integer AS pm) AS x
    JOIN gen_gap AS g0 ON g0.tpl = x.tpl AND g0.i = x.i0 + 1
    WHERE :views_per_day > 0
      AND pg_temp.u(k.dk, 0, 701)
          < k.p0 * CASE WHEN s.drop_day IS NULL THEN 1.0
                        ELSE least(1.0, greatest(0.0, (s.drop_day - d.d) / 14.0)) END
    -- rows go in day by day (as a nightly load would), by student within a
    -- day: sessions are sorted here and their views follow in time order
    ORDER BY d.d, s.n, t0
    OFFSET 0) AS ses
JOIN gen_gap AS g ON g.tpl = ses.tpl AND g.i > ses.i0 AND g.i <= ses.i0 + ses.nv;

\echo datagen: VLE page views from :start_day to :end_day, :chunk_days days per INSERT
SELECT format('UPDATE gen_chunk SET lo = %L, hi = %L', to_char(lo, 'YYYY-MM-DD'),
              to_char(least(lo + :chunk_days - 1, :'end_day'::date), 'YYYY-MM-DD')),
       'INSERT INTO engage.ele_event (student_id, ts, module_code) SELECT * FROM gen_ele'
FROM generate_series(0, :days - 1, :chunk_days) AS i
CROSS JOIN LATERAL (SELECT :'start_day'::date + i AS lo) AS l
ORDER BY lo
\gexec

-- Student-app menu choices: on some days an app user opens the app once and
-- makes 1-5 choices a few seconds apart.
INSERT INTO engage.app_event (student_id, ts, menu_item)
SELECT s.student_id,
       (d.d + make_interval(secs => floor(pg_temp.tod(pg_temp.u(k.ak, 0, 802)))))
       AT TIME ZONE 'Europe/London'
       + make_interval(secs => (i - 1) * 40 + floor(pg_temp.u(k.ak, i, 803) * 30)),
       pg_temp.wpick(pg_temp.u(k.ak, i, 804),
                     '{timetable,email,grades,my progress,library,attendance,careers,wellbeing}',
                     '{28, 16, 12, 10, 10, 9, 8, 7}')
FROM gen_day AS d
JOIN gen_mods AS m ON m.ay_label = d.ay_label
JOIN gen_student AS s ON s.n = m.n AND s.app_user
CROSS JOIN LATERAL (SELECT s.n::bigint * 100000 + d.dayno AS ak) AS k
CROSS JOIN LATERAL generate_series(1, 1 + floor(pg_temp.u(k.ak, 0, 801) ^ 2 * 5)::integer) AS i
WHERE pg_temp.u(k.ak, 0, 800)
      < least(0.9, 0.5 * d.df * sqrt(s.prop))
        * CASE WHEN s.drop_day IS NULL OR d.d < s.drop_day THEN 1.0 ELSE 0.1 END
ORDER BY d.d, s.n, 2;

-- Careers events: one or two on most weekdays; ~30% of students (more in
-- later years) register for a few over the period and attend ~70%.
CREATE TEMP TABLE gen_career AS
SELECT (row_number() OVER (ORDER BY d.d, e) - 1)::integer AS idx,
       'CAR-' || to_char(d.d, 'YYYYMMDD') || '-' || e AS event_id, d.d AS event_day, d.ay_label
FROM gen_day AS d CROSS JOIN generate_series(1, 2) AS e
WHERE d.dow <= 5 AND (e = 1 OR pg_temp.u(d.dayno, 0, 900) < 0.4);

SELECT count(*) AS career_events FROM gen_career \gset

INSERT INTO engage.career_event (student_id, event_id, event_day, attended)
SELECT s.student_id, c.event_id, c.event_day,
       pg_temp.u(s.n, j, 904) < 0.7 AND (s.drop_day IS NULL OR c.event_day < s.drop_day)
FROM gen_student AS s
CROSS JOIN LATERAL generate_series(1, greatest(1, round((1 + 3.5 * pg_temp.u(s.n, 0, 902)) * :days / 70.0))::integer) AS j
JOIN gen_career AS c ON c.idx = floor(pg_temp.u(s.n, j, 903) * :career_events)::integer
JOIN gen_mods AS m ON m.n = s.n AND m.ay_label = c.ay_label
WHERE pg_temp.u(s.n, 0, 901) < 0.12 + 0.06 * s.yos
ORDER BY c.idx, s.n
ON CONFLICT DO NOTHING;

-- Attendance at the two weekly sessions of each enrolled module on teaching
-- days: ~85% present, ~10% absent (more for the less engaged), ~5%
-- authorised; students who drop off stop attending.
INSERT INTO engage.attendance (student_id, module_code, session_id, session_type, starts_at, status)
SELECT e.student_id, e.module_code,
       e.module_code || '-' || to_char(d.d, 'YYYYMMDD') || '-' || sl.slot,
       sl.session_type,
       (d.d + make_interval(hours => sl.hour)) AT TIME ZONE 'Europe/London',
       CASE WHEN r < pabs THEN 'absent'
            WHEN r < pabs + 0.05 THEN 'authorised_absence'
            ELSE 'present' END
FROM gen_day AS d
JOIN gen_slot AS sl ON sl.dow = d.dow
JOIN gen_enrol AS e ON e.module_code = sl.module_code AND e.ay_label = d.ay_label
JOIN gen_student AS s ON s.n = e.n
CROSS JOIN LATERAL (
    SELECT pg_temp.u(s.n, (sl.mno::bigint * 100000 + d.dayno) * 2 + sl.slot, 1001) AS r,
           CASE WHEN s.drop_day IS NULL THEN least(0.6, 0.03 + 0.05 / sqrt(s.prop))
                WHEN d.d >= s.drop_day THEN 0.93
                ELSE least(0.93, 0.03 + 0.05 / sqrt(s.prop)
                                 + 0.6 * (1 - least(1.0, (s.drop_day - d.d) / 14.0))) END AS pabs) AS x
WHERE d.teaching
ORDER BY d.d, e.n, sl.hour, sl.mno;

-- Assessment marks: each module sets 1-3 assessments in each year's part of
-- the period, marks released on one day; marks ~ N(62, 12), mostly ability
-- and noise, partly engagement propensity (student-level correlation of
-- about 0.5), 0 for work not submitted after a drop-off; provisional for 4
-- weeks.
CREATE TEMP TABLE gen_assessment AS
SELECT m.mno, m.module_code, y.ay_label, j, kind,
       CASE kind WHEN 'coursework' THEN 'Coursework ' WHEN 'test' THEN 'Class test '
                 WHEN 'practical' THEN 'Practical report ' ELSE 'Presentation ' END || j AS assessment,
       (rd - CASE WHEN extract(isodow FROM rd) >= 6 AND rd - extract(isodow FROM rd)::integer + 5 >= y.lo
                  THEN extract(isodow FROM rd)::integer - 5 ELSE 0 END) AS released,
       4.0 * pg_temp.z(m.mno, y.ay_off, 1103) AS difficulty
FROM gen_module AS m
CROSS JOIN gen_year AS y
CROSS JOIN LATERAL (SELECT m.mno::bigint * 100 + y.ay_off AS key) AS k
-- 1-3 assessments in six weeks or more, fewer in a shorter part
CROSS JOIN LATERAL (
    SELECT floor((1 + floor(pg_temp.u(k.key, 0, 1100) * 3)) * least(1.0, (y.hi - y.lo + 1) / 42.0)
                 + pg_temp.u(k.key, 0, 1106))::integer AS na) AS a
CROSS JOIN LATERAL generate_series(1, a.na) AS j
CROSS JOIN LATERAL (
    SELECT y.lo + floor((y.hi - y.lo + 1) * (j - 0.85 + 0.7 * pg_temp.u(k.key, j, 1101)) / a.na)::integer AS rd,
           CASE WHEN m.college IN ('CLES', 'CEMPS', 'CMH')
                THEN pg_temp.wpick(pg_temp.u(k.key, j, 1102), '{coursework,test,practical}', '{55, 30, 15}')
                ELSE pg_temp.wpick(pg_temp.u(k.key, j, 1102), '{coursework,test,presentation}', '{60, 25, 15}') END AS kind) AS x;

INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark, provisional, recorded_at)
SELECT e.student_id, e.module_code, a.assessment, a.kind,
       CASE WHEN s.drop_day IS NOT NULL AND a.released >= s.drop_day + 7 THEN 0
            ELSE least(100, greatest(0, round(62 + a.difficulty
                 + 12 * (0.35 * s.zp + 0.6 * s.ability
                         + 0.72 * pg_temp.z(e.n, a.mno::bigint * 1000 + a.j, 1104))))) END,
       a.released > :'end_day'::date - 28,
       (a.released + make_interval(secs => 9 * 3600 + floor(pg_temp.u(a.mno, a.j, 1105) * 8 * 3600)))
       AT TIME ZONE 'Europe/London'
FROM gen_assessment AS a
JOIN gen_enrol AS e ON e.module_code = a.module_code AND e.ay_label = a.ay_label
JOIN gen_student AS s ON s.n = e.n
ORDER BY a.released, e.n, a.mno, a.j;

-- Careers registration for the current year: readiness skewed by year of
-- study; sector often not given by those still deciding.
INSERT INTO engage.employability (student_id, academic_year, readiness_stage, sector,
                                  work_experience, activities, registered_at)
SELECT s.student_id, :'ay', st.stage,
       CASE WHEN pg_temp.u(s.n, 0, 1203) < (ARRAY[0.6, 0.25, 0.1, 0.05])[st.sno] THEN NULL
            WHEN pg_temp.u(s.n, 0, 1204) < 0.6 THEN
                 pg_temp.pick(pg_temp.u(s.n, 0, 1205),
                     CASE s.college
                          WHEN 'CLES' THEN '{Environment and conservation,Science and research,Healthcare}'
                          WHEN 'CEMPS' THEN '{Technology,Engineering and manufacturing,Finance}'
                          WHEN 'HUMS' THEN '{Media and publishing,Education,Heritage and culture}'
                          WHEN 'UEBS' THEN '{Finance,Consulting,Marketing and advertising}'
                          WHEN 'SSIS' THEN '{Law,Public sector,Charity and NGO}'
                          ELSE '{Healthcare,Science and research,Sport and leisure}' END::text[])
            ELSE pg_temp.pick(pg_temp.u(s.n, 0, 1206),
                     '{Public sector,Technology,Education,Finance,Charity and NGO,Media and publishing,Retail,Hospitality}') END,
       pg_temp.u(s.n, 0, 1207) < 0.05 + 0.1 * s.yos + 0.06 * st.sno,
       least(10, floor(pg_temp.u(s.n, 0, 1208) * 3)::integer + st.sno - 1
                 + floor(pg_temp.u(s.n, 0, 1209) * 2 * least(s.prop, 2.5))::integer),
       (:'ay_starts'::date + least(floor(30 + pg_temp.u(s.n, 0, 1210) * 40)::integer,
                                   :'end_day'::date - :'ay_starts'::date)
        + make_interval(secs => 9 * 3600 + floor(pg_temp.u(s.n, 0, 1211) * 10 * 3600)))
       AT TIME ZONE 'Europe/London'
FROM gen_student AS s
CROSS JOIN LATERAL (
    SELECT pg_temp.wpick(pg_temp.u(s.n, 0, 1202), '{decide,plan,compete,sorted}',
                         ('{{55, 30, 12, 3}, {35, 40, 20, 5}, {20, 30, 35, 15}, {10, 20, 35, 35}}'::float8[])
                         [s.yos:s.yos][1:4]) AS stage) AS w
CROSS JOIN LATERAL (SELECT array_position('{decide,plan,compete,sorted}'::text[], w.stage) AS sno, w.stage) AS st
ORDER BY s.n;

-- Meeting notes: 1-2 per student in the current year's part of the period
-- (more for long periods), by the tutor of the day (a few by the student):
-- mostly routine, some about an issue (most drop-offs), with actions.
CREATE TEMP TABLE gen_issue (issue text PRIMARY KEY, weight float8, actions jsonb);
INSERT INTO gen_issue VALUES
 ('wellbeing', 24, '[{"action": "Refer to Wellbeing Services", "by": "tutor"},
                     {"action": "Book an appointment with Wellbeing Services", "by": "student"},
                     {"action": "Check in by email in two weeks", "by": "tutor"}]'),
 ('academic progress', 24, '[{"action": "Draft a study plan for the next four weeks", "by": "student"},
                             {"action": "Contact module leaders about missed work", "by": "tutor"},
                             {"action": "Attend a study skills workshop", "by": "student"}]'),
 ('finance', 10, '[{"action": "Contact the Money Advice team", "by": "student"},
                   {"action": "Refer to the Success for All fund", "by": "tutor"}]'),
 ('attendance', 14, '[{"action": "Attend all timetabled sessions next week", "by": "student"},
                      {"action": "Meet again in two weeks to review attendance", "by": "tutor"},
                      {"action": "Inform the Student Information Desk", "by": "tutor"}]'),
 ('accommodation', 6, '[{"action": "Contact the Accommodation Office", "by": "student"},
                        {"action": "Follow up with the Accommodation Office", "by": "Student Information Desk"}]'),
 ('extenuating circumstances', 8, '[{"action": "Submit a mitigation request", "by": "student"},
                                    {"action": "Write in support of the mitigation request", "by": "tutor"}]'),
 ('career planning', 8, '[{"action": "Book a Careers Service appointment", "by": "student"},
                          {"action": "Send details of internship schemes", "by": "tutor"},
                          {"action": "Review CV", "by": "Careers Service"}]'),
 ('module choices', 6, '[{"action": "Discuss options with the programme director", "by": "student"},
                         {"action": "Confirm module changes with the Student Information Desk", "by": "student"}]');

-- Meetings are on weekdays of the current year's part of the period
-- (any day if it has no weekday).
CREATE TEMP TABLE gen_note_day AS
SELECT (row_number() OVER (ORDER BY d) - 1)::integer AS idx, d AS met_on
FROM gen_day
WHERE ay_off = 0
  AND (dow <= 5 OR NOT EXISTS (SELECT FROM gen_day AS g WHERE g.ay_off = 0 AND g.dow <= 5));
SELECT count(*) AS note_days FROM gen_note_day \gset

SELECT array_agg(issue ORDER BY issue) AS issues, array_agg(weight ORDER BY issue) AS issue_weights
FROM gen_issue \gset

INSERT INTO engage.meeting_note (student_id, author_id, met_on, focus, issue, discussed, actions, summary, recorded_at)
SELECT s.student_id,
       CASE WHEN pg_temp.u(y.key, 0, 1305) < 0.08 THEN s.student_id
            WHEN tc.change_day IS NOT NULL AND x.met_on < tc.change_day THEN old.staff_id
            ELSE cur.staff_id END,
       x.met_on,
       CASE WHEN f.issue IS NULL THEN 'routine' ELSE 'issue' END,
       f.issue,
       CASE WHEN f.issue IS NULL THEN
            pg_temp.pick(pg_temp.u(y.key, 0, 1306), ARRAY[
                'General check-in: settling in, workload and upcoming deadlines.',
                'Reviewed feedback on recent coursework and how to use it.',
                'Talked about module choices and study habits.',
                'Discussed time management and balancing part-time work.',
                'Progress across modules; no concerns raised.',
                'Opportunities for work experience, volunteering and societies.'])
       ELSE format(pg_temp.pick(pg_temp.u(y.key, 0, 1306), ARRAY[
                'Student raised concerns about %s; talked through options and the support available.',
                'Follow-up meeting about %s; agreed next steps.',
                'Discussed %s and how it is affecting study; agreed a plan.']), f.issue) END,
       CASE WHEN f.issue IS NULL THEN
            CASE WHEN pg_temp.u(y.key, 0, 1307) < 0.3
                 THEN '[{"action": "Book a follow-up meeting next term", "by": "student"}]'::jsonb
                 ELSE '[]'::jsonb END
       ELSE (SELECT jsonb_agg(t.a ORDER BY t.o)
             FROM jsonb_array_elements(gi.actions) WITH ORDINALITY AS t(a, o)
             WHERE t.o <= 1 + floor(pg_temp.u(y.key, 0, 1307) * jsonb_array_length(gi.actions))) END,
       CASE WHEN f.issue IS NULL THEN
            pg_temp.pick(pg_temp.u(y.key, 0, 1308), ARRAY[
                'Going well; no action needed.', 'Good progress; meet again next term.',
                'Several deadlines close together; student has a plan.', 'Settled in well.'])
       ELSE pg_temp.pick(pg_temp.u(y.key, 0, 1308), ARRAY[
                'Support in place; review in two weeks.',
                'Referred on; tutor to follow up.',
                'Student will contact the relevant team; tutor to check in.']) END,
       (x.met_on + least(floor(pg_temp.u(y.key, 0, 1310) ^ 3 * 3)::integer, :'end_day'::date - x.met_on)
        + make_interval(secs => 9 * 3600 + floor(pg_temp.u(y.key, 0, 1309) * 9 * 3600)))
       AT TIME ZONE 'Europe/London'
FROM gen_student AS s
JOIN gen_tutee AS t USING (n)
JOIN gen_staff AS cur ON cur.tutor_no = t.tutor_no
LEFT JOIN gen_tutor_change AS tc USING (n)
LEFT JOIN gen_staff AS old ON old.tutor_no = tc.old_tutor_no
-- (0-3 in a term of 50 weekdays, in proportion for shorter or longer periods,
-- at least one for a student who dropped off)
CROSS JOIN LATERAL (
    SELECT floor(pg_temp.wpick(pg_temp.u(s.n, 0, 1300), '{0,1,2,3}', '{7, 58, 30, 5}')::integer
                 * least(4.0, :note_days / 50.0) + pg_temp.u(s.n, 0, 1311))::integer AS k) AS c0
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.drop_day IS NOT NULL THEN greatest(1, c0.k) ELSE c0.k END AS nnotes) AS c
CROSS JOIN LATERAL generate_series(1, c.nnotes) AS j
JOIN gen_note_day AS x
  ON x.idx = floor(:note_days * (j - 1 + pg_temp.u(s.n, j, 1301)) / c.nnotes)::integer
CROSS JOIN LATERAL (SELECT s.n::bigint * 100 + j AS key) AS y
CROSS JOIN LATERAL (
    SELECT CASE WHEN s.drop_day IS NOT NULL AND x.met_on >= s.drop_day - 10
                THEN pg_temp.pick(pg_temp.u(y.key, 0, 1303), '{attendance,wellbeing,academic progress}')
                WHEN pg_temp.u(y.key, 0, 1302) < 0.22
                THEN pg_temp.wpick(pg_temp.u(y.key, 0, 1304), :'issues'::text[], :'issue_weights'::float8[])
           END AS issue) AS f
LEFT JOIN gen_issue AS gi ON gi.issue = f.issue
ORDER BY x.met_on, s.n, j;

-- Leave nothing behind in the session (the script may be run with \i).
DROP VIEW gen_ele;
DROP TABLE gen_programme, gen_module, gen_slot, gen_names, gen_student, gen_tutee, gen_staff,
           gen_tutor_change, gen_day, gen_year, gen_enrol, gen_mods, gen_gap, gen_chunk,
           gen_career, gen_assessment, gen_issue, gen_note_day;
DROP FUNCTION pg_temp.check, pg_temp.is_date, pg_temp.u, pg_temp.z, pg_temp.cdf, pg_temp.wpick,
              pg_temp.pick, pg_temp.ay0, pg_temp.ay_label, pg_temp.tod_at, pg_temp.tod, pg_temp.gap;

COMMIT;

ANALYZE engage.college, engage.academic_year, engage.coefficients, engage.student, engage.staff,
        engage.tutoring, engage.consent, engage.module, engage.enrolment, engage.ele_event,
        engage.app_event, engage.career_event, engage.attendance, engage.assessment_mark,
        engage.exam_period, engage.employability, engage.meeting_note;

SELECT 'datagen: ' || string_agg(format('%s=%s', t, n), ' ' ORDER BY o) AS summary
FROM (VALUES
    (1, 'student', (SELECT count(*) FROM engage.student)),
    (2, 'staff', (SELECT count(*) FROM engage.staff)),
    (3, 'tutoring', (SELECT count(*) FROM engage.tutoring)),
    (4, 'consent', (SELECT count(*) FROM engage.consent)),
    (5, 'module', (SELECT count(*) FROM engage.module)),
    (6, 'enrolment', (SELECT count(*) FROM engage.enrolment)),
    (7, 'ele_event', (SELECT count(*) FROM engage.ele_event)),
    (8, 'app_event', (SELECT count(*) FROM engage.app_event)),
    (9, 'career_event', (SELECT count(*) FROM engage.career_event)),
    (10, 'attendance', (SELECT count(*) FROM engage.attendance)),
    (11, 'assessment_mark', (SELECT count(*) FROM engage.assessment_mark)),
    (12, 'exam_period', (SELECT count(*) FROM engage.exam_period)),
    (13, 'employability', (SELECT count(*) FROM engage.employability)),
    (14, 'meeting_note', (SELECT count(*) FROM engage.meeting_note)),
    (15, 'college', (SELECT count(*) FROM engage.college)),
    (16, 'academic_year', (SELECT count(*) FROM engage.academic_year)),
    (17, 'coefficients', (SELECT count(*) FROM engage.coefficients))) AS c(o, t, n) \gset
\echo :summary
\set QUIET :datagen_quiet
