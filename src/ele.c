/*
 * ele.c
 *		engage.ele_minutes(ts, module [, idle_gap, credit, time_zone]): the
 *		ELE-minutes rule as an aggregate.
 *
 * The rule: take one student's page views in time order, across all modules.
 * Each view is credited the gap to the next view when that gap is shorter
 * than the idle gap; otherwise, and for the last view, it is credited the
 * fixed credit.  The credit goes to the module and the local calendar day of
 * the view being credited.  Views of no module end the previous view's credit
 * but credit nothing themselves.  Views at the same instant are ordered by
 * module code (bytewise, no module last), so the result never depends on the
 * order in which rows arrive.
 *
 * The transition function only collects (timestamp, module index) pairs; the
 * final function sorts them once and walks the stream.  Minutes are summed as
 * integer microseconds, so the result is exact and independent of grouping.
 */
#include "ele.h"
#include "day.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

/* Longest accepted idle gap or credit: anything longer is not a page view. */
#define ELE_MAX_PARAM USECS_PER_DAY

/* The local day of the last view looked up, valid for [start, end). */
typedef struct EleDayCache
{
	pg_tz	   *tz;
	TimestampTz start;
	TimestampTz end;
	DateADT		day;
} EleDayCache;

/* The credits in the order they were emitted, chained per module. */
typedef struct EleCreditList
{
	EleCredit  *items;
	int64		n;
	int64		max;
	int64	   *head;			/* per module: first credit, or -1 */
	int64	   *tail;			/* per module: last credit */
} EleCreditList;

/* Turns an interval parameter into microseconds, rejecting nonsense. */
static int64
EleIntervalParam(Interval *value, const char *name, bool allow_zero)
{
	int64		usec;

	if (value->month != 0 || value->day < -1 || value->day > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at most one day", name),
				 errdetail("%s was %s.", name,
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(value)))),
				 errhint("Give %s in minutes or seconds, such as '5 minutes'.", name)));

	usec = value->time + value->day * USECS_PER_DAY;
	if (usec < 0 || (usec == 0 && !allow_zero) || usec > ELE_MAX_PARAM)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg(allow_zero ? "%s must be between zero and one day"
						: "%s must be longer than zero and at most one day", name),
				 errdetail("%s was %s.", name,
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(value)))),
				 errhint("Give %s in minutes or seconds, such as '5 minutes'.", name)));
	return usec;
}

/* Checks a time zone name and stores it in the parameters. */
static void
EleZoneParam(EleParams *params, const char *zone, int len)
{
	if (len > TZ_STRLEN_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_zone is longer than %d bytes", TZ_STRLEN_MAX),
				 errhint("Use a name from pg_timezone_names, such as Europe/London.")));
	memcpy(params->zone, zone, len);
	params->zone[len] = '\0';
	if (pg_tzset(params->zone) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time_zone \"%s\" is not recognized", params->zone),
				 errhint("Use a name from pg_timezone_names, such as Europe/London.")));
}

/* Reads the parameters of the five-argument form from the call's arguments. */
static void
EleParamsFromArgs(FunctionCallInfo fcinfo, const EleState *state, EleParams *params)
{
	static const char *const names[] = {"idle_gap", "credit", "time_zone"};
	text	   *zone;

	memset(params, 0, sizeof(EleParams));
	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(3 + i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s of engage.ele_minutes must not be null", names[i])));

	params->idle_gap = EleIntervalParam(PG_GETARG_INTERVAL_P(3), "idle_gap", false);
	params->credit = EleIntervalParam(PG_GETARG_INTERVAL_P(4), "credit", true);

	zone = PG_GETARG_TEXT_PP(5);
	if (state != NULL &&
		VARSIZE_ANY_EXHDR(zone) == strlen(state->params.zone) &&
		memcmp(VARDATA_ANY(zone), state->params.zone, VARSIZE_ANY_EXHDR(zone)) == 0)
		strcpy(params->zone, state->params.zone);	/* already checked */
	else
		EleZoneParam(params, VARDATA_ANY(zone), VARSIZE_ANY_EXHDR(zone));
}

/* Reads the parameters of the two-argument form from the engage.* settings. */
void
EleParamsFromSettings(EleParams *params)
{
	memset(params, 0, sizeof(EleParams));
	params->idle_gap = (int64) engage_idle_gap_ms * 1000;
	params->credit = (int64) engage_credit_ms * 1000;
	EleZoneParam(params, engage_time_zone, strlen(engage_time_zone));
}

/* Refuses to mix views collected under different parameters in one result. */
static void
EleCheckSameParams(const EleParams *a, const EleParams *b)
{
	if (a->idle_gap != b->idle_gap || a->credit != b->credit ||
		strcmp(a->zone, b->zone) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engage.ele_minutes parameters differ within one group"),
				 errdetail("One part used idle_gap %.0f s, credit %.0f s, time_zone %s; another used %.0f s, %.0f s, %s.",
						   a->idle_gap / 1e6, a->credit / 1e6, a->zone,
						   b->idle_gap / 1e6, b->credit / 1e6, b->zone),
				 errhint("Pass the same idle_gap, credit and time_zone on every row of a group.")));
}

