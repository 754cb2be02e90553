-- Settings ---------------------------------------------------------------

CREATE FUNCTION @extschema@.settings(
    OUT idle_gap interval,
    OUT credit interval,
    OUT time_zone text)
RETURNS record
AS 'MODULE_PATHNAME', 'engage_settings'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.settings() IS
'The settings in force for this session: engage.idle_gap, engage.credit and engage.time_zone.';
