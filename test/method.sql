-- The whole nightly method in plain SQL, for checking engage.refresh
-- (test/pgtap/refresh_property.sql) and as the baseline of make bench
-- (test/bench/bench.sql): pg_temp.reference(f, t) gives the rows of
-- engage.daily_engagement for the days f to t from the raw events: consent
-- per day, the ELE rule with lead(), dense days and the 7-day mean as a
-- window over them, in SQL over engage's tables alone.
CREATE FUNCTION pg_temp.reference(f date, t date)
RETURNS TABLE (student_id text, module_code text, day date, ele_minutes float8,
               app_choices bigint, career_events bigint, score float8)
LANGUAGE sql AS $$
WITH consenting_day AS (
    SELECT cl.student_id, d::date AS day, cl.academic_year
    FROM engage.consent_latest cl JOIN engage.academic_year y ON y.label = cl.academic_year,
         generate_series(greatest(y.starts, f - 6), least(y.ends, t), '1 day') d
    WHERE cl.granted
), ordered AS (
    SELECT student_id, ts, module_code,
           lead(ts) OVER (PARTITION BY student_id ORDER BY ts, module_code COLLATE "C" NULLS LAST) AS next_ts
    FROM engage.ele_event
), credit AS (
    SELECT student_id, module_code, (ts AT TIME ZONE 'Europe/London')::date AS day,
           extract(epoch FROM CASE WHEN next_ts - ts < interval '5 minutes' THEN next_ts - ts
                                   ELSE interval '2 minutes' END) / 60 AS minutes
    FROM ordered WHERE module_code IS NOT NULL
), module_day AS (
    SELECT student_id, module_code, day, sum(minutes) AS minutes FROM credit GROUP BY 1, 2, 3
), all_day AS (
    SELECT student_id, day, sum(minutes) AS minutes FROM credit GROUP BY 1, 2
), app AS (
    SELECT student_id, (ts AT TIME ZONE 'Europe/London')::date AS day, count(*) AS n
    FROM engage.app_event GROUP BY 1, 2
), career AS (
    SELECT student_id, event_day AS day, count(*) AS n
    FROM engage.career_event WHERE attended GROUP BY 1, 2
), daily AS (
    SELECT cd.student_id, cd.day, cd.academic_year, m.module_code,
           coalesce(CASE WHEN m.module_code IS NULL THEN ad.minutes ELSE md.minutes END, 0) AS ele,
           coalesce(a.n, 0) AS app, coalesce(k.n, 0) AS events
    FROM consenting_day cd
    CROSS JOIN LATERAL (SELECT NULL::text AS module_code
                        UNION ALL
                        SELECT DISTINCT en.module_code FROM engage.enrolment en
                        WHERE en.student_id = cd.student_id
                          AND en.academic_year IN (SELECT label FROM engage.academic_year
                                                   WHERE starts <= t AND ends >= f - 6)) AS m
    LEFT JOIN all_day ad ON ad.student_id = cd.student_id AND ad.day = cd.day
    LEFT JOIN module_day md ON md.student_id = cd.student_id AND md.day = cd.day
                           AND md.module_code = m.module_code
    LEFT JOIN app a ON a.student_id = cd.student_id AND a.day = cd.day
    LEFT JOIN career k ON k.student_id = cd.student_id AND k.day = cd.day
), dense AS (
    SELECT k.student_id, k.module_code, d::date AS day,
           coalesce(dl.ele, 0) AS ele, coalesce(dl.app, 0) AS app, coalesce(dl.events, 0) AS events
    FROM (SELECT DISTINCT student_id, module_code FROM daily) k
    CROSS JOIN generate_series(f - 6, t, '1 day') d
    LEFT JOIN daily dl ON dl.student_id = k.student_id AND dl.day = d::date
                      AND coalesce(dl.module_code, '') = coalesce(k.module_code, '')
), windowed AS (
    SELECT *, sum(ele) OVER w / 7 AS ele_mean, sum(app) OVER w / 7.0 AS app_mean,
           sum(events) OVER w / 7.0 AS events_mean
    FROM dense
    WINDOW w AS (PARTITION BY student_id, module_code ORDER BY day ROWS 6 PRECEDING)
)
SELECT w.student_id, w.module_code, w.day, w.ele::float8, w.app, w.events,
       (c.ele * w.ele_mean + c.app * w.app_mean + c.events * w.events_mean)::float8
FROM windowed w
JOIN consenting_day cd ON cd.student_id = w.student_id AND cd.day = w.day
JOIN (SELECT student_id, college, valid_from, valid_to FROM engage.student_college
      UNION ALL
      SELECT student_id, college, '-infinity', NULL FROM engage.student s
      WHERE NOT EXISTS (SELECT FROM engage.student_college h WHERE h.student_id = s.student_id)) sc
  ON sc.student_id = w.student_id AND w.day >= sc.valid_from AND (sc.valid_to IS NULL OR w.day < sc.valid_to)
JOIN engage.coefficients c ON c.college = sc.college AND c.academic_year = cd.academic_year
WHERE w.day BETWEEN f AND t
  AND (w.module_code IS NULL OR EXISTS (
        SELECT FROM engage.enrolment en WHERE en.student_id = w.student_id
          AND en.module_code = w.module_code AND en.academic_year = cd.academic_year))
$$;