/* Makes an empty state in the aggregate's memory context. */
EleState *
EleStateCreate(MemoryContext ctx, const EleParams *params)
{
	EleState   *state = MemoryContextAllocZero(ctx, sizeof(EleState));

	state->params = *params;
	state->maxviews = 64;
	state->views = MemoryContextAlloc(ctx, state->maxviews * sizeof(EleView));
	state->maxmodules = 8;
	state->modules = MemoryContextAlloc(ctx, state->maxmodules * sizeof(EleModule));
	state->nslots = 16;
	state->slots = MemoryContextAlloc(ctx, state->nslots * sizeof(int32));
	memset(state->slots, 0xff, state->nslots * sizeof(int32));
	state->lastModule = ELE_NO_MODULE;
	return state;
}

/*
 * Module codes are a few bytes long and looked up once per row: an inline
 * FNV-1a hash and byte comparison cost less than calls to hash_bytes and
 * memcmp.
 */
static inline uint32
EleNameHash(const char *name, int32 len)
{
	uint32		h = 2166136261u;

	for (int32 i = 0; i < len; i++)
		h = (h ^ (unsigned char) name[i]) * 16777619u;
	return h;
}

static inline bool
EleNameEquals(const EleModule *m, const char *name, int32 len)
{
	const char *own;

	if (m->len != len)
		return false;
	own = EleModuleName(m);
	for (int32 i = 0; i < len; i++)
		if (own[i] != name[i])
			return false;
	return true;
}

/* Places module index idx in the hash table, which has a free slot. */
static void
EleSlotInsert(EleState *state, int32 idx)
{
	uint32		mask = state->nslots - 1;
	uint32		h = EleNameHash(EleModuleName(&state->modules[idx]), state->modules[idx].len) & mask;

	while (state->slots[h] >= 0)
		h = (h + 1) & mask;
	state->slots[h] = idx;
}

/* Rebuilds the hash table after the module list grew or was reordered. */
static void
EleRebuildSlots(EleState *state, int32 nslots)
{
	if (nslots != state->nslots)
	{
		pfree(state->slots);
		state->slots = MemoryContextAlloc(GetMemoryChunkContext(state->modules),
										  nslots * sizeof(int32));
		state->nslots = nslots;
	}
	memset(state->slots, 0xff, nslots * sizeof(int32));
	for (int32 i = 0; i < state->nmodules; i++)
		EleSlotInsert(state, i);
}

/* Finds the index of a module name, adding the name if it is new. */
int32
EleModuleIndex(EleState *state, const char *name, int32 len)
{
	uint32		mask;
	uint32		h;
	int32		idx;
	EleModule  *m;

	if (state->lastModule >= 0 &&
		EleNameEquals(&state->modules[state->lastModule], name, len))
		return state->lastModule;

	mask = state->nslots - 1;
	h = EleNameHash(name, len) & mask;
	while ((idx = state->slots[h]) >= 0)
	{
		m = &state->modules[idx];
		if (EleNameEquals(m, name, len))
			return state->lastModule = idx;
		h = (h + 1) & mask;
	}

	if (state->nmodules == state->maxmodules)
	{
		state->maxmodules *= 2;
		state->modules = repalloc(state->modules,
								  state->maxmodules * sizeof(EleModule));
	}
	idx = state->nmodules++;
	m = &state->modules[idx];
	m->len = len;
	if (len <= ELE_INLINE_NAME)
		memcpy(m->u.inline_name, name, len);
	else
	{
		m->u.long_name = MemoryContextAlloc(GetMemoryChunkContext(state->modules), len);
		memcpy(m->u.long_name, name, len);
	}

	if (state->nmodules * 2 > state->nslots)
		EleRebuildSlots(state, state->nslots * 2);
	else
		EleSlotInsert(state, idx);
	return state->lastModule = idx;
}

