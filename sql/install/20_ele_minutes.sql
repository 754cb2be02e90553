-- ELE minutes -------------------------------------------------------------
--
-- C functions resolve no names through search_path (types are found by
-- OID), so they carry no SET clause: one would cost a GUC save and restore
-- on every row the aggregate reads.

CREATE TYPE @extschema@.ele_credit AS (
    module_code text,
    day         date,
    minutes     double precision
);

COMMENT ON TYPE @extschema@.ele_credit IS
'Minutes of VLE engagement credited to one module on one day in the institution''s time zone; an element of the result of engage.ele_minutes.';

-- The array type belongs to the extension too (see 24_profile.sql), so that
-- postgres_fdw, told that engage is installed remotely, may ship
-- engage.ele_minutes to a shard.
COMMENT ON TYPE @extschema@._ele_credit IS 'Array of engage.ele_credit: the result type of engage.ele_minutes.';

CREATE FUNCTION @extschema@.ele_minutes_trans(internal, timestamptz, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ele_minutes_trans'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ele_minutes_trans(internal, timestamptz, text) IS
'Transition function of engage.ele_minutes(timestamptz, text): collects a page view.';

CREATE FUNCTION @extschema@.ele_minutes_trans(internal, timestamptz, text, interval, interval, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ele_minutes_trans_params'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ele_minutes_trans(internal, timestamptz, text, interval, interval, text) IS
'Transition function of engage.ele_minutes(timestamptz, text, interval, interval, text): checks the parameters and collects a page view.';

CREATE FUNCTION @extschema@.ele_minutes_final(internal)
RETURNS @extschema@.ele_credit[]
AS 'MODULE_PATHNAME', 'engage_ele_minutes_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ele_minutes_final(internal) IS
'Final function of engage.ele_minutes: orders the views and applies the ELE-minutes rule.';

CREATE FUNCTION @extschema@.ele_minutes_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ele_minutes_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ele_minutes_combine(internal, internal) IS
'Combine function of engage.ele_minutes: merges the views collected by two parallel workers; refuses states built with different parameters.';

CREATE FUNCTION @extschema@.ele_minutes_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'engage_ele_minutes_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ele_minutes_serialize(internal) IS
'Serialize function of engage.ele_minutes, for parallel aggregation.';

CREATE FUNCTION @extschema@.ele_minutes_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_ele_minutes_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.ele_minutes_deserialize(bytea, internal) IS
'Deserialize function of engage.ele_minutes, for parallel aggregation.';

-- The two-argument form reads engage.idle_gap, engage.credit and
-- engage.time_zone, so its transition function is only STABLE.
CREATE AGGREGATE @extschema@.ele_minutes(ts timestamptz, module_code text) (
    SFUNC        = @extschema@.ele_minutes_trans,
    STYPE        = internal,
    SSPACE       = 16384,
    FINALFUNC    = @extschema@.ele_minutes_final,
    COMBINEFUNC  = @extschema@.ele_minutes_combine,
    SERIALFUNC   = @extschema@.ele_minutes_serialize,
    DESERIALFUNC = @extschema@.ele_minutes_deserialize,
    PARALLEL     = SAFE
);

COMMENT ON AGGREGATE @extschema@.ele_minutes(timestamptz, text) IS
'ELE minutes of one student''s VLE page views, per module and day, under the engage.idle_gap, engage.credit and engage.time_zone settings. Returns engage.ele_credit[] in module then day order; NULL when the group has no view.';

CREATE AGGREGATE @extschema@.ele_minutes(ts timestamptz, module_code text,
                                         idle_gap interval, credit interval, time_zone text) (
    SFUNC        = @extschema@.ele_minutes_trans,
    STYPE        = internal,
    SSPACE       = 16384,
    FINALFUNC    = @extschema@.ele_minutes_final,
    COMBINEFUNC  = @extschema@.ele_minutes_combine,
    SERIALFUNC   = @extschema@.ele_minutes_serialize,
    DESERIALFUNC = @extschema@.ele_minutes_deserialize,
    PARALLEL     = SAFE
);

COMMENT ON AGGREGATE @extschema@.ele_minutes(timestamptz, text, interval, interval, text) IS
'ELE minutes of one student''s VLE page views, per module and day, with an explicit idle gap, credit and time zone (the same on every row of a group). Returns engage.ele_credit[] in module then day order; NULL when the group has no view.';
