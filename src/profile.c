/*
 * profile.c
 *		engage.daily_profile(kind, ts, module_code, day, until, x, y, z,
 *		from_day, to_day): one student's engagement profile, from their raw
 *		streams to the rows engage.daily_engagement stores, in one pass.
 *
 * A group holds one student's rows, each of one kind (profile.h):
 *   'v' a VLE page view; 'a' an app choice; 'c' an attended careers event;
 *   's' a day computed before (its minutes x, app choices y and careers
 *       events z), which stands in for that day's raw events;
 *   'm' an enrolment: module_code has a series from day to until;
 *   'w' consent in force from day to until, with the weights of those days
 *       (ele x, app y, events z).
 * The result has a row for every day from from_day to to_day on which
 * consent is in force: the overall series (module_code NULL) and one per
 * module the student is enrolled on that day, with the day's figures, their
 * sums over the 7 days ending on it and the score.
 *
 * The rule's arithmetic lives here and nowhere else: ELE minutes by the rule
 * of ele.c, exact to the microsecond per module and day; a day's overall
 * minutes summed over modules in module order; days without consent count as
 * zero ("no profiling without consent"), as do days without activity; each
 * window summed afresh in day order, so that the same day gives the same bits
 * whatever range or order computed it.
 */
#include "profile.h"
#include "day.h"
#include "score.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

/* Checks the requested range and makes the empty state for it. */
static ProfileState *
ProfileStateCreate(MemoryContext ctx, DateADT from_day, DateADT to_day)
{
	ProfileState *state;
	EleParams	params;

	ScoreCheckRange("engage.daily_profile", from_day, to_day);

	EleParamsFromSettings(&params);
	state = MemoryContextAllocZero(ctx, sizeof(ProfileState));
	state->from_day = from_day;
	state->to_day = to_day;
	state->first = from_day - (SCORE_WINDOW_DAYS - 1);
	state->ndays = to_day - state->first + 1;
	state->ele = EleStateCreate(ctx, &params);
	state->tz = pg_tzset(params.zone);
	state->app = MemoryContextAllocZero(ctx, state->ndays * sizeof(int64));
	state->career = MemoryContextAllocZero(ctx, state->ndays * sizeof(int64));
	state->maxitems = 16;
	state->items = MemoryContextAlloc(ctx, state->maxitems * sizeof(ProfileItem));
	return state;
}

/* The slot of a day in the state's arrays, or -1 outside [first, to_day]. */
static inline int32
ProfileSlot(const ProfileState *state, DateADT day)
{
	if (DATE_NOT_FINITE(day) || day < state->first || day > state->to_day)
		return -1;
	return day - state->first;
}

/* Reads a date argument that the kind of row needs. */
static DateADT
ProfileDateArg(FunctionCallInfo fcinfo, int argno, char kind, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a row of kind '%c' of engage.daily_profile needs %s", kind, name)));
	return PG_GETARG_DATEADT(argno);
}

/* Reads one of x, y, z: finite, and for a stored day not negative. */
static double
ProfileNumberArg(FunctionCallInfo fcinfo, int argno, char kind)
{
	double		value = PG_ARGISNULL(argno) ? 0.0 : PG_GETARG_FLOAT8(argno);

	if (!isfinite(value) || (kind == PROFILE_STORED && value < 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("a row of kind '%c' of engage.daily_profile needs finite%s figures",
						kind, kind == PROFILE_STORED ? ", non-negative" : ""),
				 errdetail("%g was given.", value)));
	return value;
}

