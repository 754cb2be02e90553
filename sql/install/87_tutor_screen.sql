-- The tutor's screen: alerts with a history, and one call per dashboard -------------
--
-- engage.refresh_alerts, called by the nightly run at its end, records in
-- engage.alert when a condition first held for a student and when it
-- stopped, and tells listeners on the channel engage_alert.  An alert is
-- read under the rule of the data behind it: engagement alerts with consent,
-- a failed mark as marks are, attendance alerts as attendance is.
-- engage.dashboard and engage.my_students_json put the views together for
-- the front end with the caller's rights, so they show what the views show
-- and nothing more.

CREATE TABLE @extschema@.alert (
    alert_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id  text NOT NULL REFERENCES @extschema@.student ON DELETE CASCADE,
    kind        text NOT NULL CONSTRAINT alert_kind_known
        CHECK (kind IN ('score_drop', 'no_vle_7d', 'attendance_falling', 'absence_run', 'failed_mark')),
    module_code text,
    fired_on    date NOT NULL,
    fired_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    cleared_at  timestamptz,
    detail      jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT alert_module_for_marks CHECK ((kind = 'failed_mark') = (module_code IS NOT NULL)),
    CONSTRAINT alert_cleared_after_fired CHECK (cleared_at >= fired_at)
);
-- one open alert per student, kind and module
CREATE UNIQUE INDEX alert_open_key ON @extschema@.alert (student_id, kind, (COALESCE(module_code, '')))
    WHERE cleared_at IS NULL;
CREATE INDEX ON @extschema@.alert (student_id, fired_at);
COMMENT ON TABLE @extschema@.alert IS 'Alerts with a history, written by engage.refresh_alerts: a condition that began to hold for a student (fired) and, once it no longer holds, when it stopped (cleared). Read under the rule of the data behind it.';
COMMENT ON COLUMN @extschema@.alert.alert_id IS 'Identifier of the alert; the payload of a notification on channel engage_alert.';
COMMENT ON COLUMN @extschema@.alert.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.alert.kind IS 'score_drop, no_vle_7d (engagement: with consent only), attendance_falling, absence_run (attendance), or failed_mark (a mark: as the grades tab).';
COMMENT ON COLUMN @extschema@.alert.module_code IS 'The module of a failed_mark; NULL for the other kinds.';
COMMENT ON COLUMN @extschema@.alert.fired_on IS 'The day whose figures first met the condition (the day before the run).';
COMMENT ON COLUMN @extschema@.alert.fired_at IS 'When the run that fired it ran.';
COMMENT ON COLUMN @extschema@.alert.cleared_at IS 'When a run first found the condition no longer met; NULL while the alert is open.';
COMMENT ON COLUMN @extschema@.alert.detail IS 'The figures that met the condition, as a JSON object (see docs/views.md).';
COMMENT ON SEQUENCE @extschema@.alert_alert_id_seq IS 'Numbers engage.alert rows.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alert', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.alert_alert_id_seq', '');

ALTER TABLE @extschema@.alert ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.alert FORCE ROW LEVEL SECURITY;
CREATE POLICY viewer_read ON @extschema@.alert FOR SELECT TO engage_tutor, engage_student, engage_app
    USING (student_id = ANY (CASE WHEN kind IN ('score_drop', 'no_vle_7d')
                                  THEN (SELECT @extschema@.consenting_students())
                                  WHEN kind = 'failed_mark'
                                  THEN (SELECT @extschema@.mark_students())
                                  ELSE (SELECT @extschema@.visible_students()) END::text[]));
CREATE POLICY loader_all ON @extschema@.alert FOR ALL TO engage_loader USING (true) WITH CHECK (true);

CREATE PROCEDURE @extschema@.refresh_alerts()
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- the figures of yesterday, the last day the nightly run computes; this
    -- first call also loads the library, which defines the settings read below
    as_of           date := @extschema@.today() - 1;
    midnight        timestamptz := @extschema@.local_midnight(as_of + 1);
    year_from       timestamptz := @extschema@.local_midnight((SELECT y.starts FROM @extschema@.academic_year AS y
                                                                WHERE as_of BETWEEN y.starts AND y.ends));
    drop_ratio      double precision := pg_catalog.current_setting('engage.alert_score_drop_ratio');
    score_floor     double precision := pg_catalog.current_setting('engage.alert_score_floor');
    attendance_drop numeric := pg_catalog.current_setting('engage.alert_attendance_drop');
    min_sessions    integer := pg_catalog.current_setting('engage.alert_attendance_sessions');
    absence_run     integer := pg_catalog.current_setting('engage.alert_absence_run');
    fail_mark       numeric := pg_catalog.current_setting('engage.alert_fail_mark');
    on_cluster      boolean := @extschema@.distributed();
    changed         bigint;
