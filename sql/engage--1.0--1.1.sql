-- engage 1.0 to 1.1: ALTER EXTENSION engage UPDATE TO '1.1'.
--
-- Every change to the schema in 1.1 is made twice: in sql/install/ (a fresh
-- install) and here (an upgrade); test/t/upgrade.t proves the two give the
-- same catalog.
\echo Use "ALTER EXTENSION engage UPDATE TO '1.1'" to load this file. \quit

-- Objects that are members of the extension are replaced in place with
-- CREATE OR REPLACE, which keeps their grants and comments; PostgreSQL
-- refuses it for an object the extension does not own.

-- The owner's-rights functions and views run as engage_owner, not as the
-- superuser who installed engage ----------------------------------------------
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'engage_owner') THEN
        CREATE ROLE engage_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT BYPASSRLS;
    END IF;
END
$$;

-- Consent: only the database numbers a decision and says who recorded it ------
-- The decision in force is the one with the highest consent_id, so only the
-- database may number a decision: a loader who chose the number (OVERRIDING
-- SYSTEM VALUE) could pin consent for good, or make later set_consent calls
-- fail on a taken number.  Nor may a loader say who recorded it.  Rows
-- written by the extension's own functions (set_consent, as engage_owner),
-- or by a superuser restoring a dump, keep theirs.
CREATE FUNCTION @extschema@.stamp_consent()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT pg_catalog.pg_has_role(current_user, 'engage_owner', 'MEMBER') THEN
        NEW.consent_id := pg_catalog.nextval('@extschema@.consent_consent_id_seq');
        NEW.recorded_by := session_user;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.stamp_consent() IS
'Trigger function: numbers every consent decision that a loader records from the sequence, whatever number it gave, and records the loader''s login as recorded_by.';

CREATE TRIGGER consent_stamp
    BEFORE INSERT ON @extschema@.consent
    FOR EACH ROW EXECUTE FUNCTION @extschema@.stamp_consent();
REVOKE ALL ON FUNCTION @extschema@.stamp_consent() FROM PUBLIC;
-- engage.stamp_consent numbers a loader's consent rows from the sequence
GRANT USAGE ON SEQUENCE @extschema@.consent_consent_id_seq TO engage_loader;

-- Notes: administrators find notes through an index that has no text; an
-- administrator who also tutors reads only their tutees' notes --------------
DROP POLICY admin_read ON @extschema@.meeting_note;
REVOKE SELECT (note_id, student_id, author_id, met_on, focus, recorded_at) ON @extschema@.meeting_note FROM engage_admin;
-- Which notes exist, for administrators to find the one they are asked to
-- remove: never what a note says.  The view reads with its owner's rights, so
-- that no policy on meeting_note opens rows to administrators (one would open
-- the text too to an administrator who also tutors).
CREATE VIEW @extschema@.meeting_note_index
WITH (security_barrier = true) AS
SELECT n.note_id, n.student_id, n.author_id, n.met_on, n.focus, n.recorded_at
FROM @extschema@.meeting_note AS n;
COMMENT ON VIEW @extschema@.meeting_note_index IS
'For administrators: every meeting note''s id, student, author, day and focus, without its text.';
COMMENT ON COLUMN @extschema@.meeting_note_index.note_id IS 'The note.';
COMMENT ON COLUMN @extschema@.meeting_note_index.student_id IS 'The tutee the meeting was with.';
COMMENT ON COLUMN @extschema@.meeting_note_index.author_id IS 'staff_id or student_id of the author.';
COMMENT ON COLUMN @extschema@.meeting_note_index.met_on IS 'Day of the meeting.';
COMMENT ON COLUMN @extschema@.meeting_note_index.focus IS 'routine or issue.';
COMMENT ON COLUMN @extschema@.meeting_note_index.recorded_at IS 'When the note was recorded.';
REVOKE ALL ON @extschema@.meeting_note_index FROM PUBLIC;
GRANT SELECT ON @extschema@.meeting_note_index TO engage_admin;