/* Keeps a stored day, an enrolment or a consent span for the final function. */
static void
ProfileAddItem(FunctionCallInfo fcinfo, MemoryContext ctx, ProfileState *state, char kind)
{
	ProfileItem *item;

	if (state->nitems == state->maxitems)
	{
		state->maxitems *= 2;
		state->items = repalloc(state->items, state->maxitems * sizeof(ProfileItem));
	}
	item = &state->items[state->nitems];
	memset(item, 0, sizeof(ProfileItem));
	item->kind = kind;
	item->day = ProfileDateArg(fcinfo, 4, kind, "a day");
	item->until = kind == PROFILE_STORED ? item->day : ProfileDateArg(fcinfo, 5, kind, "an until day");
	if (!PG_ARGISNULL(3))
	{
		text	   *module = PG_GETARG_TEXT_PP(3);

		item->module_len = VARSIZE_ANY_EXHDR(module);
		item->module = MemoryContextAlloc(ctx, item->module_len);
		memcpy(item->module, VARDATA_ANY(module), item->module_len);
		/* every module is in the table before it is sorted */
		(void) EleModuleIndex(state->ele, item->module, item->module_len);
	}
	else if (kind == PROFILE_MODULE)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("an enrolment row of engage.daily_profile needs a module_code")));
	item->x = ProfileNumberArg(fcinfo, 6, kind);
	item->y = ProfileNumberArg(fcinfo, 7, kind);
	item->z = ProfileNumberArg(fcinfo, 8, kind);
	state->nitems++;
}

PG_FUNCTION_INFO_V1(engage_daily_profile_trans);
Datum
engage_daily_profile_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	MemoryContext old;
	ProfileState *state;
	DateADT		from_day;
	DateADT		to_day;
	char		kind;
	int32		slot;
	int			offset;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.daily_profile transition called in non-aggregate context");
	if (PG_ARGISNULL(9) || PG_ARGISNULL(10))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("from_day and to_day of engage.daily_profile must not be null")));
	from_day = PG_GETARG_DATEADT(9);
	to_day = PG_GETARG_DATEADT(10);

	if (PG_ARGISNULL(0))
		state = ProfileStateCreate(aggctx, from_day, to_day);
	else
	{
		state = (ProfileState *) PG_GETARG_POINTER(0);
		if (state->from_day != from_day || state->to_day != to_day)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("from_day and to_day must be the same on every row of a group")));
	}
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the kind of a row of engage.daily_profile must not be null")));
	kind = PG_GETARG_CHAR(1);

	/* the module table and the views grow in the aggregate's context */
	old = MemoryContextSwitchTo(aggctx);
	switch (kind)
	{
		case PROFILE_VIEW:
			if (PG_ARGISNULL(2))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("a page view of engage.daily_profile needs a timestamp")));
			if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(2)))
				break;
			EleAddViewOf(state->ele, PG_GETARG_TIMESTAMPTZ(2),
						 PG_ARGISNULL(3) ? NULL : PG_GETARG_TEXT_PP(3));
			break;
		case PROFILE_APP:
			if (PG_ARGISNULL(2))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("an app choice of engage.daily_profile needs a timestamp")));
			if (TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(2)))
				break;
			slot = ProfileSlot(state, EngageLocalDate(PG_GETARG_TIMESTAMPTZ(2), state->tz, &offset));
			if (slot >= 0)
				state->app[slot]++;
			break;
		case PROFILE_CAREER:
			slot = ProfileSlot(state, ProfileDateArg(fcinfo, 4, kind, "a day"));
			if (slot >= 0)
				state->career[slot]++;
			break;
		case PROFILE_STORED:
		case PROFILE_MODULE:
		case PROFILE_WEIGHTS:
			ProfileAddItem(fcinfo, aggctx, state, kind);
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown kind '%c' of a row of engage.daily_profile", kind),
					 errhint("Use 'v' (page view), 'a' (app choice), 'c' (careers event), "
							 "'s' (stored day), 'm' (enrolment) or 'w' (consent and weights).")));
	}
	MemoryContextSwitchTo(old);
	PG_RETURN_POINTER(state);
}

/* The module index of an item's module after the modules were sorted. */
static int32
ProfileItemModule(ProfileState *state, const ProfileItem *item, int32 nmodules)
{
	int32		module;

	if (item->module == NULL)
		return ELE_NO_MODULE;
	module = EleModuleIndex(state->ele, item->module, item->module_len);
	if (module >= nmodules)
		elog(ERROR, "module of an engage.daily_profile row was not collected");
	return module;
}

