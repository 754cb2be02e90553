/*
 * engage.h
 *		Settings shared by the engage computation.
 */
#ifndef ENGAGE_H
#define ENGAGE_H

#include "compat.h"

#include "fmgr.h"
#include "pgtime.h"
#include "utils/date.h"

/* engage.idle_gap and engage.credit, in milliseconds */
extern int	engage_idle_gap_ms;
extern int	engage_credit_ms;

/* engage.time_zone: the institution's time zone, which defines a day */
extern char *engage_time_zone;

/* engage.refresh_chunk_days: days computed in one pass of engage.refresh */
extern int	engage_refresh_chunk_days;

/* Element type of a final function's array-of-rows result. */
typedef struct EngageRowArrayType
{
	Oid			elemtype;
	TupleDesc	tupdesc;
} EngageRowArrayType;

extern EngageRowArrayType *EngageGetRowArrayType(FunctionCallInfo fcinfo);

/* The local calendar day of a finite instant, and the UTC offset then. */
extern DateADT EngageLocalDate(TimestampTz ts, pg_tz *tz, int *offset);

#endif							/* ENGAGE_H */
