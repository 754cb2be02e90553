/*
 * load.c
 *		What engage.load needs from C: whether a staged text value reads as
 *		the type of its column (without failing the whole batch when it does
 *		not), and a line number for every row a session stages.
 */
#include "load.h"

#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

/* The input function of the type asked about last, kept across rows. */
typedef struct InputCache
{
	Oid			type;
	Oid			ioparam;
	FmgrInfo	input;
} InputCache;

/* Rows staged by this backend so far: the line of the next one. */
static int64 staged_lines = 0;

/* Whether str reads as the type: errors of bad data say no, others go on. */
static bool
InputIsValid(InputCache *cache, char *str, int32 typmod)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool valid = true;

	if (EngageInputIsSoft)
		return EngageInputSafe(&cache->input, str, cache->ioparam, typmod);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(caller);
	PG_TRY();
	{
		InputFunctionCall(&cache->input, str, cache->ioparam, typmod);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		/* a cancel or running out of memory is no verdict on the value */
		if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) != ERRCODE_DATA_EXCEPTION)
			ReThrowError(edata);
		FreeErrorData(edata);
		valid = false;
	}
	PG_END_TRY();
	return valid;
}

PG_FUNCTION_INFO_V1(engage_input_valid);
Datum
engage_input_valid(PG_FUNCTION_ARGS)
{
	char	   *str = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			type = PG_GETARG_OID(1);
	int32		typmod = PG_GETARG_INT32(2);
	InputCache *cache = (InputCache *) fcinfo->flinfo->fn_extra;

	if (cache == NULL || cache->type != type)
	{
		Oid			input;

		if (cache == NULL)
			cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(InputCache));
		getTypeInputInfo(type, &input, &cache->ioparam);
		fmgr_info_cxt(input, &cache->input, fcinfo->flinfo->fn_mcxt);
		cache->type = type;
		fcinfo->flinfo->fn_extra = cache;
	}
	PG_RETURN_BOOL(InputIsValid(cache, str, typmod));
}

PG_FUNCTION_INFO_V1(engage_stage_line);
Datum
engage_stage_line(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(++staged_lines);
}