/* The shared body of both transition functions. */
static Datum
EleTransition(FunctionCallInfo fcinfo, bool explicit_params)
{
	MemoryContext aggctx;
	EleState   *state;
	EleParams	params;
	TimestampTz ts;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.ele_minutes transition called in non-aggregate context");

	state = PG_ARGISNULL(0) ? NULL : (EleState *) PG_GETARG_POINTER(0);

	/* NULL timestamps are ignored, as other aggregates ignore NULLs */
	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}

	ts = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("page view timestamp must be finite"),
				 errdetail("engage.ele_minutes received %s.",
						   TIMESTAMP_IS_NOBEGIN(ts) ? "-infinity" : "infinity")));

	if (explicit_params)
		EleParamsFromArgs(fcinfo, state, &params);
	else if (state == NULL)
		EleParamsFromSettings(&params);

	if (state == NULL)
		state = EleStateCreate(aggctx, &params);
	else if (explicit_params)
		EleCheckSameParams(&state->params, &params);

	EleAddViewOf(state, ts, PG_ARGISNULL(2) ? NULL : PG_GETARG_TEXT_PP(2));

	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(engage_ele_minutes_trans);
Datum
engage_ele_minutes_trans(PG_FUNCTION_ARGS)
{
	return EleTransition(fcinfo, false);
}

PG_FUNCTION_INFO_V1(engage_ele_minutes_trans_params);
Datum
engage_ele_minutes_trans_params(PG_FUNCTION_ARGS)
{
	return EleTransition(fcinfo, true);
}

