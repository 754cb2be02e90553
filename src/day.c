/*
 * day.c
 *		The institution's calendar, in one place: engage.time_zone, the local
 *		day of an instant (engage.local_day, and the days ele_minutes credits),
 *		and engage.today(), the day every access rule is judged by.
 *
 * "Today" must never be older than the data a query reads.  A query reads
 * the snapshot it took when it started, so today is judged at the latest
 * start of a query in this backend, and never before the current statement
 * started.  A statement that runs queries of its own (a PL/pgSQL loop, a
 * function) therefore judges each of them by the day it started on: a loop
 * started before midnight does not keep yesterday's rules while it reads
 * today's data.
 */
#include "day.h"

#include "access/xact.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

char	   *engage_time_zone = NULL;
pg_tz	   *engage_tz = NULL;

/* When the latest query of this backend started (0: none since loading). */
static TimestampTz query_started = 0;

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

/*
 * The time zone is the institution's: the access rules read "today" through
 * it, so only superusers (in postgresql.conf, ALTER DATABASE or ALTER ROLE)
 * may change it.
 */
void
DayDefineSetting(void)
{
	DefineCustomStringVariable("engage.time_zone",
							   "The institution's time zone, which decides the calendar day of an event.",
							   "The session's TimeZone setting is never used for this.",
							   &engage_time_zone,
							   "Europe/London",
							   PGC_SUSET, 0,
							   CheckTimeZone, AssignTimeZone, NULL);
}

/* Called as each query starts, just after it has taken its snapshot. */
void
DayQueryStarted(void)
{
	query_started = GetCurrentTimestamp();
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

/*
 * The UTC instant at which a local calendar day begins, if it is a timestamp:
 * dates reach far beyond timestamps, and the arithmetic must not overflow.
 */
bool
EngageLocalMidnightValid(DateADT day, pg_tz *tz, TimestampTz *result)
{
	struct pg_tm tm;
	int			offset;

	if (day < DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE ||
		day >= TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)
		return false;
	memset(&tm, 0, sizeof(tm));
	j2date(day + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	offset = DetermineTimeZoneOffset(&tm, tz);
	*result = (TimestampTz) day * USECS_PER_DAY + (TimestampTz) offset * USECS_PER_SEC;
	return IS_VALID_TIMESTAMP(*result);
}

/* The same, refusing a day whose midnight is no timestamp. */
TimestampTz
EngageLocalMidnight(DateADT day, pg_tz *tz)
{
	TimestampTz result;

	if (!EngageLocalMidnightValid(day, tz, &result))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for timestamp in time zone \"%s\"",
						pg_get_timezone_name(tz))));
	return result;
}

/* Formats a date for a message as YYYY-MM-DD, whatever the DateStyle. */
char *
EngageDateText(DateADT day)
{
	int			year;
	int			month;
	int			mday;

	j2date(day + POSTGRES_EPOCH_JDATE, &year, &month, &mday);
	return psprintf("%04d-%02d-%02d", year, month, mday);
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

PG_FUNCTION_INFO_V1(engage_local_midnight);
Datum
engage_local_midnight(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);

	if (DATE_NOT_FINITE(day))
		PG_RETURN_TIMESTAMPTZ(DATE_IS_NOBEGIN(day) ? DT_NOBEGIN : DT_NOEND);
	PG_RETURN_TIMESTAMPTZ(EngageLocalMidnight(day, engage_tz));
}

/*
 * The Monday of a day's week (ISO weeks: Monday to Sunday), the week of the
 * cohort figures.  Date arithmetic only: a date cast to timestamptz, as
 * date_trunc('week', day) does, goes through the session's TimeZone.
 */
PG_FUNCTION_INFO_V1(engage_week_start);
Datum
engage_week_start(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0);
	int			dow;

	if (DATE_NOT_FINITE(day))
		PG_RETURN_DATEADT(day);
	/* 0 is Sunday; the first date (Julian day 0) is a Monday, so every
	 * week begins on a valid date */
	dow = j2day(day + POSTGRES_EPOCH_JDATE);
	PG_RETURN_DATEADT(day - (dow == 0 ? 6 : dow - 1));
}

/*
 * Today at the start of the latest query, or of the statement if that is
 * later.  The statement's start, not the transaction's: a transaction held
 * open past midnight must not keep yesterday's rules.  A parallel worker
 * judges by its own start of the query, which follows the leader's.
 */
DateADT
EngageToday(void)
{
	TimestampTz statement = GetCurrentStatementStartTimestamp();

	return EngageLocalDay(Max(statement, query_started));
}

PG_FUNCTION_INFO_V1(engage_today);
Datum
engage_today(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(EngageToday());
}
