/*
 * profile.h
 *		One student's daily engagement profile, computed in one pass.
 */
#ifndef ENGAGE_PROFILE_H
#define ENGAGE_PROFILE_H

#include "ele.h"

#include "utils/date.h"

/* What a row fed to engage.daily_profile is. */
#define PROFILE_VIEW	'v'		/* a VLE page view: ts, module_code */
#define PROFILE_APP		'a'		/* a student-app menu choice: ts */
#define PROFILE_CAREER	'c'		/* an attended careers event: day */
#define PROFILE_STORED	's'		/* a day computed before: day, module_code, x, y, z */
#define PROFILE_MODULE	'm'		/* an enrolment: module_code from day to until */
#define PROFILE_WEIGHTS 'w'		/* consent in force from day to until, weights x, y, z */

/* An enrolment or a span of consent, or a stored day, as fed. */
typedef struct ProfileItem
{
	char		kind;
	char	   *module;			/* NULL: overall, or no module */
	int32		module_len;
	DateADT		day;
	DateADT		until;
	double		x;
	double		y;
	double		z;
} ProfileItem;

/* Aggregate state of engage.daily_profile: one student's rows. */
typedef struct ProfileState
{
	DateADT		from_day;		/* first day of the result */
	DateADT		to_day;			/* last day of the result */
	DateADT		first;			/* from_day - 6: first day any window reads */
	int32		ndays;			/* days from first to to_day */
	EleState   *ele;			/* the page views, and every module named */
	pg_tz	   *tz;				/* engage.time_zone: the day of an app choice */
	int64	   *app;			/* raw app choices per day */
	int64	   *career;			/* raw attended careers events per day */
	ProfileItem *items;			/* stored days, enrolments, consent spans */
	int32		nitems;
	int32		maxitems;
} ProfileState;

#endif							/* ENGAGE_PROFILE_H */
