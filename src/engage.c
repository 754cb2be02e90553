/*
 * engage.c
 *		Module entry point: the settings of the engagement computation.
 */
#include "engage.h"
#include "viewer.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PG_MODULE_MAGIC;

int			engage_idle_gap_ms = 5 * 60 * 1000;
int			engage_credit_ms = 2 * 60 * 1000;
char	   *engage_time_zone = NULL;
static pg_tz *engage_tz = NULL;	/* engage.time_zone, looked up */
int			engage_refresh_chunk_days = 28;

/* Rejects a time zone the server does not know before it can be used. */
static bool
CheckTimeZone(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || pg_tzset(*newval) == NULL)
	{
		GUC_check_errdetail("Time zone \"%s\" is not recognized.",
							*newval ? *newval : "");
		GUC_check_errhint("Use a name from pg_timezone_names, such as Europe/London.");
		return false;
	}
	return true;
}

/* Keeps the zone a checked engage.time_zone names, for the day functions. */
static void
AssignTimeZone(const char *newval, void *extra)
{
	engage_tz = newval ? pg_tzset(newval) : NULL;
}

void		_PG_init(void);

/*
 * The rule's parameters and the time zone are the institution's: the access
 * rules read "today" through engage.time_zone, so only superusers (in
 * postgresql.conf, ALTER DATABASE or ALTER ROLE) may change them.
 */
void
_PG_init(void)
{
	DefineCustomIntVariable("engage.idle_gap",
							"Gap between two VLE page views from which the first view is idle.",
							"A view followed by the next view within less than this gap is "
							"credited the gap; otherwise it is credited engage.credit.",
							&engage_idle_gap_ms,
							5 * 60 * 1000, 1, 24 * 60 * 60 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("engage.credit",
							"Minutes credited to a VLE page view that is followed by an idle gap or by nothing.",
							NULL,
							&engage_credit_ms,
							2 * 60 * 1000, 0, 24 * 60 * 60 * 1000,
							PGC_SUSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("engage.time_zone",
							   "The institution's time zone, which decides the calendar day of an event.",
							   "The session's TimeZone setting is never used for this.",
							   &engage_time_zone,
							   "Europe/London",
							   PGC_SUSET, 0,
							   CheckTimeZone, AssignTimeZone, NULL);

	DefineCustomIntVariable("engage.refresh_chunk_days",
							"Number of days engage.refresh computes in one pass.",
							"Smaller chunks need less memory; larger ones re-read fewer look-back days.",
							&engage_refresh_chunk_days,
							28, 1, 366,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	ViewerDefineSetting();

	MarkGUCPrefixReserved("engage");
}

/* Converts a millisecond setting to an interval value. */
static Datum
MsToInterval(int ms)
{
	Interval   *result = palloc0(sizeof(Interval));

	result->time = (int64) ms * INT64CONST(1000);
	return IntervalPGetDatum(result);
}

PG_FUNCTION_INFO_V1(engage_settings);
Datum
engage_settings(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "engage.settings must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);

	values[0] = MsToInterval(engage_idle_gap_ms);
	values[1] = MsToInterval(engage_credit_ms);
	values[2] = CStringGetTextDatum(engage_time_zone);
	values[3] = Int32GetDatum(engage_refresh_chunk_days);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The element type and row descriptor of the array a final function returns,
 * looked up once per query: both aggregates build arrays of composite rows.
 */
EngageRowArrayType *
EngageGetRowArrayType(FunctionCallInfo fcinfo)
{
	EngageRowArrayType *type = (EngageRowArrayType *) fcinfo->flinfo->fn_extra;

	if (type == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		type = palloc(sizeof(EngageRowArrayType));
		type->elemtype = get_element_type(get_func_rettype(fcinfo->flinfo->fn_oid));
		if (!OidIsValid(type->elemtype))
			elog(ERROR, "function %u must return an array", fcinfo->flinfo->fn_oid);
		type->tupdesc = lookup_rowtype_tupdesc_copy(type->elemtype, -1);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = type;
	}
	return type;
}

/*
 * The local calendar day of a finite instant in a time zone, and the zone's
 * UTC offset then.  Shared by the day functions and engage.ele_minutes.
 */
DateADT
EngageLocalDate(TimestampTz ts, pg_tz *tz, int *offset)
{
	struct pg_tm tm;
	fsec_t		fsec;
	DateADT		day = 0;
	bool		valid;

	valid = timestamp2tm(ts, offset, &tm, &fsec, NULL, tz) == 0 &&
		IS_VALID_JULIAN(tm.tm_year, tm.tm_mon, tm.tm_mday);
	if (valid)
	{
		day = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
		valid = IS_VALID_DATE(day);
	}
	if (!valid)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for timestamp in time zone \"%s\"",
						pg_get_timezone_name(tz))));
	return day;
}

/* The calendar day of an instant in engage.time_zone; infinities stay infinite. */
static DateADT
EngageLocalDay(TimestampTz ts)
{
	DateADT		result;
	int			offset;

	if (TIMESTAMP_IS_NOBEGIN(ts))
		DATE_NOBEGIN(result);
	else if (TIMESTAMP_IS_NOEND(ts))
		DATE_NOEND(result);
	else
		result = EngageLocalDate(ts, engage_tz, &offset);
	return result;
}

PG_FUNCTION_INFO_V1(engage_local_day);
Datum
engage_local_day(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(EngageLocalDay(PG_GETARG_TIMESTAMPTZ(0)));
}

/*
 * The statement's start, not the transaction's: a transaction held open past
 * midnight must not keep yesterday's rules.  Parallel workers share the
 * leader's statement start.
 */
PG_FUNCTION_INFO_V1(engage_today);
Datum
engage_today(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(EngageLocalDay(GetCurrentStatementStartTimestamp()));
}
