-- Weights from the data: ordinal logistic regression --------------------------
--
-- engage.ordinal_fit fits the proportional-odds model of MASS::polr,
-- logit P(Y <= k) = zeta_k - x'beta, by maximum likelihood (src/ordinal.c);
-- docs/weights.md explains the method and how a fit becomes the weights.

CREATE TYPE @extschema@.ordinal_model AS (
    coefficients     double precision[],
    coefficient_se   double precision[],
    coefficient_z    double precision[],
    coefficient_p    double precision[],
    cut_points       double precision[],
    cut_point_se     double precision[],
    levels           integer[],
    level_weights    double precision[],
    log_likelihood   double precision,
    aic              double precision,
    n                bigint,
    total_weight     double precision,
    iterations       integer,
    converged        boolean,
    detail           text
);

COMMENT ON TYPE @extschema@.ordinal_model IS
'A proportional-odds model fitted by engage.ordinal_fit, logit P(Y <= k) = cut_points[k] - x''coefficients: the coefficients and cut-points with their standard errors (from the inverse observed information), the Wald z and two-sided p of each coefficient, the outcome levels seen and their total weights, the log-likelihood, AIC, the number of rows and their total weight, the Newton-Raphson iterations, whether it converged, and why not (detail; the standard errors are then NULL).';

-- Its array type is a member too, as engage.daily_profile's is: PostgreSQL 17
-- and later make it one along with the type; before 17 it is added here.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                   WHERE d.classid = 'pg_catalog.pg_type'::regclass
                     AND d.objid = '@extschema@._ordinal_model'::regtype
                     AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e') THEN
        ALTER EXTENSION engage ADD TYPE @extschema@._ordinal_model;
    END IF;
END
$$;
COMMENT ON TYPE @extschema@._ordinal_model IS 'Array of engage.ordinal_model.';

CREATE FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[])
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[]) IS
'Transition function of engage.ordinal_fit(integer, double precision[]): checks and keeps a row of weight 1.';

CREATE FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[], double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_trans(internal, integer, double precision[], double precision) IS
'Transition function of engage.ordinal_fit(integer, double precision[], double precision): checks and keeps a weighted row.';

CREATE FUNCTION @extschema@.ordinal_fit_final(internal)
RETURNS @extschema@.ordinal_model
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_final(internal) IS
'Final function of engage.ordinal_fit: sorts and merges the rows, then maximises the likelihood by Newton-Raphson.';

CREATE FUNCTION @extschema@.ordinal_fit_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_combine(internal, internal) IS
'Combine function of engage.ordinal_fit: joins the rows kept by two parallel workers; refuses rows with different numbers of predictors.';

CREATE FUNCTION @extschema@.ordinal_fit_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_serialize(internal) IS
'Serialize function of engage.ordinal_fit, for parallel aggregation.';

CREATE FUNCTION @extschema@.ordinal_fit_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ordinal_fit_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_fit_deserialize(bytea, internal) IS
'Deserialize function of engage.ordinal_fit, for parallel aggregation.';

-- The final function sorts and merges the kept rows in place, so the state
-- is not shared with another aggregate (FINALFUNC_MODIFY = READ_WRITE).
CREATE AGGREGATE @extschema@.ordinal_fit(outcome integer, predictors double precision[]) (
    SFUNC            = @extschema@.ordinal_fit_trans,
    STYPE            = internal,
    SSPACE           = 65536,
    FINALFUNC        = @extschema@.ordinal_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC      = @extschema@.ordinal_fit_combine,
    SERIALFUNC       = @extschema@.ordinal_fit_serialize,
    DESERIALFUNC     = @extschema@.ordinal_fit_deserialize,
    PARALLEL         = SAFE
);

COMMENT ON AGGREGATE @extschema@.ordinal_fit(integer, double precision[]) IS
'Fits the proportional-odds (cumulative logit) model of the ordinal outcome on the predictors, every row of weight 1; returns engage.ordinal_model, or NULL over no rows.';

