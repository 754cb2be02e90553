/*
 * day.h
 *		The institution's calendar: its time zone, the local day of an
 *		instant, and "today" as the access rules judge it.
 */
#ifndef ENGAGE_DAY_H
#define ENGAGE_DAY_H

#include "engage.h"

#include "pgtime.h"
#include "utils/date.h"

/* engage.time_zone: the institution's time zone, which defines a day */
extern char *engage_time_zone;
extern pg_tz *engage_tz;		/* the zone it names, looked up */

/* Registers engage.time_zone. */
extern void DayDefineSetting(void);

/* Notes the start of a query: "today" is never older than its snapshot. */
extern void DayQueryStarted(void);

/* "Today" as the access rules judge it (engage.today()). */
extern DateADT EngageToday(void);

/* The local calendar day of a finite instant, and the UTC offset then. */
extern DateADT EngageLocalDate(TimestampTz ts, pg_tz *tz, int *offset);

/* A finite date as YYYY-MM-DD for a message, whatever the DateStyle. */
extern char *EngageDateText(DateADT day);

/* The UTC instant at which a local calendar day begins: an error, or false,
 * for a day whose midnight is no timestamp. */
extern TimestampTz EngageLocalMidnight(DateADT day, pg_tz *tz);
extern bool EngageLocalMidnightValid(DateADT day, pg_tz *tz, TimestampTz *result);

#endif							/* ENGAGE_DAY_H */