/* Orders module names bytewise, a shorter name before its extensions. */
static int
EleCompareNames(const EleModule *a, const EleModule *b)
{
	int			c = memcmp(EleModuleName(a), EleModuleName(b), Min(a->len, b->len));

	if (c != 0)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

/* A module with its index before sorting, to renumber the views. */
typedef struct EleRankedModule
{
	EleModule	module;
	int32		old;
} EleRankedModule;

/* qsort comparator for EleRankedModule. */
static int
EleCompareModules(const void *a, const void *b)
{
	return EleCompareNames(&((const EleRankedModule *) a)->module,
						   &((const EleRankedModule *) b)->module);
}

/* Orders views by time, then module index, with no module last. */
static int
EleCompareViews(const void *a, const void *b)
{
	const EleView *va = (const EleView *) a;
	const EleView *vb = (const EleView *) b;

	if (va->ts != vb->ts)
		return va->ts < vb->ts ? -1 : 1;
	if (va->module != vb->module)
		return (uint32) va->module < (uint32) vb->module ? -1 : 1;
	return 0;
}

/*
 * Sorts the views.  Rows mostly arrive in time order (a table loaded day by
 * day, an index in student and time order), so the views that keep a
 * nondecreasing run stay at the front, the few others are sorted apart and
 * merged back from the end: linear for nearly sorted input, never worse than
 * a sort of everything, and never more than one extra copy of the views.
 */
static void
EleSortViews(EleState *state)
{
	EleView    *views = state->views;
	int64		n = state->nviews;
	EleView    *rest = palloc_extended(n * sizeof(EleView), MCXT_ALLOC_HUGE);
	int64		nrun = 0;
	int64		nrest = 0;

	for (int64 v = 0; v < n; v++)
	{
		if (nrun == 0 || EleCompareViews(&views[nrun - 1], &views[v]) <= 0)
			views[nrun++] = views[v];
		else
			rest[nrest++] = views[v];
	}
	qsort(rest, nrest, sizeof(EleView), EleCompareViews);

	/* the largest remaining view goes last; the run's tail is free space */
	for (int64 i = nrun - 1, j = nrest - 1, k = n - 1; j >= 0; k--)
	{
		if (i >= 0 && EleCompareViews(&views[i], &rest[j]) > 0)
			views[k] = views[i--];
		else
			views[k] = rest[j--];
	}
	pfree(rest);
}

/*
 * Puts the state in canonical order: modules sorted by name, so that module
 * index order is output order and breaks ties between views at one instant,
 * and views sorted by time.  Only the order changes, never the content, so
 * a later transition or final call sees the same group of views.
 */
void
EleNormalize(EleState *state)
{
	bool		modules_sorted = true;
	bool		views_sorted = true;

	for (int32 i = 1; i < state->nmodules && modules_sorted; i++)
		modules_sorted = EleCompareNames(&state->modules[i - 1], &state->modules[i]) < 0;

	if (!modules_sorted)
	{
		EleRankedModule *sorted = palloc(state->nmodules * sizeof(EleRankedModule));
		int32	   *rank = palloc(state->nmodules * sizeof(int32));

		for (int32 i = 0; i < state->nmodules; i++)
		{
			sorted[i].module = state->modules[i];
			sorted[i].old = i;
		}
		qsort(sorted, state->nmodules, sizeof(EleRankedModule), EleCompareModules);
		for (int32 i = 0; i < state->nmodules; i++)
		{
			state->modules[i] = sorted[i].module;
			rank[sorted[i].old] = i;
		}
		for (int64 i = 0; i < state->nviews; i++)
			if (state->views[i].module != ELE_NO_MODULE)
				state->views[i].module = rank[state->views[i].module];
		EleRebuildSlots(state, state->nslots);
		state->lastModule = ELE_NO_MODULE;
		pfree(sorted);
		pfree(rank);
		views_sorted = false;
	}

	for (int64 i = 1; i < state->nviews && views_sorted; i++)
		views_sorted = EleCompareViews(&state->views[i - 1], &state->views[i]) <= 0;
	if (!views_sorted)
		EleSortViews(state);
}

/*
 * The local calendar day of a view.  Consecutive views mostly share a day,
 * so the UTC bounds of the last day are kept; a day with a change of UTC
 * offset inside it (daylight saving) is not cached and is looked up view by
 * view, which keeps the answer exact on those days.
 */
static DateADT
EleDayOf(EleDayCache *cache, TimestampTz ts)
{
	int			offset;
	int			start_offset;
	int			end_offset;
	DateADT		day;

	if (ts >= cache->start && ts < cache->end)
		return cache->day;

	day = EngageLocalDate(ts, cache->tz, &offset);
	cache->day = day;
	if (!EngageLocalMidnightValid(day, cache->tz, &cache->start) ||
		!EngageLocalMidnightValid(day + 1, cache->tz, &cache->end) ||
		cache->start > ts || cache->end <= ts ||
		EngageLocalDate(cache->start, cache->tz, &start_offset) != day ||
		EngageLocalDate(cache->end - 1, cache->tz, &end_offset) != day ||
		start_offset != end_offset)
	{
		cache->start = 0;
		cache->end = 0;
	}
	return day;
}

/* Appends a credit to the list and to its module's chain. */
static void
EleEmit(EleCreditList *list, int32 module, DateADT day, int64 usec)
{
	EleCredit  *c;

	if (list->n == list->max)
	{
		list->max *= 2;
		list->items = repalloc_huge(list->items, list->max * sizeof(EleCredit));
	}
	c = &list->items[list->n];
	c->module = module;
	c->day = day;
	c->usec = usec;
	c->next = -1;
	if (list->head[module] < 0)
		list->head[module] = list->n;
	else
		list->items[list->tail[module]].next = list->n;
	list->tail[module] = list->n;
	list->n++;
}

/*
 * Walks the sorted stream and sums each view's credit per (module, day).
 * Views of one module arrive in day order, so one open sum per module is
 * enough; a sum is emitted when its module moves on to a later day, and each
 * module's chain of credits is in day order.  Returns the credits ordered by
 * module, then day, without sorting: module index order is name order.
 */
EleCredit *
EleCredits(EleState *state, int64 *ncredits)
{
	const EleView *views = state->views;
	int64		n = state->nviews;
	int32		nmodules = Max(state->nmodules, 1);
	DateADT    *open_day = palloc(nmodules * sizeof(DateADT));
	int64	   *open_usec = palloc(nmodules * sizeof(int64));
	bool	   *open = palloc0(nmodules * sizeof(bool));
	EleCreditList list;
	EleCredit  *ordered;
	int64		k = 0;
	EleDayCache cache = {pg_tzset(state->params.zone), 0, 0, 0};

	if (cache.tz == NULL)
		elog(ERROR, "time zone \"%s\" vanished", state->params.zone);

	list.n = 0;
	list.max = 64;
	list.items = palloc(list.max * sizeof(EleCredit));
	list.head = palloc(nmodules * sizeof(int64));
	list.tail = palloc(nmodules * sizeof(int64));
	memset(list.head, 0xff, nmodules * sizeof(int64));

	for (int64 i = 0; i < n; i++)
	{
		int32		m = views[i].module;
		int64		credit;
		DateADT		day;

		if (m == ELE_NO_MODULE)
			continue;

		/* compared by addition: a subtraction of far-apart instants could overflow */
		if (i + 1 < n && views[i + 1].ts < views[i].ts + state->params.idle_gap)
			credit = views[i + 1].ts - views[i].ts;
		else
			credit = state->params.credit;

		day = EleDayOf(&cache, views[i].ts);
		if (open[m] && open_day[m] != day)
		{
			EleEmit(&list, m, open_day[m], open_usec[m]);
			open[m] = false;
		}
		if (!open[m])
		{
			open[m] = true;
			open_day[m] = day;
			open_usec[m] = 0;
		}
		open_usec[m] += credit;
	}
	for (int32 m = 0; m < state->nmodules; m++)
		if (open[m])
			EleEmit(&list, m, open_day[m], open_usec[m]);

	ordered = palloc_extended(Max(list.n, 1) * sizeof(EleCredit), MCXT_ALLOC_HUGE);
	for (int32 m = 0; m < state->nmodules; m++)
		for (int64 c = list.head[m]; c >= 0; c = list.items[c].next)
			ordered[k++] = list.items[c];
	Assert(k == list.n);

	pfree(list.items);
	pfree(list.head);
	pfree(list.tail);
	pfree(open_day);
	pfree(open_usec);
	pfree(open);
	*ncredits = k;
	return ordered;
}

PG_FUNCTION_INFO_V1(engage_ele_minutes_final);
Datum
engage_ele_minutes_final(PG_FUNCTION_ARGS)
{
	EleState   *state;
	EngageRowArrayType *type;
	EleCredit  *credits;
	int64		ncredits;
	Datum	   *elems;
	ArrayType  *result;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "engage.ele_minutes final function called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (EleState *) PG_GETARG_POINTER(0);
	if (state->nviews == 0)
		PG_RETURN_NULL();

	type = EngageGetRowArrayType(fcinfo);
	EleNormalize(state);
	credits = EleCredits(state, &ncredits);
	if (ncredits == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(type->elemtype));
	if ((Size) ncredits > MaxAllocSize / sizeof(Datum))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("engage.ele_minutes result has too many elements"),
				 errhint("Group the page views by student.")));

	elems = palloc(ncredits * sizeof(Datum));
	for (int64 i = 0; i < ncredits; i++)
	{
		const EleModule *m = &state->modules[credits[i].module];
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = PointerGetDatum(cstring_to_text_with_len(EleModuleName(m), m->len));
		values[1] = DateADTGetDatum(credits[i].day);
		values[2] = Float8GetDatum(credits[i].usec / (double) USECS_PER_MINUTE);
		elems[i] = HeapTupleGetDatum(heap_form_tuple(type->tupdesc, values, nulls));
	}
	result = construct_array(elems, (int) ncredits, type->elemtype, -1, false, TYPALIGN_DOUBLE);
	PG_RETURN_ARRAYTYPE_P(result);
}