CREATE AGGREGATE @extschema@.ordinal_fit(outcome integer, predictors double precision[], weight double precision) (
    SFUNC            = @extschema@.ordinal_fit_trans,
    STYPE            = internal,
    SSPACE           = 65536,
    FINALFUNC        = @extschema@.ordinal_fit_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC      = @extschema@.ordinal_fit_combine,
    SERIALFUNC       = @extschema@.ordinal_fit_serialize,
    DESERIALFUNC     = @extschema@.ordinal_fit_deserialize,
    PARALLEL         = SAFE
);

COMMENT ON AGGREGATE @extschema@.ordinal_fit(integer, double precision[], double precision) IS
'Fits the proportional-odds (cumulative logit) model of the ordinal outcome on the predictors with case weights (rows of weight 0 are left out); returns engage.ordinal_model, or NULL over no rows.';

CREATE FUNCTION @extschema@.ordinal_predict(model @extschema@.ordinal_model, predictors double precision[])
RETURNS double precision[]
AS 'MODULE_PATHNAME', 'engage_ordinal_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ordinal_predict(@extschema@.ordinal_model, double precision[]) IS
'The probability of each outcome level of a converged engage.ordinal_model (in the order of its levels) for one row of predictors.';

-- The weights of a college from its data ----------------------------------------
--
-- engage.fit_coefficients builds the training set of a college and year (one
-- row per student and module of its first-year programmes, students with
-- consent only), fits it with engage.ordinal_fit and stores the fit with its
-- provenance in engage.model_fit; engage.apply_fit writes a fit's weights
-- into engage.coefficients, whose triggers mark the days they change for the
-- nightly run.  Both run with the owner's rights: analysts may fit without
-- reading a student's row, and only the model leaves the database.

CREATE TABLE @extschema@.mark_band (
    band     integer PRIMARY KEY CONSTRAINT mark_band_positive CHECK (band >= 1),
    label    text NOT NULL UNIQUE CONSTRAINT mark_band_label_not_blank CHECK (btrim(label) <> ''),
    min_mark numeric(5,2) NOT NULL UNIQUE CONSTRAINT mark_band_min_mark_range CHECK (min_mark BETWEEN 0 AND 100)
);
COMMENT ON TABLE @extschema@.mark_band IS 'The ordered bands of a module mark that engage.fit_coefficients fits (for example fail, third, 2:2, 2:1, first): a mark is in the band with the highest min_mark not above it. Empty after CREATE EXTENSION; docs/weights.md gives the UK degree classes.';
COMMENT ON COLUMN @extschema@.mark_band.band IS 'Order of the band: higher is better. Must follow the order of min_mark.';
COMMENT ON COLUMN @extschema@.mark_band.label IS 'Name of the band, such as 2:1.';
COMMENT ON COLUMN @extschema@.mark_band.min_mark IS 'Lowest mark in the band; the lowest band starts at 0.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.mark_band', '');