/* Refuses a figure that does not fit its column. */
static int32
ProfileInt32(int64 value, const char *what, DateADT day)
{
	if (value > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s out of range on %s", what, EngageDateText(day))));
	return (int32) value;
}

PG_FUNCTION_INFO_V1(engage_daily_profile_final);
Datum
engage_daily_profile_final(PG_FUNCTION_ARGS)
{
	ProfileState *state;
	EngageRowArrayType *type;
	int32		ndays;
	int32		nmodules;
	double	   *minutes;		/* [module][day]: ELE minutes */
	double	   *overall;		/* [day]: ELE minutes over all modules */
	bool	   *overall_stored;
	int64	   *app;
	int64	   *career;
	const ProfileItem **weights;	/* [day]: the consent span, or NULL */
	bool	   *enrolled;		/* [module][day] */
	EleCredit  *credits;
	int64		ncredits;
	Datum	   *elems;
	int64		nelems = 0;
	int64		maxelems;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "engage.daily_profile final function called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (ProfileState *) PG_GETARG_POINTER(0);
	type = EngageGetRowArrayType(fcinfo);
	ndays = state->ndays;

	/* sorting renumbers the modules: items are resolved by name after it */
	EleNormalize(state->ele);
	nmodules = state->ele->nmodules;
	minutes = palloc0(sizeof(double) * Max(nmodules, 1) * (Size) ndays);
	overall = palloc0(ndays * sizeof(double));
	overall_stored = palloc0(ndays * sizeof(bool));
	app = palloc(ndays * sizeof(int64));
	career = palloc(ndays * sizeof(int64));
	memcpy(app, state->app, ndays * sizeof(int64));
	memcpy(career, state->career, ndays * sizeof(int64));
	weights = palloc0(ndays * sizeof(const ProfileItem *));
	enrolled = palloc0(sizeof(bool) * Max(nmodules, 1) * (Size) ndays);

	credits = EleCredits(state->ele, &ncredits);
	for (int64 i = 0; i < ncredits; i++)
	{
		int32		slot = ProfileSlot(state, credits[i].day);

		if (slot >= 0)
			minutes[credits[i].module * (Size) ndays + slot] =
				credits[i].usec / (double) USECS_PER_MINUTE;
	}

	for (int32 i = 0; i < state->nitems; i++)
	{
		const ProfileItem *item = &state->items[i];
		int32		module = ProfileItemModule(state, item, nmodules);
		DateADT		lo = Max(item->day, state->first);
		DateADT		hi = Min(item->until, state->to_day);

		for (DateADT day = lo; day <= hi; day++)
		{
			int32		slot = day - state->first;

			switch (item->kind)
			{
				case PROFILE_STORED:
					if (module == ELE_NO_MODULE)
					{
						overall[slot] = item->x;
						overall_stored[slot] = true;
						app[slot] = (int64) item->y;
						career[slot] = (int64) item->z;
					}
					else
						minutes[module * (Size) ndays + slot] = item->x;
					break;
				case PROFILE_MODULE:
					enrolled[module * (Size) ndays + slot] = true;
					break;
				case PROFILE_WEIGHTS:
					if (weights[slot] != NULL)
						ereport(ERROR,
								(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
								 errmsg("two spans of consent of engage.daily_profile cover %s",
										EngageDateText(day))));
					weights[slot] = item;
					break;
			}
		}
	}

	/*
	 * A day's overall minutes in module order, as the views of a day add up;
	 * then every figure of a day without consent is zero.
	 */
	for (int32 slot = 0; slot < ndays; slot++)
	{
		if (!overall_stored[slot])
		{
			double		sum = 0.0;

			for (int32 m = 0; m < nmodules; m++)
				sum += minutes[m * (Size) ndays + slot];
			overall[slot] = sum;
		}
		if (weights[slot] == NULL)
		{
			overall[slot] = 0.0;
			app[slot] = 0;
			career[slot] = 0;
			for (int32 m = 0; m < nmodules; m++)
				minutes[m * (Size) ndays + slot] = 0.0;
		}
	}

	maxelems = 16;
	elems = palloc(maxelems * sizeof(Datum));
	for (DateADT day = state->from_day; day <= state->to_day; day++)
	{
		int32		slot = day - state->first;
		const ProfileItem *w = weights[slot];
		int64		app7 = 0;
		int64		career7 = 0;

		if (w == NULL)
			continue;
		for (int32 k = slot - (SCORE_WINDOW_DAYS - 1); k <= slot; k++)
			if (pg_add_s64_overflow(app7, app[k], &app7) ||
				pg_add_s64_overflow(career7, career[k], &career7))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("7-day sums out of range on %s", EngageDateText(day))));

		/* the overall series first, then each module enrolled that day */
		for (int32 m = ELE_NO_MODULE; m < nmodules; m++)
		{
			const double *series = m == ELE_NO_MODULE ? overall : &minutes[m * (Size) ndays];
			double		ele7 = 0.0;
			double		score;
			Datum		values[9];
			bool		nulls[9] = {false, false, false, false, false, false, false, false, false};

			if (m != ELE_NO_MODULE && !enrolled[m * (Size) ndays + slot])
				continue;
			for (int32 k = slot - (SCORE_WINDOW_DAYS - 1); k <= slot; k++)
				ele7 += series[k];
			score = w->x * (ele7 / SCORE_WINDOW_DAYS) +
				w->y * ((double) app7 / SCORE_WINDOW_DAYS) +
				w->z * ((double) career7 / SCORE_WINDOW_DAYS);
			if (!isfinite(ele7) || !isfinite(score))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("engagement score out of range on %s", EngageDateText(day)),
						 errdetail("The 7-day sums were %g minutes, " INT64_FORMAT " app choices and "
								   INT64_FORMAT " careers events; the weights %g, %g and %g.",
								   ele7, app7, career7, w->x, w->y, w->z)));

			if (m == ELE_NO_MODULE)
				nulls[0] = true;
			else
				values[0] = PointerGetDatum(cstring_to_text_with_len(EleModuleName(&state->ele->modules[m]),
																	 state->ele->modules[m].len));
			values[1] = DateADTGetDatum(day);
			values[2] = Float8GetDatum(series[slot]);
			values[3] = Int32GetDatum(ProfileInt32(app[slot], "app choices", day));
			values[4] = Int32GetDatum(ProfileInt32(career[slot], "careers events", day));
			values[5] = Float8GetDatum(ele7);
			values[6] = Int32GetDatum(ProfileInt32(app7, "7-day app choices", day));
			values[7] = Int32GetDatum(ProfileInt32(career7, "7-day careers events", day));
			values[8] = Float8GetDatum(score);
			if (nelems == maxelems)
			{
				maxelems *= 2;
				elems = repalloc_huge(elems, maxelems * sizeof(Datum));
			}
			elems[nelems++] = HeapTupleGetDatum(heap_form_tuple(type->tupdesc, values, nulls));
		}
	}
	if (nelems == 0)
		PG_RETURN_NULL();
	if ((Size) nelems > MaxAllocSize / sizeof(Datum))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("engage.daily_profile result has too many elements"),
				 errhint("Group the rows by student, and refresh a shorter range.")));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, (int) nelems, type->elemtype,
										  -1, false, TYPALIGN_DOUBLE));
}