BEGIN
    -- No profiling without consent: the engagement alerts of a year whose
    -- consent is withdrawn go, as the refresh removes the rows behind them.
    DELETE FROM @extschema@.alert AS a
    USING @extschema@.consent_latest AS cl, @extschema@.academic_year AS y
    WHERE a.kind IN ('score_drop', 'no_vle_7d') AND NOT cl.granted
      AND y.label = cl.academic_year AND a.fired_on BETWEEN y.starts AND y.ends
      AND cl.student_id = a.student_id;

    -- What holds now is compared with what is open (on keys a hash join
    -- can match: coalesce, not IS NOT DISTINCT FROM): open alerts whose
    -- condition is gone clear, new conditions fire, and each change is
    -- announced by id only (anyone connected may LISTEN).  Each kind is
    -- read in one statement.  Only the refresh writes alerts, one run at a
    -- time, so the steps after the first see the alerts as it left them.
    -- (Each step is a statement a Citus cluster can run.)
    IF pg_catalog.to_regclass('pg_temp.engage_alert_holding') IS NOT NULL THEN
        DROP TABLE pg_temp.engage_alert_holding;
    END IF;
    CREATE TEMP TABLE engage_alert_holding ON COMMIT DROP AS
    WITH consenting AS (
        SELECT cl.student_id FROM @extschema@.consent_latest AS cl
        JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
        WHERE cl.granted AND as_of BETWEEN y.starts AND y.ends
    ), holding AS (
        -- engagement, from the stored figures, of students whose consent is
        -- in force (the refresh may not have purged a withdrawal yet)
        SELECT d.student_id, 'score_drop' AS kind, NULL::text AS module_code,
               pg_catalog.jsonb_build_object('score', d.score, 'mean_4wk', w.mean_4wk) AS detail
        FROM @extschema@.daily_engagement AS d
        JOIN (SELECT p.student_id, @extschema@.stable_avg(p.score) AS mean_4wk FROM @extschema@.daily_engagement AS p
              WHERE p.module_code IS NULL AND p.day BETWEEN as_of - 28 AND as_of - 1
              GROUP BY p.student_id) AS w ON w.student_id = d.student_id
        WHERE d.module_code IS NULL AND d.day = as_of
          AND d.student_id IN (SELECT c.student_id FROM consenting AS c)
          AND w.mean_4wk >= score_floor AND d.score < drop_ratio * w.mean_4wk
        UNION ALL
        SELECT d.student_id, 'no_vle_7d', NULL, pg_catalog.jsonb_build_object('ele_minutes_7d', d.ele_minutes_7d)
        FROM @extschema@.daily_engagement AS d
        WHERE d.module_code IS NULL AND d.day = as_of AND d.ele_minutes_7d = 0
          AND d.student_id IN (SELECT c.student_id FROM consenting AS c)
        UNION ALL
        -- attendance this academic year up to yesterday, authorised absences aside
        SELECT r.student_id, 'attendance_falling', NULL,
               pg_catalog.jsonb_build_object('rate_4wk', r.rate_4wk, 'rate_before', r.rate_before)
        FROM (
            SELECT a.student_id,
                   round(100.0 * count(*) FILTER (WHERE a.recent AND a.status = 'present')
                         / nullif(count(*) FILTER (WHERE a.recent), 0), 1) AS rate_4wk,
                   round(100.0 * count(*) FILTER (WHERE NOT a.recent AND a.status = 'present')
                         / nullif(count(*) FILTER (WHERE NOT a.recent), 0), 1) AS rate_before,
                   count(*) FILTER (WHERE a.recent) AS n_recent,
                   count(*) FILTER (WHERE NOT a.recent) AS n_before
            FROM (SELECT at.student_id, at.status,
                         at.starts_at >= @extschema@.local_midnight(as_of - 27) AS recent
                  FROM @extschema@.attendance AS at
                  WHERE at.starts_at >= year_from AND at.starts_at < midnight
                    AND at.status <> 'authorised_absence') AS a
            GROUP BY a.student_id
        ) AS r
        WHERE r.n_recent >= min_sessions AND r.n_before >= min_sessions
          AND r.rate_4wk <= r.rate_before - attendance_drop
        UNION ALL
        -- each student's last sessions, on a Citus cluster (below for one
        -- server): numbered per student, which the cluster runs on the
        -- worker that keeps the student (the students told apart byte by
        -- byte, which sorts the year's sessions faster)
        SELECT l.student_id, 'absence_run', NULL, pg_catalog.jsonb_build_object('sessions', count(*))
        FROM (SELECT at.student_id, at.status,
                     pg_catalog.row_number() OVER (PARTITION BY at.student_id COLLATE "C"
                                                   ORDER BY at.starts_at DESC, at.session_id DESC) AS k
              FROM @extschema@.attendance AS at
              WHERE on_cluster
                AND at.starts_at >= year_from AND at.starts_at < midnight
                AND at.status <> 'authorised_absence') AS l
        WHERE l.k <= absence_run
        GROUP BY l.student_id
        HAVING count(*) = absence_run AND bool_and(l.status = 'absent')
        UNION ALL
        -- a module whose latest mark this academic year is a fail: the first
        -- fail fires, later fails keep it open, a pass clears it
        SELECT k.student_id, 'failed_mark', k.module_code,
               pg_catalog.jsonb_build_object('assessment', k.assessment, 'mark', k.mark)
        FROM (SELECT DISTINCT ON (m.student_id, m.module_code) m.student_id, m.module_code, m.assessment, m.mark
              FROM @extschema@.assessment_mark AS m
              WHERE m.recorded_at >= year_from AND m.recorded_at < midnight
              ORDER BY m.student_id, m.module_code, m.recorded_at DESC, m.assessment) AS k
        WHERE k.mark < fail_mark
    )
    SELECT h.student_id, h.kind, h.module_code, h.detail FROM holding AS h;
    -- On one server, each student's last sessions are read through the
    -- index on (student_id, starts_at): the cost of a night does not grow
    -- with the sessions of the year, which the cluster's form sorts.
    -- (Citus refuses the lateral join from the reference table of students.)
    IF NOT on_cluster THEN
        INSERT INTO pg_temp.engage_alert_holding (student_id, kind, module_code, detail)
        SELECT st.student_id, 'absence_run', NULL, pg_catalog.jsonb_build_object('sessions', l.n)
        FROM @extschema@.student AS st
        CROSS JOIN LATERAL (
            SELECT count(*) AS n, bool_and(k.status = 'absent') AS absent
            FROM (SELECT at.status FROM @extschema@.attendance AS at
                  WHERE at.student_id = st.student_id
                    AND at.starts_at >= year_from AND at.starts_at < midnight
                    AND at.status <> 'authorised_absence'
                  ORDER BY at.starts_at DESC, at.session_id DESC
                  LIMIT absence_run) AS k
        ) AS l
        WHERE l.n = absence_run AND l.absent;
    END IF;

    FOR changed IN
        UPDATE @extschema@.alert AS a SET cleared_at = pg_catalog.statement_timestamp()
        WHERE a.cleared_at IS NULL
          AND a.alert_id = ANY (ARRAY(
              SELECT o.alert_id FROM @extschema@.alert AS o
              LEFT JOIN pg_temp.engage_alert_holding AS h
                ON h.student_id = o.student_id AND h.kind = o.kind
               AND coalesce(h.module_code, '') = coalesce(o.module_code, '')
              WHERE o.cleared_at IS NULL AND h.student_id IS NULL))
        RETURNING a.alert_id
    LOOP
        PERFORM pg_catalog.pg_notify('engage_alert',
                    pg_catalog.jsonb_build_object('alert_id', changed, 'change', 'cleared')::text);
    END LOOP;

    IF pg_catalog.to_regclass('pg_temp.engage_alert_new') IS NOT NULL THEN
        DROP TABLE pg_temp.engage_alert_new;
    END IF;
    CREATE TEMP TABLE engage_alert_new ON COMMIT DROP AS
    SELECT h.student_id, h.kind, h.module_code, h.detail
    FROM pg_temp.engage_alert_holding AS h
    LEFT JOIN @extschema@.alert AS o
      ON o.cleared_at IS NULL AND o.student_id = h.student_id AND o.kind = h.kind
     AND coalesce(o.module_code, '') = coalesce(h.module_code, '')
    WHERE o.alert_id IS NULL;
    FOR changed IN
        INSERT INTO @extschema@.alert AS a (student_id, kind, module_code, fired_on, fired_at, detail)
        SELECT n.student_id, n.kind, n.module_code, as_of, pg_catalog.statement_timestamp(), n.detail
        FROM pg_temp.engage_alert_new AS n
        RETURNING a.alert_id
    LOOP
        PERFORM pg_catalog.pg_notify('engage_alert',
                    pg_catalog.jsonb_build_object('alert_id', changed, 'change', 'fired')::text);
    END LOOP;