CREATE TABLE @extschema@.model_fit (
    fit_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    college        text NOT NULL REFERENCES @extschema@.college,
    academic_year  text NOT NULL REFERENCES @extschema@.academic_year,
    programmes     text[] NOT NULL,
    from_day       date NOT NULL,
    to_day         date NOT NULL,
    bands          text[] NOT NULL,
    band_min_marks numeric[] NOT NULL,
    students       integer NOT NULL,
    model          @extschema@.ordinal_model NOT NULL,
    ele            double precision,
    app            double precision,
    events         double precision,
    fitted_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    fitted_by      text NOT NULL DEFAULT session_user,
    applied_at     timestamptz,
    applied_by     text,
    replaced       double precision[],
    CONSTRAINT model_fit_weights_when_converged
        CHECK (((model).converged AND ele IS NOT NULL AND app IS NOT NULL AND events IS NOT NULL)
               OR (NOT (model).converged AND ele IS NULL AND app IS NULL AND events IS NULL)),
    CONSTRAINT model_fit_applied_once CHECK ((applied_at IS NULL) = (applied_by IS NULL))
);
CREATE INDEX ON @extschema@.model_fit (college, academic_year);
COMMENT ON TABLE @extschema@.model_fit IS 'Fits of the engagement weights by engage.fit_coefficients, with their provenance and diagnostics, and whether and by whom each was applied to engage.coefficients (engage.apply_fit). Written only by those functions.';
COMMENT ON COLUMN @extschema@.model_fit.fit_id IS 'Identifier of the fit.';
COMMENT ON COLUMN @extschema@.model_fit.college IS 'The college fitted.';
COMMENT ON COLUMN @extschema@.model_fit.academic_year IS 'The academic year fitted.';
COMMENT ON COLUMN @extschema@.model_fit.programmes IS 'The first-year programmes whose students were fitted, sorted.';
COMMENT ON COLUMN @extschema@.model_fit.from_day IS 'First day of the period the predictors cover (the start of the academic year).';
COMMENT ON COLUMN @extschema@.model_fit.to_day IS 'Last day of that period: the end of the year, or yesterday while it runs.';
COMMENT ON COLUMN @extschema@.model_fit.bands IS 'Labels of the mark bands (engage.mark_band) at the time of the fit, in order: the outcome levels.';
COMMENT ON COLUMN @extschema@.model_fit.band_min_marks IS 'The lowest mark of each of those bands.';
COMMENT ON COLUMN @extschema@.model_fit.students IS 'Students in the training set.';
COMMENT ON COLUMN @extschema@.model_fit.model IS 'The fitted model (engage.ordinal_model): predictors ELE minutes a day on the module, app choices a day, careers events attended a week; n is the number of (student, module) rows.';
COMMENT ON COLUMN @extschema@.model_fit.ele IS 'The ELE weight the fit gives (the coefficient of ELE minutes a day); NULL when the fit did not converge.';
COMMENT ON COLUMN @extschema@.model_fit.app IS 'The app weight (the coefficient of app choices a day); NULL when the fit did not converge.';
COMMENT ON COLUMN @extschema@.model_fit.events IS 'The events weight: 7 times the coefficient of careers events a week, since the score counts them a day; NULL when the fit did not converge.';
COMMENT ON COLUMN @extschema@.model_fit.fitted_at IS 'When the fit was made.';
COMMENT ON COLUMN @extschema@.model_fit.fitted_by IS 'Login role that made the fit.';
COMMENT ON COLUMN @extschema@.model_fit.applied_at IS 'When an administrator applied the fit to engage.coefficients; NULL if never.';
COMMENT ON COLUMN @extschema@.model_fit.applied_by IS 'Login role of that administrator.';
COMMENT ON COLUMN @extschema@.model_fit.replaced IS 'The weights (ele, app, events) the fit replaced in engage.coefficients; NULL if there were none or it was never applied.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_fit', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_fit_fit_id_seq', '');
COMMENT ON SEQUENCE @extschema@.model_fit_fit_id_seq IS 'Numbers engage.model_fit rows.';

-- A fit on fewer students than this is refused: small numbers identify people.
CREATE FUNCTION @extschema@.fit_min_students()
RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
RETURN 50;
COMMENT ON FUNCTION @extschema@.fit_min_students() IS
'The fewest students engage.fit_coefficients fits (50): a fit on fewer is refused, since small numbers identify people.';

CREATE FUNCTION @extschema@.fit_coefficients(college text, academic_year text, programmes text[] DEFAULT NULL)
RETURNS @extschema@.model_fit
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    y          @extschema@.academic_year;
    last_day   date;
    ndays      double precision;
    progs      text[] := fit_coefficients.programmes;
    band_names text[];
    band_mins  numeric[];
    cohort_ids text[];
    cohort_programmes text[];
    m          @extschema@.ordinal_model;
    n_students integer;
    fitted     record;
    result     @extschema@.model_fit;
