-- Identity and access: roles, the viewer and the rules -------------------------
--
-- Who is asking (engage.viewer) and which students they may see
-- (engage.visible_students), with consent (engage.consenting_students) and
-- their marks (engage.mark_students).  Each feature's tables carry their
-- policies beside them, written over these functions as (SELECT f()), so that
-- each runs once per query as an InitPlan; the privileges are in
-- 95_grants.sql.
--
-- Group roles are cluster-wide: created if absent, never dropped with the
-- extension (other databases may use them).

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['engage_app', 'engage_tutor', 'engage_student',
                             'engage_admin', 'engage_analyst', 'engage_loader'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r) THEN
            EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
        END IF;
    END LOOP;
    -- The owner's-rights functions and views run as engage_owner rather than
    -- as the superuser who installed engage: nobody can log in as it or is a
    -- member of it, and it holds only the grants those functions need.  It
    -- reads past row-level security, as they must, by BYPASSRLS.
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'engage_owner') THEN
        CREATE ROLE engage_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT BYPASSRLS;
    END IF;
END
$$;

-- Student and staff ids share one namespace, and so do their login roles:
-- an id or login must name exactly one person.  The trigger's argument says
-- which table it guards (on a Citus node the table is a copy with another
-- name), and the other table is read where this node keeps it.
CREATE FUNCTION @extschema@.check_person_identity()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    is_student boolean := TG_ARGV[0] = 'student';
    id text := CASE WHEN is_student THEN to_jsonb(NEW) ->> 'student_id' ELSE to_jsonb(NEW) ->> 'staff_id' END;
    other regclass := @extschema@.here(CASE WHEN is_student THEN '@extschema@.staff' ELSE '@extschema@.student' END);
    taken boolean;
BEGIN
    IF TG_ARGV[0] IS DISTINCT FROM 'student' AND TG_ARGV[0] IS DISTINCT FROM 'staff' THEN
        RAISE EXCEPTION 'engage.check_person_identity guards student or staff, not %', coalesce(TG_ARGV[0], 'nothing')
            USING ERRCODE = '39P01';
    END IF;
    EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s AS o WHERE o.%I = $1)',
                              other, CASE WHEN is_student THEN 'staff_id' ELSE 'student_id' END)
        INTO taken USING id;
    IF taken THEN
        RAISE EXCEPTION 'id % is already a % id', id, CASE WHEN is_student THEN 'staff' ELSE 'student' END
            USING ERRCODE = '23505',
                  HINT = 'Student and staff ids must differ: the viewer is named by id alone.';
    END IF;
    IF NEW.login_role IS NOT NULL THEN
        EXECUTE pg_catalog.format('SELECT EXISTS (SELECT FROM %s AS o WHERE o.login_role = $1)', other)
            INTO taken USING NEW.login_role;
        IF taken THEN
            RAISE EXCEPTION 'login role % already belongs to %', NEW.login_role,
                            CASE WHEN is_student THEN 'a member of staff' ELSE 'a student' END
                USING ERRCODE = '23505';
        END IF;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.check_person_identity() IS
'Trigger function (argument: student or staff, the table it guards): keeps student and staff ids, and their login roles, distinct from each other.';

CREATE FUNCTION @extschema@.app_viewer()
RETURNS text
AS 'MODULE_PATHNAME', 'engage_app_viewer'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.app_viewer() IS
'The id set with SET LOCAL engage.viewer in this transaction, if the session''s login role is a member of engage_app; otherwise NULL.';

CREATE FUNCTION @extschema@.session_is_app()
RETURNS boolean
AS 'MODULE_PATHNAME', 'engage_session_is_app'
LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.session_is_app() IS
'Whether the session''s login role (not the current role) is a member of engage_app.';

-- The policies call these once per query, as (SELECT f()).  They read the
-- tables with the extension owner's rights, so that a policy on a table can
-- ask about rows the caller may not see.  PL/pgSQL keeps their plans for the
-- session; a SQL function would be planned again in every query.
CREATE FUNCTION @extschema@.viewer()
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT CASE WHEN @extschema@.session_is_app() THEN @extschema@.app_viewer()
                ELSE coalesce((SELECT s.student_id FROM @extschema@.student AS s
                               WHERE s.login_role = session_user),
                              (SELECT f.staff_id FROM @extschema@.staff AS f
                               WHERE f.login_role = session_user)) END);
END
$$;
COMMENT ON FUNCTION @extschema@.viewer() IS
'The student or staff id of whoever is asking: engage.viewer for the web front end (members of engage_app), otherwise the person whose login_role is the session''s login role. NULL for nobody.';

CREATE FUNCTION @extschema@.current_academic_year()
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT y.label FROM @extschema@.academic_year AS y
    WHERE @extschema@.today() BETWEEN y.starts AND y.ends);
END
$$;
COMMENT ON FUNCTION @extschema@.current_academic_year() IS
'The label of the academic year containing today (in engage.time_zone), or NULL.';

CREATE FUNCTION @extschema@.visible_students()
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- worked out first and passed in: on a Citus cluster a function called
    -- inside the query would run on the node that keeps the rows
    me    text := @extschema@.viewer();
    today date := @extschema@.today();
BEGIN
    RETURN (SELECT coalesce(pg_catalog.array_agg(DISTINCT x.student_id), '{}')
    FROM (SELECT s.student_id FROM @extschema@.student AS s WHERE s.student_id = me
          UNION ALL
          SELECT t.student_id FROM @extschema@.tutoring AS t
          WHERE t.tutor_id = me AND t.valid_from <= today
            AND (t.valid_to IS NULL OR t.valid_to > today)) AS x);
END
$$;
COMMENT ON FUNCTION @extschema@.visible_students() IS
'Students the viewer may see today: themself, and the tutees of a tutoring valid today.';

CREATE FUNCTION @extschema@.consenting_students()
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    visible text[] := @extschema@.visible_students();
    year    text := @extschema@.current_academic_year();
BEGIN
    RETURN (SELECT coalesce(pg_catalog.array_agg(cl.student_id), '{}')
    FROM @extschema@.consent_latest AS cl
    WHERE cl.student_id = ANY (visible) AND cl.academic_year = year AND cl.granted);
END
$$;
COMMENT ON FUNCTION @extschema@.consenting_students() IS
'Students the viewer may see whose consent to learning analytics is in force for the current academic year.';

CREATE FUNCTION @extschema@.in_exam_period()
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT EXISTS (SELECT FROM @extschema@.exam_period AS e
                   WHERE @extschema@.today() BETWEEN e.starts AND e.ends));
END
$$;
COMMENT ON FUNCTION @extschema@.in_exam_period() IS
'Whether today (in engage.time_zone) falls inside an exam period.';

CREATE FUNCTION @extschema@.mark_students()
RETURNS text[]
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT CASE WHEN @extschema@.in_exam_period() THEN '{}'::text[]
                ELSE @extschema@.consenting_students() END);
END
$$;
COMMENT ON FUNCTION @extschema@.mark_students() IS
'Students whose marks the viewer may see: consenting students, and nobody while an exam period is on.';
