/*
 * engage.c
 *		Module entry point: the settings of the engagement computation, and
 *		the hook that lets the calendar and the access rules see each query
 *		start.
 */
#include "engage.h"
#include "day.h"
#include "viewer.h"

#include "access/htup_details.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

PG_MODULE_MAGIC;

int			engage_idle_gap_ms = 5 * 60 * 1000;
int			engage_credit_ms = 2 * 60 * 1000;

/* the alert thresholds: read by engage.refresh_alerts through current_setting */
static double alert_score_drop_ratio = 0.5;
static double alert_score_floor = 1.0;
static double alert_attendance_drop = 20.0;
static int	alert_attendance_sessions = 5;
static int	alert_absence_run = 3;
static double alert_fail_mark = 40.0;

static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;

void		_PG_init(void);

/*
 * Every query of this backend, nested ones too: "today" follows the query's
 * snapshot, and a query may not count the rows the access rules hide.
 */
static void
EngageExecutorStart(QueryDesc *queryDesc, int eflags)
{
	DayQueryStarted();
	ViewerCheckQuery(queryDesc);
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

/*
 * The same check once the query has run, before EXPLAIN ANALYZE prints it:
 * a session's first query loads engage while it runs (the policies' functions
 * are the first to need it), after its start went unchecked.
 */
static void
EngageExecutorFinish(QueryDesc *queryDesc)
{
	ViewerCheckQuery(queryDesc);
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

/*
 * The thresholds of the nightly alerts (engage.refresh_alerts) are the
 * institution's policy, like the rule's parameters: superusers set them.
 */
static void
AlertDefineSettings(void)
{
	DefineCustomRealVariable("engage.alert_score_drop_ratio",
							 "An engagement score under this share of its mean over the previous 4 weeks is a drop.",
							 NULL,
							 &alert_score_drop_ratio,
							 0.5, 0.0, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("engage.alert_score_floor",
							 "The least mean score over the previous 4 weeks from which a drop is alerted.",
							 "Below it a drop is noise: a score of 0.07 falling to 0.02 is no drop-off.",
							 &alert_score_floor,
							 1.0, 0.0, 1.0e6,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomRealVariable("engage.alert_attendance_drop",
							 "Percentage points by which the 4-week attendance rate must fall below the rest of the year's.",
							 NULL,
							 &alert_attendance_drop,
							 20.0, 0.0, 100.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("engage.alert_attendance_sessions",
							"Sessions, authorised absences aside, both periods need before falling attendance is alerted.",
							NULL,
							&alert_attendance_sessions,
							5, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("engage.alert_absence_run",
							"Consecutive unauthorised absences (authorised ones aside) that raise an alert.",
							NULL,
							&alert_absence_run,
							3, 1, 100,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
	DefineCustomRealVariable("engage.alert_fail_mark",
							 "A mark under this is a failed mark.",
							 NULL,
							 &alert_fail_mark,
							 40.0, 0.0, 100.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}

/*
 * The rule's parameters are the institution's: only superusers (in
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

	DayDefineSetting();

	ViewerDefineSetting();

	AlertDefineSettings();

	MarkGUCPrefixReserved("engage");

	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = EngageExecutorStart;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = EngageExecutorFinish;
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
	Datum	   *values;
	bool	   *nulls;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "engage.settings must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);

	/*
	 * 1.0 declared a fourth column, for a setting that no longer exists; a
	 * database not yet updated gets NULL there until ALTER EXTENSION UPDATE.
	 */
	values = palloc0(Max(tupdesc->natts, 3) * sizeof(Datum));
	nulls = palloc(Max(tupdesc->natts, 3) * sizeof(bool));
	memset(nulls, true, Max(tupdesc->natts, 3) * sizeof(bool));
	values[0] = MsToInterval(engage_idle_gap_ms);
	values[1] = MsToInterval(engage_credit_ms);
	values[2] = CStringGetTextDatum(engage_time_zone);
	nulls[0] = nulls[1] = nulls[2] = false;

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