BEGIN
    IF NOT (pg_catalog.pg_has_role(session_user, 'engage_admin', 'MEMBER')
            OR pg_catalog.pg_has_role(session_user, 'engage_analyst', 'MEMBER')) THEN
        RAISE EXCEPTION 'only administrators and analysts may fit weights' USING ERRCODE = '42501';
    END IF;
    IF NOT EXISTS (SELECT FROM @extschema@.college AS c WHERE c.code = fit_coefficients.college) THEN
        RAISE EXCEPTION 'no college %', coalesce(fit_coefficients.college, 'NULL') USING ERRCODE = '22023';
    END IF;
    SELECT * INTO y FROM @extschema@.academic_year AS a WHERE a.label = fit_coefficients.academic_year;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no academic year %', coalesce(fit_coefficients.academic_year, 'NULL') USING ERRCODE = '22023';
    END IF;
    last_day := least(y.ends, @extschema@.today() - 1);
    IF last_day < y.starts THEN
        RAISE EXCEPTION 'academic year % has not begun', y.label USING ERRCODE = '22023';
    END IF;
    ndays := last_day - y.starts + 1;
    IF progs IS NOT NULL AND (pg_catalog.cardinality(progs) = 0 OR pg_catalog.array_position(progs, NULL) IS NOT NULL) THEN
        RAISE EXCEPTION 'programmes must be NULL (the college''s first-year programmes) or name at least one programme'
            USING ERRCODE = '22023';
    END IF;

    SELECT pg_catalog.array_agg(b.label ORDER BY b.band), pg_catalog.array_agg(b.min_mark ORDER BY b.band)
    INTO band_names, band_mins FROM @extschema@.mark_band AS b;
    IF band_names IS NULL OR pg_catalog.cardinality(band_names) < 2 THEN
        RAISE EXCEPTION 'engage.mark_band needs at least two bands'
            USING ERRCODE = '55000',
                  HINT = 'An administrator inserts them, for example the UK classes: INSERT INTO engage.mark_band VALUES '
                         '(1, ''fail'', 0), (2, ''third'', 40), (3, ''2:2'', 50), (4, ''2:1'', 60), (5, ''first'', 70).';
    END IF;
    IF band_mins[1] <> 0 OR EXISTS (SELECT FROM pg_catalog.generate_series(2, pg_catalog.cardinality(band_mins)) AS i
                                    WHERE band_mins[i] <= band_mins[i - 1]) THEN
        RAISE EXCEPTION 'the bands of engage.mark_band must start at mark 0 and rise with their order'
            USING ERRCODE = '55000';
    END IF;

    -- the college's first-year students with consent in force for the year:
    -- those in the college at some time in the year so far
    SELECT pg_catalog.array_agg(s.student_id ORDER BY s.student_id),
           pg_catalog.array_agg(DISTINCT s.programme ORDER BY s.programme)
    INTO cohort_ids, cohort_programmes
    FROM @extschema@.student AS s
    JOIN @extschema@.consent_latest AS cl ON cl.student_id = s.student_id AND cl.academic_year = y.label
    WHERE cl.granted AND s.year_of_study = 1
      AND EXISTS (SELECT FROM @extschema@.college_spans AS sc
                  WHERE sc.student_id = s.student_id AND sc.college = fit_coefficients.college
                    AND sc.valid_from <= last_day AND (sc.valid_to IS NULL OR sc.valid_to > y.starts));
    IF progs IS NULL THEN
        progs := coalesce(cohort_programmes, '{}');
    ELSE
        SELECT pg_catalog.array_agg(DISTINCT p ORDER BY p) INTO progs FROM pg_catalog.unnest(progs) AS p;
    END IF;

    -- one row per (student, module): the band of the mean mark, and the
    -- student's ELE minutes a day on the module, app choices a day and
    -- careers events a week over the year so far; fitted only when there
    -- are enough students
    WITH cohort AS (
        SELECT s.student_id
        FROM @extschema@.student AS s
        WHERE s.student_id = ANY (cohort_ids) AND s.programme = ANY (progs)
    ), marks AS (
        SELECT am.student_id, am.module_code, pg_catalog.avg(am.mark) AS mark
        FROM @extschema@.assessment_mark AS am
        JOIN cohort AS f ON f.student_id = am.student_id
        JOIN @extschema@.enrolment AS e
          ON e.student_id = am.student_id AND e.module_code = am.module_code AND e.academic_year = y.label
        WHERE am.recorded_at >= @extschema@.local_midnight(y.starts)
          AND am.recorded_at < @extschema@.local_midnight(y.ends + 1)
        GROUP BY am.student_id, am.module_code
    ), ele AS (
        SELECT v.student_id, c.module_code, pg_catalog.sum(c.minutes) AS minutes
        FROM (SELECT ev.student_id, @extschema@.ele_minutes(ev.ts, ev.module_code) AS credits
              FROM @extschema@.ele_event AS ev
              JOIN cohort AS f ON f.student_id = ev.student_id
              WHERE ev.ts >= @extschema@.local_midnight(y.starts) AND ev.ts < @extschema@.local_midnight(last_day + 1)
              GROUP BY ev.student_id) AS v,
             pg_catalog.unnest(v.credits) AS c
        WHERE c.day BETWEEN y.starts AND last_day
        GROUP BY v.student_id, c.module_code
    ), app AS (
        SELECT a.student_id, pg_catalog.count(*) AS choices
        FROM @extschema@.app_event AS a
        JOIN cohort AS f ON f.student_id = a.student_id
        WHERE a.ts >= @extschema@.local_midnight(y.starts) AND a.ts < @extschema@.local_midnight(last_day + 1)
        GROUP BY a.student_id
    ), careers AS (
        SELECT ce.student_id, pg_catalog.count(*) AS attended
        FROM @extschema@.career_event AS ce
        JOIN cohort AS f ON f.student_id = ce.student_id
        WHERE ce.attended AND ce.event_day BETWEEN y.starts AND last_day
        GROUP BY ce.student_id
    ), training AS MATERIALIZED (
        SELECT mk.student_id,
               (SELECT b.band FROM @extschema@.mark_band AS b
                WHERE b.min_mark <= mk.mark ORDER BY b.min_mark DESC LIMIT 1) AS band,
               ARRAY[coalesce(ele.minutes, 0) / ndays,
                     coalesce(app.choices, 0) / ndays,
                     coalesce(careers.attended, 0) * 7 / ndays] AS x
        FROM marks AS mk
        LEFT JOIN ele ON ele.student_id = mk.student_id AND ele.module_code = mk.module_code
        LEFT JOIN app ON app.student_id = mk.student_id
        LEFT JOIN careers ON careers.student_id = mk.student_id
    ), size AS (
        SELECT pg_catalog.count(DISTINCT t.student_id)::integer AS students FROM training AS t
    )
    SELECT sz.students,
           (SELECT @extschema@.ordinal_fit(t.band, t.x) FROM training AS t
            WHERE sz.students >= @extschema@.fit_min_students()) AS model
    INTO fitted
    FROM size AS sz;
    n_students := fitted.students;
    m := fitted.model;

    IF n_students < @extschema@.fit_min_students() THEN
        RAISE EXCEPTION 'a fit needs at least % students', @extschema@.fit_min_students()
            USING ERRCODE = '22023',
                  DETAIL = pg_catalog.format('%s first-year students of %s in %s have consent and marks.',
                                             n_students, fit_coefficients.college, y.label),
                  HINT = 'Small numbers identify people: fit more programmes, or a college with more students.';
    END IF;

    INSERT INTO @extschema@.model_fit
        (college, academic_year, programmes, from_day, to_day, bands, band_min_marks, students, model,
         ele, app, events)
    VALUES (fit_coefficients.college, y.label, progs, y.starts, last_day, band_names, band_mins, n_students, m,
            CASE WHEN m.converged THEN m.coefficients[1] END,
            CASE WHEN m.converged THEN m.coefficients[2] END,
            CASE WHEN m.converged THEN 7 * m.coefficients[3] END)
    RETURNING * INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.fit_coefficients(text, text, text[]) IS
