/*
 * compat.h
 *		Named shims for the differences between the PostgreSQL versions
 *		engage builds on (15 and later; security_invoker views need
 *		15).  Function bodies never test PG_VERSION_NUM themselves; they
 *		use the names defined here.
 */
#ifndef ENGAGE_COMPAT_H
#define ENGAGE_COMPAT_H

#include "postgres.h"

#if PG_VERSION_NUM < 150000
#error "engage needs PostgreSQL 15 or later"
#endif

/* PostgreSQL 16 moved the varlena macros out of postgres.h. */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#include "utils/guc.h"

/*
 * EngageFindGuc: the catalog entry of a setting, or NULL.  PostgreSQL 16
 * exported find_option; before that the entries can only be walked.
 */
#include "utils/guc_tables.h"
#if PG_VERSION_NUM >= 160000
#define EngageFindGuc(name) find_option((name), false, true, ERROR)
#else
static inline struct config_generic *
EngageFindGuc(const char *name)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (strcmp(vars[i]->name, name) == 0)
			return vars[i];
	return NULL;
}
#endif

/*
 * EngageInputSafe: whether a string reads as a type.  PostgreSQL 16 lets an
 * input function report bad data softly; before that engage.input_valid
 * catches the error in a subtransaction (EngageInputIsSoft false).
 */
#include "fmgr.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#define EngageInputIsSoft true
static inline bool
EngageInputSafe(FmgrInfo *input, char *str, Oid ioparam, int32 typmod)
{
	ErrorSaveContext escontext = {T_ErrorSaveContext};
	Datum		value;

	return InputFunctionCallSafe(input, str, ioparam, typmod, (Node *) &escontext, &value);
}
#else
#define EngageInputIsSoft false
#define EngageInputSafe(input, str, ioparam, typmod) false
#endif

#endif							/* ENGAGE_COMPAT_H */
