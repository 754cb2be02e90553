-- Engagement score ----------------------------------------------------------

CREATE TYPE @extschema@.engagement_day AS (
    day                 date,
    ele_minutes         double precision,
    app_choices         bigint,
    career_events       bigint,
    ele_minutes_mean    double precision,
    app_choices_mean    double precision,
    career_events_mean  double precision
);

-- The array type is a member too (see 24_profile.sql).
COMMENT ON TYPE @extschema@._engagement_day IS 'Array of engage.engagement_day: the result type of engage.engagement_series.';

COMMENT ON TYPE @extschema@.engagement_day IS
'One day of an engagement series: that day''s activity and the means over the 7 days ending on it (days without activity count as zero); an element of the result of engage.engagement_series.';

CREATE FUNCTION @extschema@.engagement_series_trans(internal, date, double precision, bigint, bigint, date, date)
RETURNS internal
AS 'MODULE_PATHNAME', 'engage_engagement_series_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.engagement_series_trans(internal, date, double precision, bigint, bigint, date, date) IS
'Transition function of engage.engagement_series: adds one row of daily activity.';

CREATE FUNCTION @extschema@.engagement_series_final(internal)
RETURNS @extschema@.engagement_day[]
AS 'MODULE_PATHNAME', 'engage_engagement_series_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.engagement_series_final(internal) IS
'Final function of engage.engagement_series: the dense series with its 7-day means.';

CREATE AGGREGATE @extschema@.engagement_series(day date, ele_minutes double precision,
                                               app_choices bigint, career_events bigint,
                                               from_day date, to_day date) (
    SFUNC     = @extschema@.engagement_series_trans,
    STYPE     = internal,
    FINALFUNC = @extschema@.engagement_series_final,
    PARALLEL  = SAFE
);

COMMENT ON AGGREGATE @extschema@.engagement_series(date, double precision, bigint, bigint, date, date) IS
'Daily activity rows of one student (and module) turned into a dense series from from_day to to_day with 7-day moving means; rows of one day add up, days without rows count as zero, rows before from_day - 6 or after to_day are ignored.';

CREATE FUNCTION @extschema@.score(ele_minutes_mean double precision,
                                  app_choices_mean double precision,
                                  career_events_mean double precision,
                                  ele double precision,
                                  app double precision,
                                  events double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'engage_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.score(double precision, double precision, double precision, double precision, double precision, double precision) IS
'The engagement score of a day: ele × mean ELE minutes + app × mean app choices + events × mean career events over the 7 days ending on it.';
