-- The daily profile: one student's days in one pass -------------------------
--
-- engage.refresh feeds each consenting student's rows to this aggregate and
-- stores what it returns; the rule's arithmetic (the ELE rule, the local day,
-- the 7-day window, the score) lives in C (src/profile.c) and nowhere else.

CREATE TYPE @extschema@.profile_day AS (
    module_code      text,
    day              date,
    ele_minutes      double precision,
    app_choices      integer,
    career_events    integer,
    ele_minutes_7d   double precision,
    app_choices_7d   integer,
    career_events_7d integer,
    score            double precision
);

COMMENT ON TYPE @extschema@.profile_day IS
'One row of a student''s daily profile: a day of the overall series (module_code NULL) or of a module''s, with the day''s figures, their sums over the 7 days ending on it, and the score; an element of the result of engage.daily_profile.';

-- The array types of the three result types are members of the extension
-- too.  PostgreSQL 17 and later make them members along with their element
-- types (and refuse to add them twice); before 17 they are added here.
DO $$
DECLARE
    t regtype;
BEGIN
    FOREACH t IN ARRAY ARRAY['@extschema@._ele_credit', '@extschema@._engagement_day',
                             '@extschema@._profile_day']::regtype[] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_depend AS d
                       WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t
                         AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e') THEN
            EXECUTE pg_catalog.format('ALTER EXTENSION engage ADD TYPE %s', t);
        END IF;
    END LOOP;
END
$$;
COMMENT ON TYPE @extschema@._profile_day IS 'Array of engage.profile_day: the result type of engage.daily_profile.';

CREATE FUNCTION @extschema@.daily_profile_trans(internal, "char", timestamptz, text, date, date,
                                               double precision, double precision, double precision,
                                               date, date)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_daily_profile_trans'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.daily_profile_trans(internal, "char", timestamptz, text, date, date, double precision, double precision, double precision, date, date) IS
'Transition function of engage.daily_profile: collects one row of a student''s streams.';

CREATE FUNCTION @extschema@.daily_profile_final(internal)
RETURNS @extschema@.profile_day[]
AS 'MODULE_PATHNAME', 'engage_daily_profile_final'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.daily_profile_final(internal) IS
'Final function of engage.daily_profile: applies the ELE rule and computes every day''s figures, 7-day sums and score.';

-- The rows' kinds: 'v' page view (ts, module_code), 'a' app choice (ts), 'c'
-- attended careers event (day), 's' stored day (day, module_code or NULL,
-- minutes x, app choices y, careers events z), 'm' enrolment (module_code,
-- day to until), 'w' consent in force with weights (day to until; ele x,
-- app y, events z).  Reads engage.idle_gap, engage.credit, engage.time_zone.
CREATE AGGREGATE @extschema@.daily_profile(kind "char", ts timestamptz, module_code text,
                                           day date, until date,
                                           x double precision, y double precision, z double precision,
                                           from_day date, to_day date) (
    SFUNC     = @extschema@.daily_profile_trans,
    STYPE     = internal,
    SSPACE    = 16384,
    FINALFUNC = @extschema@.daily_profile_final,
    PARALLEL  = SAFE
);

COMMENT ON AGGREGATE @extschema@.daily_profile("char", timestamptz, text, date, date, double precision, double precision, double precision, date, date) IS
'One student''s engagement profile from their streams in one pass: rows of kind v (page view), a (app choice), c (careers event), s (stored day), m (enrolment) and w (consent with weights) in; the days from from_day to to_day with consent in force out, overall and per enrolled module, with the 7-day sums and the score. NULL when no day has consent.';

CREATE FUNCTION @extschema@.profile_range(from_day date, to_day date,
                                          OUT first_day date, OUT from_ts timestamptz, OUT to_ts timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'engage_profile_range'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.profile_range(date, date) IS
'What engage.daily_profile reads to compute from_day to to_day from raw events: days from first_day (six days before from_day, for the 7-day windows), events from from_ts (local midnight of first_day) until to_ts (local midnight after to_day, plus engage.idle_gap for the last view''s credit).';
