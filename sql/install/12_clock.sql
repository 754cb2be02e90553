-- The institution's clock ------------------------------------------------------
--
-- The local day of an instant, the instant a day begins, and today: one C
-- implementation (src/day.c) that every rule and every view calls, so that no
-- SQL restates the time zone or compares a date with a timestamptz.

CREATE FUNCTION @extschema@.local_day(ts timestamptz)
RETURNS date
AS 'MODULE_PATHNAME', 'engage_local_day'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.local_day(timestamptz) IS
'The calendar day of an instant in the institution''s time zone (engage.time_zone), whatever the session''s TimeZone.';

CREATE FUNCTION @extschema@.local_midnight(day date)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'engage_local_midnight'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.local_midnight(date) IS
'The instant a calendar day begins in the institution''s time zone (engage.time_zone): the lower bound of the instants whose engage.local_day is that day.';

-- The statement's start, not the transaction's: a transaction held open
-- past midnight must not keep yesterday's rules.
CREATE FUNCTION @extschema@.today()
RETURNS date
AS 'MODULE_PATHNAME', 'engage_today'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.today() IS
'Today in the institution''s time zone, as of the start of the current statement; the day every access rule is judged by.';

-- The week of the cohort figures, by date arithmetic alone.
CREATE FUNCTION @extschema@.week_start(day date)
RETURNS date
AS 'MODULE_PATHNAME', 'engage_week_start'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.week_start(date) IS
'The Monday of the ISO week (Monday to Sunday) a day is in: the week of engage.cohort_week. Infinite days give themselves.';
