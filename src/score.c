/*
 * score.c
 *		engage.engagement_series(day, ele_minutes, app_choices, career_events,
 *		from_day, to_day) and engage.score(...): the 7-day moving averages
 *		behind the engagement score.
 *
 * The series has a value for every day from from_day to to_day; a day with no
 * row counts as zero, so the averages decay to zero when a student stops
 * engaging.  Rows of one day add up.  Each day's window is summed afresh from
 * its seven daily values rather than by adding and subtracting, so the result
 * never drifts and is the same whatever range it is computed in.
 */
#include "score.h"
#include "day.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"

/*
 * Refuses a range of days that the day-series aggregates (fn) cannot make:
 * infinite, reversed, or longer than SCORE_MAX_DAYS.
 */
void
ScoreCheckRange(const char *fn, DateADT from_day, DateADT to_day)
{
	if (DATE_NOT_FINITE(from_day) || DATE_NOT_FINITE(to_day))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_day and to_day of %s must be finite dates", fn)));
	if (from_day > to_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("from_day must not be after to_day"),
				 errdetail("from_day was %s and to_day was %s.",
						   EngageDateText(from_day), EngageDateText(to_day))));
	if ((int64) to_day - from_day >= SCORE_MAX_DAYS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s covers at most %d days", fn, SCORE_MAX_DAYS),
				 errdetail("from_day was %s and to_day was %s.",
						   EngageDateText(from_day), EngageDateText(to_day))));
}

/* Checks the requested range and makes the zeroed state for it. */
static ScoreSeries *
ScoreSeriesCreate(MemoryContext ctx, DateADT from_day, DateADT to_day)
{
	ScoreSeries *series;

	ScoreCheckRange("engage.engagement_series", from_day, to_day);
	series = MemoryContextAllocZero(ctx, sizeof(ScoreSeries));
	series->from_day = from_day;
	series->to_day = to_day;
	series->first = from_day - (SCORE_WINDOW_DAYS - 1);
	series->ndays = to_day - series->first + 1;
	series->ele_minutes = MemoryContextAllocZero(ctx, series->ndays * sizeof(double));
	series->app_choices = MemoryContextAllocZero(ctx, series->ndays * sizeof(int64));
	series->career_events = MemoryContextAllocZero(ctx, series->ndays * sizeof(int64));
	return series;
}

/* Reads a count argument: NULL is zero, a negative count is an error. */
static int64
ScoreCountArg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	int64		value;

	if (PG_ARGISNULL(argno))
		return 0;
	value = PG_GETARG_INT64(argno);
	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s must not be negative", name),
				 errdetail("%s was " INT64_FORMAT ".", name, value)));
	return value;
}

PG_FUNCTION_INFO_V1(engage_engagement_series_trans);
Datum
engage_engagement_series_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	ScoreSeries *series;
	DateADT		from_day;
	DateADT		to_day;
	DateADT		day;
	double		ele;
	int64		app;
	int64		events;
	int32		slot;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.engagement_series transition called in non-aggregate context");

	if (PG_ARGISNULL(5) || PG_ARGISNULL(6))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("from_day and to_day of engage.engagement_series must not be null")));
	from_day = PG_GETARG_DATEADT(5);
	to_day = PG_GETARG_DATEADT(6);

	if (PG_ARGISNULL(0))
		series = ScoreSeriesCreate(aggctx, from_day, to_day);
	else
	{
		series = (ScoreSeries *) PG_GETARG_POINTER(0);
		if (series->from_day != from_day || series->to_day != to_day)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("from_day and to_day must be the same on every row of a group")));
	}

	/* A row without a day still asks for the series: all zeros. */
	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(series);
	day = PG_GETARG_DATEADT(1);

	ele = PG_ARGISNULL(2) ? 0.0 : PG_GETARG_FLOAT8(2);
	if (isnan(ele) || isinf(ele) || ele < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("ele_minutes must be a finite number of at least zero"),
				 errdetail("ele_minutes was %g on %s.", ele,
						   DATE_NOT_FINITE(day) ? "an infinite day" : EngageDateText(day))));
	app = ScoreCountArg(fcinfo, 3, "app_choices");
	events = ScoreCountArg(fcinfo, 4, "career_events");

	/* days outside the window of any result day do not count */
	if (DATE_NOT_FINITE(day) || day < series->first || day > series->to_day)
		PG_RETURN_POINTER(series);

	slot = day - series->first;
	series->ele_minutes[slot] += ele;
	if (isinf(series->ele_minutes[slot]))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("daily ELE minutes out of range on %s", EngageDateText(day))));
	if (pg_add_s64_overflow(series->app_choices[slot], app, &series->app_choices[slot]) ||
		pg_add_s64_overflow(series->career_events[slot], events, &series->career_events[slot]))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("daily count out of range on %s", EngageDateText(day))));
	PG_RETURN_POINTER(series);
}

