/*
 * ele.h
 *		The ELE-minutes rule: how VLE page views become minutes of engagement.
 */
#ifndef ENGAGE_ELE_H
#define ENGAGE_ELE_H

#include "engage.h"

#include "datatype/timestamp.h"
#include "utils/date.h"
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

/* Minutes credited to one module on one day, in microseconds. */
typedef struct EleCredit
{
	int32		module;
	DateADT		day;
	int64		usec;
	int64		next;			/* the module's next credit, or -1 */
} EleCredit;

/* Appends one view, growing the array geometrically. */
static inline void
EleAddView(EleState *state, TimestampTz ts, int32 module)
{
	if (state->nviews == state->maxviews)
	{
		state->maxviews *= 2;
		state->views = repalloc_huge(state->views,
									 state->maxviews * sizeof(EleView));
	}
	state->views[state->nviews].ts = ts;
	state->views[state->nviews].module = module;
	state->nviews++;
}

/* What engage's daily profile reuses of the rule (src/profile.c). */
extern void EleParamsFromSettings(EleParams *params);
extern EleState *EleStateCreate(MemoryContext ctx, const EleParams *params);
extern int32 EleModuleIndex(EleState *state, const char *name, int32 len);

/* Appends one view of a module named by text, or of no module (NULL). */
static inline void
EleAddViewOf(EleState *state, TimestampTz ts, text *module)
{
	EleAddView(state, ts,
			   module == NULL ? ELE_NO_MODULE
			   : EleModuleIndex(state, VARDATA_ANY(module), VARSIZE_ANY_EXHDR(module)));
}
/* Sorts modules by name (index order is then name order) and views by time. */
extern void EleNormalize(EleState *state);
/* The credits of the sorted views, ordered by module, then day. */
extern EleCredit *EleCredits(EleState *state, int64 *ncredits);

#endif							/* ENGAGE_ELE_H */