'Fits the engagement weights of a college for an academic year: an ordinal logistic regression (engage.ordinal_fit) of the band (engage.mark_band) of each module''s mean mark on the student''s ELE minutes a day on the module, app choices a day and careers events attended a week, over the year so far, for the first-year students of the given programmes (default: all the college''s) with consent in force. Stores and returns the fit (engage.model_fit). Administrators and analysts only; refuses fewer than engage.fit_min_students() students.';


CREATE FUNCTION @extschema@.apply_fit(fit_id bigint)
RETURNS @extschema@.coefficients
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f      @extschema@.model_fit;
    old    @extschema@.coefficients;
    result @extschema@.coefficients;
BEGIN
    IF NOT pg_catalog.pg_has_role(session_user, 'engage_admin', 'MEMBER') THEN
        RAISE EXCEPTION 'only an administrator may apply a fit' USING ERRCODE = '42501';
    END IF;
    SELECT * INTO f FROM @extschema@.model_fit AS mf WHERE mf.fit_id = apply_fit.fit_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no fit %', coalesce(apply_fit.fit_id::text, 'NULL') USING ERRCODE = 'P0002';
    END IF;
    IF NOT (f.model).converged THEN
        RAISE EXCEPTION 'fit % did not converge and has no weights', f.fit_id
            USING ERRCODE = '55000', DETAIL = (f.model).detail;
    END IF;
    IF f.applied_at IS NOT NULL THEN
        RAISE EXCEPTION 'fit % was applied already', f.fit_id
            USING ERRCODE = '55000',
                  DETAIL = pg_catalog.format('%s applied it at %s.', f.applied_by, f.applied_at);
    END IF;

    SELECT * INTO old FROM @extschema@.coefficients AS c
    WHERE c.college = f.college AND c.academic_year = f.academic_year FOR UPDATE;
    -- the triggers on engage.coefficients mark the days these weights change
    INSERT INTO @extschema@.coefficients AS c (college, academic_year, ele, app, events)
    VALUES (f.college, f.academic_year, f.ele, f.app, f.events)
    ON CONFLICT (college, academic_year)
        DO UPDATE SET ele = EXCLUDED.ele, app = EXCLUDED.app, events = EXCLUDED.events
    RETURNING * INTO result;
    UPDATE @extschema@.model_fit AS mf
    SET applied_at = pg_catalog.clock_timestamp(), applied_by = session_user,
        replaced = CASE WHEN old.college IS NOT NULL THEN ARRAY[old.ele, old.app, old.events] END
    WHERE mf.fit_id = f.fit_id;
    RETURN result;
