/*
 * compat.h
 *		Named shims for the differences between the PostgreSQL versions
 *		engage builds on (14 to 17).  Function bodies never test
 *		PG_VERSION_NUM themselves; they use the names defined here.
 */
#ifndef ENGAGE_COMPAT_H
#define ENGAGE_COMPAT_H

#include "postgres.h"

/* PostgreSQL 16 moved the varlena macros out of postgres.h. */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#include "utils/guc.h"

/* PostgreSQL 15 renamed EmitWarningsOnPlaceholders. */
#if PG_VERSION_NUM < 150000
#define EngageReserveGucPrefix(prefix) EmitWarningsOnPlaceholders(prefix)
#else
#define EngageReserveGucPrefix(prefix) MarkGUCPrefixReserved(prefix)
#endif

#endif							/* ENGAGE_COMPAT_H */