-- Notes have a size and a rate limit
CREATE INDEX ON @extschema@.meeting_note (author_id, recorded_at);
CREATE OR REPLACE FUNCTION @extschema@.record_meeting_note(student_id text, met_on date, focus text,
                                                discussed text, actions jsonb, summary text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v text := @extschema@.require_student_or_tutor(student_id);
    a jsonb;
    id bigint;
BEGIN
    IF met_on IS NULL OR met_on > @extschema@.today() OR met_on < @extschema@.today() - 366 THEN
        RAISE EXCEPTION 'met_on must be a day within the last year'
            USING ERRCODE = '22023', DETAIL = format('met_on was %s.', coalesce(met_on::text, 'NULL'));
    END IF;
    IF btrim(coalesce(focus, '')) = '' THEN
        RAISE EXCEPTION 'focus must be routine or name the issue'
            USING ERRCODE = '22023', HINT = 'For example ''routine'' or ''wellbeing''.';
    END IF;
    IF btrim(coalesce(discussed, '')) = '' OR btrim(coalesce(summary, '')) = '' THEN
        RAISE EXCEPTION 'discussed and summary must not be empty' USING ERRCODE = '22023';
    END IF;
    -- a note is a record in general terms, not a document store
    IF length(btrim(focus)) > 200 OR length(discussed) > 20000 OR length(summary) > 5000 THEN
        RAISE EXCEPTION 'meeting note too long'
            USING ERRCODE = '22001',
                  DETAIL = format('focus has %s characters (at most 200), discussed %s (at most 20000), summary %s (at most 5000).',
                                  length(btrim(focus)), length(discussed), length(summary)),
                  HINT = 'Record what was discussed in general terms; keep documents elsewhere.';
    END IF;
    actions := coalesce(actions, '[]');
    IF jsonb_typeof(actions) <> 'array' THEN
        RAISE EXCEPTION 'actions must be a JSON array' USING ERRCODE = '22023',
            HINT = 'For example [{"action": "Book a study-skills session", "by": "student"}].';
    END IF;
    IF jsonb_array_length(actions) > 50 THEN
        RAISE EXCEPTION 'a meeting note has at most 50 actions' USING ERRCODE = '22001',
            DETAIL = format('%s actions were given.', jsonb_array_length(actions));
    END IF;
    FOR a IN SELECT * FROM jsonb_array_elements(actions) LOOP
        IF jsonb_typeof(a) <> 'object' OR btrim(coalesce(a ->> 'action', '')) = ''
           OR btrim(coalesce(a ->> 'by', '')) = '' THEN
            RAISE EXCEPTION 'every action needs an "action" and who does it ("by")'
                USING ERRCODE = '22023', DETAIL = format('Offending element: %s.', left(a::text, 200)),
                      HINT = 'For example {"action": "Refer to wellbeing services", "by": "tutor"}.';
        END IF;
        IF length(a::text) > 2000 THEN
            RAISE EXCEPTION 'an action has at most 2000 characters' USING ERRCODE = '22001',
                DETAIL = format('Offending element begins: %s', left(a::text, 200));
        END IF;
    END LOOP;
    -- a runaway client (or a hostile one) cannot flood a student's record
    IF (SELECT count(*) FROM @extschema@.meeting_note AS n
        WHERE n.author_id = v AND n.recorded_at > clock_timestamp() - interval '1 hour') >= 60 THEN
        RAISE EXCEPTION 'too many meeting notes: at most 60 an hour by one author'
            USING ERRCODE = '54000', DETAIL = format('Author %s has recorded 60 notes in the last hour.', v),
                  HINT = 'Try again later.';
    END IF;

    INSERT INTO @extschema@.meeting_note AS n
        (student_id, author_id, met_on, focus, issue, discussed, actions, summary, recorded_at)
    VALUES (record_meeting_note.student_id, v, record_meeting_note.met_on,
            CASE WHEN lower(btrim(focus)) = 'routine' THEN 'routine' ELSE 'issue' END,
            CASE WHEN lower(btrim(focus)) = 'routine' THEN NULL ELSE btrim(focus) END,
            record_meeting_note.discussed, actions, record_meeting_note.summary, clock_timestamp())
    RETURNING n.note_id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_meeting_note(text, date, text, text, jsonb, text) IS
'Records a meeting note about a student, written by the viewer, who must be the student or their current tutor. focus is routine or names the issue (at most 200 characters); discussed at most 20000 characters, summary at most 5000; actions is a JSON array of at most 50 {"action", "by"}. At most 60 notes an hour by one author. Returns the note id. Notes are append-only.';

-- The tutee list shows the viewer's students, even to an administrator ------
CREATE OR REPLACE VIEW @extschema@.my_students
WITH (security_invoker = true) AS
WITH today AS (
    SELECT @extschema@.today() AS day,
           (SELECT y.starts FROM @extschema@.academic_year AS y
            WHERE @extschema@.today() BETWEEN y.starts AND y.ends) AS year_starts,
           (SELECT @extschema@.visible_students()) AS visible,
           (SELECT @extschema@.consenting_students()) AS consenting
)
SELECT s.student_id,
       s.full_name,
       s.college,
       s.programme,
       s.year_of_study,
       s.student_id = ANY (t.consenting) AS consent,
       att.rate_year AS attendance_rate,
       att.rate_4wk AS attendance_rate_4wk,
       eng.day AS score_day,
       eng.score,
       eng.score - eng.score_4wk_ago AS score_change_4wk,
       (SELECT max(n.met_on) FROM @extschema@.meeting_note AS n
        WHERE n.student_id = s.student_id) AS last_meeting,
       CASE WHEN s.student_id = ANY (t.consenting)
            THEN coalesce(eng.score < 0.5 * eng.mean_4wk, false) END AS flag_score_drop,
       CASE WHEN s.student_id = ANY (t.consenting)
            THEN coalesce(eng.ele_minutes_7d = 0, false) END AS flag_no_vle_7d,
       coalesce(att.last_three_absent, false) AS flag_absences
FROM @extschema@.student AS s
CROSS JOIN today AS t
LEFT JOIN LATERAL (
    SELECT round(100.0 * count(*) FILTER (WHERE a.status = 'present')
                 / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'), 0), 1) AS rate_year,
           round(100.0 * count(*) FILTER (WHERE a.status = 'present' AND a.starts_at >= t.day - 28)
                 / nullif(count(*) FILTER (WHERE a.status <> 'authorised_absence'
                                             AND a.starts_at >= t.day - 28), 0), 1) AS rate_4wk,
           (SELECT count(*) = 3 AND bool_and(r.status = 'absent')
            FROM (SELECT a3.status FROM @extschema@.attendance AS a3
                  WHERE a3.student_id = s.student_id AND a3.starts_at < pg_catalog.statement_timestamp()
                    AND a3.status <> 'authorised_absence'
                  ORDER BY a3.starts_at DESC LIMIT 3) AS r) AS last_three_absent
    FROM @extschema@.attendance AS a
    WHERE a.student_id = s.student_id
      AND a.starts_at >= t.year_starts AND a.starts_at < pg_catalog.statement_timestamp()
) AS att ON true
LEFT JOIN LATERAL (
    SELECT d.day, d.score,
           (SELECT p.score FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = s.student_id AND p.module_code IS NULL AND p.day = d.day - 28) AS score_4wk_ago,
           (SELECT avg(p.score) FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = s.student_id AND p.module_code IS NULL
              AND p.day BETWEEN d.day - 28 AND d.day - 1) AS mean_4wk,
           (SELECT sum(p.ele_minutes) FROM @extschema@.daily_engagement AS p
            WHERE p.student_id = s.student_id AND p.module_code IS NULL
              AND p.day BETWEEN d.day - 6 AND d.day) AS ele_minutes_7d
    FROM @extschema@.daily_engagement AS d
    WHERE d.student_id = s.student_id AND d.module_code IS NULL AND d.day < t.day
    ORDER BY d.day DESC LIMIT 1
) AS eng ON true
WHERE s.student_id = ANY (t.visible);

-- The refresh publishes no cohort group that differs from another by 1 to 4
-- students --------------------------------------------------------------------
CREATE OR REPLACE PROCEDURE @extschema@.refresh(from_day date DEFAULT NULL, to_day date DEFAULT NULL)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
-- Grouping the page views by student through a sort keeps one student's
-- views in memory at a time; a hash aggregate would hold a whole chunk's.
SET enable_hashagg = off
-- Every join here is between large sets on equal keys, where the planner's
-- row estimates for the series are blind: a nested loop is never right.
SET enable_nestloop = off
-- Page views are partitioned by student: each partition is grouped on its
-- own, in smaller sorts, and in parallel where workers are available.
SET enable_partitionwise_aggregate = on
-- Disabled plan nodes inflate cost estimates past the JIT thresholds; the
-- plans are simple scans, joins and C aggregates that JIT cannot speed up.
SET jit = off
AS $$
DECLARE
    s           record := @extschema@.settings();
    started     timestamptz := pg_catalog.clock_timestamp();
    chunk_from  date;
    chunk_to    date;
    lo_ts       timestamptz;
    hi_ts       timestamptz;
    n           bigint;
    written     bigint := 0;
    purged      bigint := 0;
    n_students  integer;
    missing     record;
    weeks       date[];
BEGIN
    from_day := coalesce(from_day, @extschema@.today() - 1);
    to_day := coalesce(to_day, @extschema@.today() - 1);
    IF from_day > to_day THEN
        RAISE EXCEPTION 'from_day must not be after to_day'
            USING ERRCODE = '22023',
                  DETAIL = format('from_day was %s and to_day was %s.',
                                  to_char(from_day, 'YYYY-MM-DD'), to_char(to_day, 'YYYY-MM-DD'));
    END IF;
    IF from_day = '-infinity' OR to_day = 'infinity' OR to_day - from_day >= 36600 THEN
        RAISE EXCEPTION 'engage.refresh covers at most 36600 days'
            USING ERRCODE = '54000',
                  DETAIL = format('from_day was %s and to_day was %s.',
                                  to_char(from_day, 'YYYY-MM-DD'), to_char(to_day, 'YYYY-MM-DD'));
    END IF;

    -- Readers keep reading; a second refresh waits for this one.
    LOCK TABLE @extschema@.daily_engagement IN EXCLUSIVE MODE;

    SELECT d::date AS day INTO missing
    FROM pg_catalog.generate_series(from_day, to_day, interval '1 day') AS d
    WHERE NOT EXISTS (SELECT FROM @extschema@.academic_year AS y
                      WHERE d::date BETWEEN y.starts AND y.ends)
    ORDER BY 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no academic year covers %', to_char(missing.day, 'YYYY-MM-DD')
            USING ERRCODE = '55000',
                  HINT = 'Add the academic year to engage.academic_year before refreshing its days.';
    END IF;

    SELECT st.college, cl.academic_year INTO missing
    FROM @extschema@.consent_latest AS cl
    JOIN @extschema@.student AS st ON st.student_id = cl.student_id
    JOIN @extschema@.academic_year AS y ON y.label = cl.academic_year
    WHERE cl.granted AND y.starts <= to_day AND y.ends >= from_day
      AND NOT EXISTS (SELECT FROM @extschema@.coefficients AS c
                      WHERE c.college = st.college AND c.academic_year = cl.academic_year)
    ORDER BY 1, 2 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'no coefficients for college % in academic year %',
                        missing.college, missing.academic_year
            USING ERRCODE = '55000',
                  HINT = 'Add a row to engage.coefficients for that college and year.';
    END IF;

    -- No profiling without consent: a withdrawal removes the whole year's
    -- rows, and the cohort weeks they counted in are computed again.
    WITH gone AS (
        DELETE FROM @extschema@.daily_engagement AS de
        USING @extschema@.consent_latest AS cl, @extschema@.academic_year AS y
        WHERE NOT cl.granted
          AND y.label = cl.academic_year
          AND de.student_id = cl.student_id
          AND de.day BETWEEN y.starts AND y.ends
        RETURNING de.day
    )
    SELECT count(*), coalesce(pg_catalog.array_agg(DISTINCT pg_catalog.date_trunc('week', gone.day)::date), '{}')
    INTO purged, weeks
    FROM gone;

    chunk_from := from_day;
    WHILE chunk_from <= to_day LOOP
        chunk_to := least(to_day, chunk_from + s.refresh_chunk_days - 1);
        -- the score of chunk_from looks back six days; a view just before
        -- midnight of chunk_to is credited up to the next view after it
        lo_ts := (chunk_from - 6)::timestamp AT TIME ZONE s.time_zone;
        hi_ts := (chunk_to + 1)::timestamp AT TIME ZONE s.time_zone;

        DELETE FROM @extschema@.daily_engagement AS de
        WHERE de.day BETWEEN chunk_from AND chunk_to;

        INSERT INTO @extschema@.daily_engagement
            (student_id, module_code, day, ele_minutes, app_choices, career_events, score)
        WITH year AS (
            SELECT y.label, y.starts, y.ends
            FROM @extschema@.academic_year AS y
            WHERE y.starts <= chunk_to AND y.ends >= chunk_from - 6
        ),
        -- each day from chunk_from - 6 on which a student consents, with the
        -- weights of that day's year
        consenting_day AS MATERIALIZED (
            SELECT cl.student_id, d::date AS day, cl.academic_year, cf.ele, cf.app, cf.events
            FROM @extschema@.consent_latest AS cl
            JOIN year AS y ON y.label = cl.academic_year
            JOIN @extschema@.student AS st ON st.student_id = cl.student_id
            JOIN @extschema@.coefficients AS cf
              ON cf.college = st.college AND cf.academic_year = cl.academic_year
            CROSS JOIN LATERAL pg_catalog.generate_series(greatest(y.starts, chunk_from - 6),
                                                          least(y.ends, chunk_to),
                                                          interval '1 day') AS d
            WHERE cl.granted
        ),
        ele AS MATERIALIZED (
            SELECT v.student_id, c.module_code, c.day, c.minutes
            FROM (SELECT ev.student_id,
                         @extschema@.ele_minutes(ev.ts, ev.module_code,
                                                 s.idle_gap, s.credit, s.time_zone) AS credits
                  FROM @extschema@.ele_event AS ev
                  WHERE ev.ts >= lo_ts AND ev.ts < hi_ts + s.idle_gap
                    AND ev.student_id IN (SELECT cd.student_id FROM consenting_day AS cd)
                  GROUP BY ev.student_id) AS v
            CROSS JOIN LATERAL pg_catalog.unnest(v.credits) AS c
            JOIN consenting_day AS cd ON cd.student_id = v.student_id AND cd.day = c.day
        ),
        -- the student's activity on each consenting day
        student_day AS MATERIALIZED (
            SELECT cd.student_id, cd.day, cd.academic_year, cd.ele, cd.app, cd.events,
                   e.minutes AS ele_minutes, a.n AS app_choices, k.n AS career_events
            FROM consenting_day AS cd
            -- summed in a fixed order: floating-point addition is not
            -- associative, and the same day must give the same bits
            -- whichever plan or range computed it
            LEFT JOIN (SELECT ele.student_id, ele.day,
                              sum(ele.minutes ORDER BY ele.module_code) AS minutes
                       FROM ele GROUP BY 1, 2) AS e
                   ON e.student_id = cd.student_id AND e.day = cd.day
            LEFT JOIN (SELECT ap.student_id, (ap.ts AT TIME ZONE s.time_zone)::date AS day,
                              count(*) AS n
                       FROM @extschema@.app_event AS ap
                       WHERE ap.ts >= lo_ts AND ap.ts < hi_ts
                       GROUP BY 1, 2) AS a
                   ON a.student_id = cd.student_id AND a.day = cd.day
            LEFT JOIN (SELECT ce.student_id, ce.event_day AS day, count(*) AS n
                       FROM @extschema@.career_event AS ce
                       WHERE ce.attended AND ce.event_day BETWEEN chunk_from - 6 AND chunk_to
                       GROUP BY 1, 2) AS k
                   ON k.student_id = cd.student_id AND k.day = cd.day
        ),
        module_key AS (
            SELECT DISTINCT en.student_id, en.module_code
            FROM @extschema@.enrolment AS en
            JOIN year AS y ON y.label = en.academic_year
            WHERE en.student_id IN (SELECT cd.student_id FROM consenting_day AS cd)
        ),
        -- one series per student overall (module NULL) and per module taken;
        -- app choices and career events belong to the student, so every
        -- series of a student carries them, and only ELE minutes differ
        series AS (
            SELECT sd.student_id, NULL::text AS module_code,
                   @extschema@.engagement_series(sd.day, sd.ele_minutes, sd.app_choices,
                                                 sd.career_events, chunk_from, chunk_to) AS days
            FROM student_day AS sd
            GROUP BY sd.student_id
            UNION ALL
            SELECT mk.student_id, mk.module_code,
                   @extschema@.engagement_series(sd.day, e.minutes, sd.app_choices,
                                                 sd.career_events, chunk_from, chunk_to)
            FROM module_key AS mk
            JOIN student_day AS sd ON sd.student_id = mk.student_id
            LEFT JOIN ele AS e
                   ON e.student_id = mk.student_id AND e.module_code = mk.module_code
                  AND e.day = sd.day
            GROUP BY mk.student_id, mk.module_code
        )
        SELECT x.student_id, x.module_code, d.day, d.ele_minutes, d.app_choices, d.career_events,
               @extschema@.score(d.ele_minutes_mean, d.app_choices_mean, d.career_events_mean,
                                 sd.ele, sd.app, sd.events)
        FROM series AS x
        CROSS JOIN LATERAL pg_catalog.unnest(x.days) AS d
        JOIN student_day AS sd ON sd.student_id = x.student_id AND sd.day = d.day
        WHERE x.module_code IS NULL
           OR EXISTS (SELECT FROM @extschema@.enrolment AS en
                      WHERE en.student_id = x.student_id AND en.module_code = x.module_code
                        AND en.academic_year = sd.academic_year);

        GET DIAGNOSTICS n = ROW_COUNT;
        written := written + n;
        chunk_from := chunk_to + 1;
    END LOOP;

    -- the cohort figures of every week the run touched: small groups left
    -- out, and groups that differ from another published group of their
    -- programme and week by only 1 to 4 students, whose figures would follow
    -- by difference
    weeks := weeks || ARRAY(SELECT d::date FROM pg_catalog.generate_series(
                                pg_catalog.date_trunc('week', from_day), to_day, interval '7 days') AS d);
    DELETE FROM @extschema@.cohort_week AS cw WHERE cw.week = ANY (weeks);
    INSERT INTO @extschema@.cohort_week
        (college, programme, module_code, week, students, mean_score, median_score, attendance_rate)
    WITH weekly AS (
        SELECT st.college, st.programme, d.module_code,
               pg_catalog.date_trunc('week', d.day)::date AS week,
               d.student_id, avg(d.score) AS score
        FROM @extschema@.daily_engagement AS d
        JOIN @extschema@.student AS st ON st.student_id = d.student_id
        JOIN @extschema@.academic_year AS y ON d.day BETWEEN y.starts AND y.ends
        JOIN @extschema@.consent_latest AS cl
          ON cl.student_id = d.student_id AND cl.academic_year = y.label AND cl.granted
        WHERE pg_catalog.date_trunc('week', d.day)::date = ANY (weeks)
        GROUP BY 1, 2, 3, 4, 5
    ), attendance AS (
        SELECT a.student_id, a.module_code, pg_catalog.date_trunc('week', a.starts_at AT TIME ZONE s.time_zone)::date AS week,
               count(*) FILTER (WHERE a.status = 'present') AS present,
               count(*) FILTER (WHERE a.status <> 'authorised_absence') AS counted
        FROM @extschema@.attendance AS a
        WHERE a.starts_at >= (SELECT min(w) FROM pg_catalog.unnest(weeks) AS w)::timestamp AT TIME ZONE s.time_zone
          AND a.starts_at < ((SELECT max(w) FROM pg_catalog.unnest(weeks) AS w) + 7)::timestamp AT TIME ZONE s.time_zone
        GROUP BY 1, 2, 3
    ), grouped AS (
        SELECT w.college, w.programme, w.module_code, w.week,
               count(*) AS students,
               avg(w.score) AS mean_score,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY w.score) AS median_score,
               round(100.0 * sum(a.present) / nullif(sum(a.counted), 0), 1) AS attendance_rate
        FROM weekly AS w
        LEFT JOIN (SELECT at.student_id, at.week, at.module_code, at.present, at.counted FROM attendance AS at
                   UNION ALL
                   SELECT at.student_id, at.week, NULL, sum(at.present), sum(at.counted)
                   FROM attendance AS at GROUP BY 1, 2) AS a
               ON a.student_id = w.student_id AND a.week = w.week
              AND coalesce(a.module_code, '') = coalesce(w.module_code, '')
        GROUP BY 1, 2, 3, 4
    ), published AS (
        SELECT g.* FROM grouped AS g WHERE g.students >= 5
    ),
    -- students two groups of a programme and week have in common
    shared AS (
        SELECT a.college, a.programme, a.week, a.module_code AS a_module, b.module_code AS b_module,
               count(*) AS students
        FROM weekly AS a
        JOIN weekly AS b
          ON b.college = a.college AND b.programme = a.programme AND b.week = a.week
         AND b.student_id = a.student_id AND b.module_code IS DISTINCT FROM a.module_code
        GROUP BY 1, 2, 3, 4, 5
    ),
    -- of two groups that differ by 1 to 4 students, the programme-wide group
    -- is kept, or else the larger one, or else the first by module code
    too_close AS (
        SELECT sh.college, sh.programme, sh.week, sh.a_module AS module_code
        FROM shared AS sh
        JOIN published AS a
          ON a.college = sh.college AND a.programme = sh.programme AND a.week = sh.week
         AND a.module_code IS NOT DISTINCT FROM sh.a_module
        JOIN published AS b
          ON b.college = sh.college AND b.programme = sh.programme AND b.week = sh.week
         AND b.module_code IS NOT DISTINCT FROM sh.b_module
        WHERE a.students + b.students - 2 * sh.students BETWEEN 1 AND 4
          AND sh.a_module IS NOT NULL
          AND (sh.b_module IS NULL OR b.students > a.students
               OR (b.students = a.students AND sh.b_module < sh.a_module))
    )
    SELECT p.college, p.programme, p.module_code, p.week, p.students,
           p.mean_score, p.median_score, p.attendance_rate
    FROM published AS p
    WHERE NOT EXISTS (SELECT FROM too_close AS t
                      WHERE t.college = p.college AND t.programme = p.programme AND t.week = p.week
                        AND t.module_code = p.module_code);

    SELECT count(DISTINCT de.student_id) INTO n_students
    FROM @extschema@.daily_engagement AS de
    WHERE de.day BETWEEN from_day AND to_day;

    INSERT INTO @extschema@.refresh_run
        (started_at, finished_at, from_day, to_day, days, students, rows_written, rows_purged)
    VALUES (started, pg_catalog.clock_timestamp(), from_day, to_day, to_day - from_day + 1,
            n_students, written, purged);
END
$$;

-- the owner's rights: engage_owner owns the functions and views that read
-- past the rules for the caller, and may touch only what they touch
ALTER FUNCTION @extschema@.viewer() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.visible_students() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.consenting_students() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.mark_students() OWNER TO engage_owner;
ALTER FUNCTION @extschema@.require_student_or_tutor(text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.record_meeting_note(text, date, text, text, jsonb, text) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.set_consent(text, boolean) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.remove_meeting_note(bigint, text) OWNER TO engage_owner;
ALTER VIEW @extschema@.cohort_engagement OWNER TO engage_owner;
ALTER VIEW @extschema@.meeting_note_index OWNER TO engage_owner;
GRANT USAGE ON SCHEMA @extschema@ TO engage_owner;
GRANT SELECT ON @extschema@.student, @extschema@.staff, @extschema@.tutoring, @extschema@.consent,
                @extschema@.consent_latest, @extschema@.academic_year, @extschema@.exam_period,
                @extschema@.meeting_note, @extschema@.cohort_week
    TO engage_owner;
GRANT INSERT ON @extschema@.consent, @extschema@.meeting_note, @extschema@.meeting_note_removal TO engage_owner;
GRANT DELETE ON @extschema@.meeting_note TO engage_owner;
GRANT EXECUTE ON FUNCTION @extschema@.app_viewer(), @extschema@.session_is_app() TO engage_owner;