/*
 * The days and instants engage.daily_profile reads to compute from_day to
 * to_day from raw events: the windows look back to first_day, and the last
 * view of to_day is credited up to engage.idle_gap after its midnight.  So the
 * caller never restates the window or the local day.
 */
PG_FUNCTION_INFO_V1(engage_profile_range);
Datum
engage_profile_range(PG_FUNCTION_ARGS)
{
	DateADT		from_day = PG_GETARG_DATEADT(0);
	DateADT		to_day = PG_GETARG_DATEADT(1);
	TimestampTz to_ts;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (DATE_NOT_FINITE(from_day) || DATE_NOT_FINITE(to_day) || from_day > to_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_day and to_day of engage.profile_range must be finite, in order")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "engage.profile_range must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = DateADTGetDatum(from_day - (SCORE_WINDOW_DAYS - 1));
	values[1] = TimestampTzGetDatum(EngageLocalMidnight(from_day - (SCORE_WINDOW_DAYS - 1), engage_tz));
	to_ts = EngageLocalMidnight(to_day + 1, engage_tz) + (TimestampTz) engage_idle_gap_ms * 1000;
	/* past the last timestamp by the idle gap: every later view counts */
	if (!IS_VALID_TIMESTAMP(to_ts))
		TIMESTAMP_NOEND(to_ts);
	values[2] = TimestampTzGetDatum(to_ts);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
