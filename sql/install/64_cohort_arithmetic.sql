-- The arithmetic of the cohort figures ----------------------------------------------
--
-- Means and medians with the same bits whatever order the rows come in, and
-- the rule that compares two groups' members (src/cohort.c).

-- The means behind them: a float sum depends on the order of its terms, and
-- rows reach an aggregate in an order that plans, the table's physical order
-- and parallel workers decide.  engage.stable_avg keeps a group's values and
-- sums them in ascending order, so that a figure has the same bits however
-- it was computed (src/cohort.c).
CREATE FUNCTION @extschema@.stable_avg_trans(internal, double precision)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_stable_avg_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_trans(internal, double precision) IS
'Transition function of engage.stable_avg: keeps one value.';

CREATE FUNCTION @extschema@.stable_avg_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_stable_avg_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_combine(internal, internal) IS
'Combine function of engage.stable_avg: joins the values of two partial states.';

CREATE FUNCTION @extschema@.stable_avg_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'engage_stable_avg_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_serialize(internal) IS
'Serialisation function of engage.stable_avg, for parallel workers.';

CREATE FUNCTION @extschema@.stable_avg_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_stable_avg_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_deserialize(bytea, internal) IS
'Deserialisation function of engage.stable_avg, for parallel workers.';

CREATE FUNCTION @extschema@.stable_avg_final(internal)
RETURNS double precision
AS 'MODULE_PATHNAME', 'engage_stable_avg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_avg_final(internal) IS
'Final function of engage.stable_avg: the sum in ascending order, divided by the count.';

CREATE AGGREGATE @extschema@.stable_avg(double precision) (
    SFUNC            = @extschema@.stable_avg_trans,
    STYPE            = internal,
    SSPACE           = 128,
    FINALFUNC        = @extschema@.stable_avg_final,
    FINALFUNC_MODIFY = SHAREABLE,
    COMBINEFUNC      = @extschema@.stable_avg_combine,
    SERIALFUNC       = @extschema@.stable_avg_serialize,
    DESERIALFUNC     = @extschema@.stable_avg_deserialize,
    PARALLEL         = SAFE
);
COMMENT ON AGGREGATE @extschema@.stable_avg(double precision) IS
'The mean of the non-null values, summed in ascending order so that the result has the same bits whatever order the rows come in (plans, parallel workers); NULL for no values. Keeps every value of a group (8 bytes each): for the small groups of the cohort figures.';

-- The median of the same kept values, as percentile_cont(0.5) gives it, but
-- an ordinary aggregate: a grouping that computes it may hash its groups
-- rather than sort all its rows.
CREATE FUNCTION @extschema@.stable_median_final(internal)
RETURNS double precision
AS 'MODULE_PATHNAME', 'engage_stable_median_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stable_median_final(internal) IS
'Final function of engage.stable_median: the middle value, or between the two middle values as percentile_cont(0.5) interpolates.';

CREATE AGGREGATE @extschema@.stable_median(double precision) (
    SFUNC            = @extschema@.stable_avg_trans,
    STYPE            = internal,
    SSPACE           = 128,
    FINALFUNC        = @extschema@.stable_median_final,
    FINALFUNC_MODIFY = SHAREABLE,
    COMBINEFUNC      = @extschema@.stable_avg_combine,
    SERIALFUNC       = @extschema@.stable_avg_serialize,
    DESERIALFUNC     = @extschema@.stable_avg_deserialize,
    PARALLEL         = SAFE
);
COMMENT ON AGGREGATE @extschema@.stable_median(double precision) IS
'The median of the non-null values, with the bits of percentile_cont(0.5) WITHIN GROUP (ORDER BY x); NULL for no values; NaN refused (22023). Keeps every value of a group, as engage.stable_avg does, and shares its state.';

-- How many students two groups do not share, for the rule that leaves out a
-- group whose figures would follow by difference from another's.
CREATE FUNCTION @extschema@.symmetric_difference_size(a text[], b text[])
RETURNS integer
AS 'MODULE_PATHNAME', 'engage_symmetric_difference_size'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
-- dear enough that the planner tests a pair's other conditions first
COST 1000;
COMMENT ON FUNCTION @extschema@.symmetric_difference_size(text[], text[]) IS
'The number of elements in exactly one of two arrays, each sorted in byte order (COLLATE "C") without duplicates or NULLs, as array_agg(DISTINCT x ORDER BY x COLLATE "C") builds them; other arrays are refused (22023, 22004).';

-- A group's members in that order, sorted once per group: built by
-- array_agg without ORDER BY, the grouping may hash.
CREATE FUNCTION @extschema@.byte_sorted(text[])
RETURNS text[]
AS 'MODULE_PATHNAME', 'engage_byte_sorted'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.byte_sorted(text[]) IS
'A one-dimensional text array sorted in byte order (COLLATE "C"), duplicates kept: what array_agg(x ORDER BY x COLLATE "C") builds; arrays with NULL (22004) or more dimensions (2202E) are refused.';