END
$$;
COMMENT ON PROCEDURE @extschema@.refresh_alerts() IS
'Called by engage.refresh at its end: fires the alerts whose condition holds as of yesterday (thresholds in the engage.alert_* settings), clears the open ones whose condition no longer holds, removes the engagement alerts of withdrawn consent, and sends {"alert_id": ..., "change": "fired" | "cleared"} on channel engage_alert for each change.';

CREATE VIEW @extschema@.dashboard_alerts
WITH (security_invoker = true) AS
SELECT a.alert_id, a.student_id, a.kind,
       CASE a.kind WHEN 'score_drop' THEN 'Engagement score dropped'
                   WHEN 'no_vle_7d' THEN 'No VLE activity for 7 days'
                   WHEN 'attendance_falling' THEN 'Attendance falling'
                   WHEN 'absence_run' THEN 'Unauthorised absences in a row'
                   WHEN 'failed_mark' THEN 'Failed mark' END AS title,
       a.module_code, m.title AS module_title, a.detail, a.fired_on, a.fired_at, a.cleared_at,
       a.cleared_at IS NULL AS open
FROM @extschema@.alert AS a
LEFT JOIN @extschema@.module AS m ON m.module_code = a.module_code;

COMMENT ON VIEW @extschema@.dashboard_alerts IS
'The alerts tab: the alert history of students the viewer may see, each under the rule of the data behind it (engagement alerts with consent, failed marks as the grades tab, attendance alerts always).';
COMMENT ON COLUMN @extschema@.dashboard_alerts.alert_id IS 'The alert.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.student_id IS 'The student.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.kind IS 'score_drop, no_vle_7d, attendance_falling, absence_run or failed_mark.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.title IS 'What fired, in words.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.module_code IS 'Module of a failed mark.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.module_title IS 'Title of that module.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.detail IS 'The figures that met the condition.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.fired_on IS 'The day whose figures first met the condition.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.fired_at IS 'When the alert fired.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.cleared_at IS 'When it cleared; NULL while open.';
COMMENT ON COLUMN @extschema@.dashboard_alerts.open IS 'Whether the condition still held at the last run.';