PG_FUNCTION_INFO_V1(engage_engagement_series_final);
Datum
engage_engagement_series_final(PG_FUNCTION_ARGS)
{
	ScoreSeries *series;
	EngageRowArrayType *type;
	int32		nresult;
	Datum	   *elems;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "engage.engagement_series final function called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	series = (ScoreSeries *) PG_GETARG_POINTER(0);
	type = EngageGetRowArrayType(fcinfo);

	nresult = series->to_day - series->from_day + 1;
	elems = palloc(nresult * sizeof(Datum));
	for (int32 i = 0; i < nresult; i++)
	{
		int32		slot = i + SCORE_WINDOW_DAYS - 1;
		double		ele_sum = 0.0;
		int64		app_sum = 0;
		int64		events_sum = 0;
		Datum		values[7];
		bool		nulls[7] = {false, false, false, false, false, false, false};

		for (int32 k = slot - (SCORE_WINDOW_DAYS - 1); k <= slot; k++)
		{
			ele_sum += series->ele_minutes[k];
			if (pg_add_s64_overflow(app_sum, series->app_choices[k], &app_sum) ||
				pg_add_s64_overflow(events_sum, series->career_events[k], &events_sum) ||
				isinf(ele_sum))
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("7-day sums out of range on %s",
								EngageDateText(series->from_day + i))));
		}
		values[0] = DateADTGetDatum(series->from_day + i);
		values[1] = Float8GetDatum(series->ele_minutes[slot]);
		values[2] = Int64GetDatum(series->app_choices[slot]);
		values[3] = Int64GetDatum(series->career_events[slot]);
		values[4] = Float8GetDatum(ele_sum / SCORE_WINDOW_DAYS);
		values[5] = Float8GetDatum((double) app_sum / SCORE_WINDOW_DAYS);
		values[6] = Float8GetDatum((double) events_sum / SCORE_WINDOW_DAYS);
		elems[i] = HeapTupleGetDatum(heap_form_tuple(type->tupdesc, values, nulls));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, nresult, type->elemtype,
										  -1, false, TYPALIGN_DOUBLE));
}

PG_FUNCTION_INFO_V1(engage_score);
Datum
engage_score(PG_FUNCTION_ARGS)
{
	float8		ele_mean = PG_GETARG_FLOAT8(0);
	float8		app_mean = PG_GETARG_FLOAT8(1);
	float8		events_mean = PG_GETARG_FLOAT8(2);
	float8		ele = PG_GETARG_FLOAT8(3);
	float8		app = PG_GETARG_FLOAT8(4);
	float8		events = PG_GETARG_FLOAT8(5);
	float8		score = ele * ele_mean + app * app_mean + events * events_mean;

	if (!isfinite(score))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("engagement score out of range"),
				 errdetail("The means were %g, %g and %g and the weights %g, %g and %g.",
						   ele_mean, app_mean, events_mean, ele, app, events)));
	PG_RETURN_FLOAT8(score);
}
