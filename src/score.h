/*
 * score.h
 *		The engagement score: 7-day moving averages of daily activity.
 */
#ifndef ENGAGE_SCORE_H
#define ENGAGE_SCORE_H

#include "engage.h"

#include "utils/date.h"

/* Days in the moving window of the score, the day itself included. */
#define SCORE_WINDOW_DAYS 7

/* Longest series one call may produce, about a century of days. */
#define SCORE_MAX_DAYS 36600

/* Aggregate state of engage.engagement_series: one slot per day. */
typedef struct ScoreSeries
{
	DateADT		from_day;		/* first day of the result */
	DateADT		to_day;			/* last day of the result */
	DateADT		first;			/* from_day - 6: first day that counts */
	int32		ndays;			/* days from first to to_day */
	double	   *ele_minutes;
	int64	   *app_choices;
	int64	   *career_events;
} ScoreSeries;

/* Refuses a range of days fn cannot make a series for. */
extern void ScoreCheckRange(const char *fn, DateADT from_day, DateADT to_day);

#endif							/* ENGAGE_SCORE_H */