-- One call per dashboard.  The caller's rights throughout: only the views
-- are read, so that nothing the views hide can appear.
CREATE FUNCTION @extschema@.dashboard(student_id text)
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL: Citus plans no parameter of an SQL function)
    RETURN (
    SELECT pg_catalog.jsonb_build_object(
        'student', pg_catalog.to_jsonb(ms),
        'exam_period', @extschema@.in_exam_period(),
        'grades', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(g) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY g.recorded_at, g.module_code, g.assessment)
            FROM @extschema@.dashboard_grades AS g WHERE g.student_id = dashboard.student_id), '[]'),
        'attendance', pg_catalog.jsonb_build_object(
            'modules', coalesce((
                SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(am) ORDER BY am.module_code)
                FROM (SELECT DISTINCT a.module_code, a.module_title, a.module_sessions, a.module_present,
                             a.module_authorised, a.module_absent, a.module_rate
                      FROM @extschema@.dashboard_attendance AS a WHERE a.student_id = dashboard.student_id) AS am), '[]'),
            'sessions', coalesce((
                SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                           'starts_at', a.starts_at, 'module_code', a.module_code, 'session_type', a.session_type,
                           'status', a.status, 'counts_against', a.counts_against)
                       ORDER BY a.starts_at DESC, a.session_id)
                FROM @extschema@.dashboard_attendance AS a
                WHERE a.student_id = dashboard.student_id
                  AND a.starts_at >= @extschema@.local_midnight(@extschema@.today() - 56)), '[]')),
        'engagement', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                       'module_code', e.module_code, 'module_title', e.module_title, 'days', e.days)
                   ORDER BY e.module_code NULLS FIRST)
            FROM (SELECT d.module_code, d.module_title,
                         pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                             'day', d.day, 'score', d.score, 'ele_minutes', d.ele_minutes,
                             'app_choices', d.app_choices, 'career_events', d.career_events,
                             'ele_minutes_7d', d.ele_minutes_7d, 'app_choices_7d', d.app_choices_7d,
                             'career_events_7d', d.career_events_7d) ORDER BY d.day) AS days
                  FROM @extschema@.dashboard_engagement AS d
                  WHERE d.student_id = dashboard.student_id AND d.day >= @extschema@.today() - 56
                  GROUP BY d.module_code, d.module_title) AS e), '[]'),
        'employability', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(p) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY p.academic_year DESC)
            FROM @extschema@.dashboard_employability AS p WHERE p.student_id = dashboard.student_id), '[]'),
        'meetings', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(n) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY n.met_on DESC, n.note_id DESC)
            FROM @extschema@.dashboard_meetings AS n WHERE n.student_id = dashboard.student_id), '[]'),
        'alerts', coalesce((
            SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(a) OPERATOR(pg_catalog.-) 'student_id'
                                        ORDER BY a.open DESC, a.fired_at DESC, a.alert_id DESC)
            FROM @extschema@.dashboard_alerts AS a WHERE a.student_id = dashboard.student_id), '[]'))
    FROM @extschema@.my_students AS ms
    WHERE ms.student_id = dashboard.student_id);