/* Adds every view of src to dst, which may live in another context. */
static void
EleMerge(EleState *dst, const EleState *src)
{
	int32	   *map = palloc(Max(src->nmodules, 1) * sizeof(int32));

	EleCheckSameParams(&dst->params, &src->params);
	for (int32 i = 0; i < src->nmodules; i++)
		map[i] = EleModuleIndex(dst, EleModuleName(&src->modules[i]), src->modules[i].len);
	for (int64 i = 0; i < src->nviews; i++)
	{
		int32		m = src->views[i].module;

		EleAddView(dst, src->views[i].ts, m == ELE_NO_MODULE ? m : map[m]);
	}
	pfree(map);
}

PG_FUNCTION_INFO_V1(engage_ele_minutes_combine);
Datum
engage_ele_minutes_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	EleState   *state1;
	EleState   *state2;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.ele_minutes combine function called in non-aggregate context");

	state1 = PG_ARGISNULL(0) ? NULL : (EleState *) PG_GETARG_POINTER(0);
	state2 = PG_ARGISNULL(1) ? NULL : (EleState *) PG_GETARG_POINTER(1);
	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}
	if (state1 == NULL)
		state1 = EleStateCreate(aggctx, &state2->params);
	EleMerge(state1, state2);
	PG_RETURN_POINTER(state1);
}

