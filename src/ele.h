/*
 * ele.h
 *		The ELE-minutes rule: how VLE page views become minutes of engagement.
 */
#ifndef ENGAGE_ELE_H
#define ENGAGE_ELE_H

#include "engage.h"

#include "datatype/timestamp.h"
#include "pgtime.h"

/* Module index of a page that belongs to no module. */
#define ELE_NO_MODULE (-1)

/* One page view: when, and which module (an index into EleState.modules). */
typedef struct EleView
{
	TimestampTz ts;
	int32		module;
} EleView;

/* The rule's parameters; every view of one group must share them. */
typedef struct EleParams
{
	int64		idle_gap;		/* microseconds; a gap this long or longer is idle */
	int64		credit;			/* microseconds credited after an idle gap */
	char		zone[TZ_STRLEN_MAX + 1];	/* time zone that decides the day */
} EleParams;

/* Module names this long or shorter are kept inside EleModule itself. */
#define ELE_INLINE_NAME 16

/*
 * A module name held by the state (not NUL-terminated).  Module codes are
 * short: kept inline, the name shares a cache line with its length, which
 * the lookup done for every row reads anyway.  Use EleModuleName().
 */
typedef struct EleModule
{
	int32		len;
	union
	{
		char		inline_name[ELE_INLINE_NAME];
		char	   *long_name;
	}			u;
} EleModule;

static inline const char *
EleModuleName(const EleModule *m)
{
	return m->len <= ELE_INLINE_NAME ? m->u.inline_name : m->u.long_name;
}

/* Aggregate state of engage.ele_minutes: one group's views, unordered. */
typedef struct EleState
{
	EleParams	params;
	EleView    *views;
	int64		nviews;
	int64		maxviews;
	EleModule  *modules;
	int32		nmodules;
	int32		maxmodules;
	int32	   *slots;			/* open-addressing hash: module name -> index */
	int32		nslots;			/* a power of two, at least twice nmodules */
	int32		lastModule;		/* module of the previous row, checked first */
} EleState;

#endif							/* ENGAGE_ELE_H */