END
$$;
COMMENT ON FUNCTION @extschema@.dashboard(text) IS
'Every tab of one student''s dashboard as one JSON object (student, exam_period, grades, attendance, engagement for the last 56 days, employability, meetings, alerts), read from the views with the caller''s rights; NULL for a student the viewer may not see.';

CREATE FUNCTION @extschema@.my_students_json()
RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (PL/pgSQL, as engage.dashboard)
    RETURN (
    SELECT coalesce(pg_catalog.jsonb_agg(
               pg_catalog.to_jsonb(ms) OPERATOR(pg_catalog.||)
               pg_catalog.jsonb_build_object('open_alerts', coalesce(oa.kinds, '[]'))
               ORDER BY ms.full_name, ms.student_id), '[]')
    FROM @extschema@.my_students AS ms
    LEFT JOIN (SELECT a.student_id, pg_catalog.jsonb_agg(a.kind ORDER BY a.fired_at, a.alert_id) AS kinds
               FROM @extschema@.dashboard_alerts AS a WHERE a.open
               GROUP BY a.student_id) AS oa ON oa.student_id = ms.student_id);
END
$$;
COMMENT ON FUNCTION @extschema@.my_students_json() IS
'The tutee list as one JSON array: the rows of engage.my_students by name, each with open_alerts, the kinds of its open alerts the viewer may see; read with the caller''s rights.';

-- Who may call and read what.  engage.programme_position and engage.mark_class,
-- defined with engage.my_students, are granted with the other functions that
-- run with the owner's rights and with the computation (95_grants.sql).
REVOKE ALL ON @extschema@.alert, @extschema@.dashboard_alerts FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.dashboard(text), @extschema@.my_students_json() FROM PUBLIC;
REVOKE ALL ON PROCEDURE @extschema@.refresh_alerts() FROM PUBLIC;
GRANT SELECT ON @extschema@.alert, @extschema@.dashboard_alerts TO engage_app, engage_tutor, engage_student;
GRANT EXECUTE ON FUNCTION @extschema@.dashboard(text), @extschema@.my_students_json()
    TO engage_app, engage_tutor, engage_student;
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.alert TO engage_loader;
GRANT EXECUTE ON PROCEDURE @extschema@.refresh_alerts() TO engage_loader;