END
$$;
COMMENT ON FUNCTION @extschema@.apply_fit(bigint) IS
'Writes the weights of a converged fit (engage.model_fit) into engage.coefficients for its college and year, and records in the fit who applied it, when, and the weights it replaced; the days the weights change are then recomputed by the nightly run. Administrators only; a fit is applied once.';

-- Privileges: the fit reads what analysts may not, so both functions run as
-- engage_owner; only the stored fits leave it.
ALTER FUNCTION @extschema@.fit_coefficients(text, text, text[]) OWNER TO engage_owner;
ALTER FUNCTION @extschema@.apply_fit(bigint) OWNER TO engage_owner;
REVOKE ALL ON FUNCTION @extschema@.fit_coefficients(text, text, text[]), @extschema@.apply_fit(bigint),
                       @extschema@.fit_min_students()
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.fit_coefficients(text, text, text[]), @extschema@.fit_min_students()
    TO engage_admin, engage_analyst;
GRANT EXECUTE ON FUNCTION @extschema@.apply_fit(bigint) TO engage_admin;
GRANT SELECT ON @extschema@.model_fit, @extschema@.mark_band TO engage_admin, engage_analyst;
GRANT INSERT, UPDATE, DELETE ON @extschema@.mark_band TO engage_admin;
GRANT SELECT ON @extschema@.mark_band TO engage_owner;
GRANT SELECT, INSERT, UPDATE ON @extschema@.model_fit TO engage_owner;
-- (what the fit reads of the warehouse is granted to engage_owner at the end
-- of 95_grants.sql, after the other roles' grants on those tables)
GRANT EXECUTE ON FUNCTION @extschema@.fit_min_students() TO engage_owner;