PG_FUNCTION_INFO_V1(engage_ele_minutes_serialize);
Datum
engage_ele_minutes_serialize(PG_FUNCTION_ARGS)
{
	EleState   *state;
	StringInfoData buf;
	Size		needed;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "engage.ele_minutes serialize function called in non-aggregate context");
	state = (EleState *) PG_GETARG_POINTER(0);

	needed = sizeof(EleParams) + state->nviews * (sizeof(int64) + sizeof(int32));
	for (int32 i = 0; i < state->nmodules; i++)
		needed += sizeof(int32) + state->modules[i].len;
	if (needed > MaxAllocSize - VARHDRSZ - 64)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many page views in one group to pass between parallel workers"),
				 errdetail("The group holds %lld page views.", (long long) state->nviews),
				 errhint("Group the page views by student, or SET max_parallel_workers_per_gather = 0.")));

	/* States only travel between processes of one server: raw parameters suffice. */
	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, needed + 16);
	pq_sendbytes(&buf, (const char *) &state->params, sizeof(EleParams));
	pq_sendint32(&buf, state->nmodules);
	for (int32 i = 0; i < state->nmodules; i++)
	{
		pq_sendint32(&buf, state->modules[i].len);
		pq_sendbytes(&buf, EleModuleName(&state->modules[i]), state->modules[i].len);
	}
	pq_sendint64(&buf, state->nviews);
	for (int64 i = 0; i < state->nviews; i++)
	{
		pq_sendint64(&buf, state->views[i].ts);
		pq_sendint32(&buf, state->views[i].module);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(engage_ele_minutes_deserialize);
Datum
engage_ele_minutes_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	bytea	   *bytes;
	StringInfoData buf;
	EleParams	params;
	EleState   *state;
	int32		nmodules;
	int64		nviews;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.ele_minutes deserialize function called in non-aggregate context");
	bytes = PG_GETARG_BYTEA_PP(0);
	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	pq_copymsgbytes(&buf, (char *) &params, sizeof(EleParams));
	params.zone[TZ_STRLEN_MAX] = '\0';
	state = EleStateCreate(aggctx, &params);

	nmodules = pq_getmsgint(&buf, 4);
	for (int32 i = 0; i < nmodules; i++)
	{
		int32		len = pq_getmsgint(&buf, 4);

		if (len < 0)
			elog(ERROR, "corrupt engage.ele_minutes state");
		if (EleModuleIndex(state, pq_getmsgbytes(&buf, len), len) != i)
			elog(ERROR, "corrupt engage.ele_minutes state");
	}

	nviews = pq_getmsgint64(&buf);
	if (nviews < 0 || (Size) nviews > (MaxAllocHugeSize / sizeof(EleView)))
		elog(ERROR, "corrupt engage.ele_minutes state");
	if (nviews > state->maxviews)
	{
		state->maxviews = nviews;
		state->views = repalloc_huge(state->views, nviews * sizeof(EleView));
	}
	for (int64 i = 0; i < nviews; i++)
	{
		TimestampTz ts = pq_getmsgint64(&buf);
		int32		module = pq_getmsgint(&buf, 4);

		if (module < ELE_NO_MODULE || module >= nmodules)
			elog(ERROR, "corrupt engage.ele_minutes state");
		state->views[i].ts = ts;
		state->views[i].module = module;
	}
	state->nviews = nviews;
	pq_getmsgend(&buf);

	PG_RETURN_POINTER(state);
}
