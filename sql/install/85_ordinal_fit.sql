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
