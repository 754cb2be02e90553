/*
 * engage.h
 *		Settings shared by the engage computation.
 */
#ifndef ENGAGE_H
#define ENGAGE_H

#include "compat.h"

#include "fmgr.h"

/* engage.idle_gap and engage.credit, in milliseconds */
extern int	engage_idle_gap_ms;
extern int	engage_credit_ms;

/* Element type of a final function's array-of-rows result. */
typedef struct EngageRowArrayType
{
	Oid			elemtype;
	TupleDesc	tupdesc;
} EngageRowArrayType;

extern EngageRowArrayType *EngageGetRowArrayType(FunctionCallInfo fcinfo);

#endif							/* ENGAGE_H */
