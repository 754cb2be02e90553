/*
 * cohort.c
 *		The arithmetic of the cohort figures:
 *
 *		engage.stable_avg(double precision): the mean of a group of floats
 *		whose bits do not depend on the order the rows arrive in.
 *
 *		engage.stable_median(double precision): the median of the same kept
 *		values, as percentile_cont(0.5) gives it.
 *
 *		engage.symmetric_difference_size(text[], text[]): how many members
 *		two groups do not share, for the rule that leaves out a group whose
 *		figures would follow by difference from another's.
 *
 *		engage.byte_sorted(text[]): a group's members in the byte order
 *		symmetric_difference_size reads them in.
 *
 * A float sum depends on the order of its terms, and the order rows reach
 * an aggregate depends on the plan, on the table's physical order and on
 * parallel workers.  The cohort figures must not change with any of those,
 * so the values are kept and summed in ascending order when the group is
 * complete.  The groups it is used on are small (a student's days in a
 * week, the students of a cohort), so keeping them costs little: far less
 * than the conversion to numeric it replaces.
 */
#include "compat.h"

#include <math.h>

#include "fmgr.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "access/tupmacs.h"
#include "utils/builtins.h"

typedef struct StableAvgState
{
	int64		n;
	int64		max;
	double	   *values;
} StableAvgState;

static StableAvgState *
StableAvgCreate(MemoryContext ctx)
{
	StableAvgState *state = MemoryContextAlloc(ctx, sizeof(StableAvgState));

	state->n = 0;
	state->max = 8;
	state->values = MemoryContextAlloc(ctx, state->max * sizeof(double));
	return state;
}

static void
StableAvgReserve(StableAvgState *state, int64 more)
{
	int64		want = state->n + more;

	if (want <= state->max)
		return;
	if ((Size) want > MaxAllocHugeSize / sizeof(double) / 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("engage.stable_avg holds at most %zu values in one group",
						MaxAllocHugeSize / sizeof(double) / 2)));
	while (state->max < want)
		state->max *= 2;
	state->values = repalloc_huge(state->values, state->max * sizeof(double));
}

/* A total order: by value, and equal values (0 and -0) by their bits. */
static int
StableAvgCompare(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;
	uint64		bx;
	uint64		by;

	if (x < y)
		return -1;
	if (x > y)
		return 1;
	memcpy(&bx, &x, sizeof(bx));
	memcpy(&by, &y, sizeof(by));
	return (bx > by) - (bx < by);
}

PG_FUNCTION_INFO_V1(engage_stable_avg_trans);
Datum
engage_stable_avg_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	StableAvgState *state;
	double		value;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.stable_avg transition function called in non-aggregate context");
	state = PG_ARGISNULL(0) ? NULL : (StableAvgState *) PG_GETARG_POINTER(0);
	if (PG_ARGISNULL(1))
	{
		if (state == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state);
	}
	value = PG_GETARG_FLOAT8(1);
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engage.stable_avg does not take NaN")));
	if (state == NULL)
		state = StableAvgCreate(aggctx);
	StableAvgReserve(state, 1);
	state->values[state->n++] = value;
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(engage_stable_avg_combine);
Datum
engage_stable_avg_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	StableAvgState *state1;
	StableAvgState *state2;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.stable_avg combine function called in non-aggregate context");
	state1 = PG_ARGISNULL(0) ? NULL : (StableAvgState *) PG_GETARG_POINTER(0);
	state2 = PG_ARGISNULL(1) ? NULL : (StableAvgState *) PG_GETARG_POINTER(1);
	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}
	if (state1 == NULL)
		state1 = StableAvgCreate(aggctx);
	StableAvgReserve(state1, state2->n);
	memcpy(state1->values + state1->n, state2->values, state2->n * sizeof(double));
	state1->n += state2->n;
	PG_RETURN_POINTER(state1);
}

PG_FUNCTION_INFO_V1(engage_stable_avg_serialize);
Datum
engage_stable_avg_serialize(PG_FUNCTION_ARGS)
{
	StableAvgState *state;
	StringInfoData buf;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "engage.stable_avg serialize function called in non-aggregate context");
	state = (StableAvgState *) PG_GETARG_POINTER(0);
	if ((Size) state->n > (MaxAllocSize - VARHDRSZ - 64) / sizeof(double))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many values in one group to pass between parallel workers"),
				 errdetail("The group holds %lld values.", (long long) state->n),
				 errhint("SET max_parallel_workers_per_gather = 0.")));

	/* States only travel between processes of one server: raw doubles suffice. */
	pq_begintypsend(&buf);
	pq_sendint64(&buf, state->n);
	pq_sendbytes(&buf, (const char *) state->values, state->n * sizeof(double));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(engage_stable_avg_deserialize);
Datum
engage_stable_avg_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	bytea	   *bytes;
	StringInfoData buf;
	StableAvgState *state;
	int64		n;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.stable_avg deserialize function called in non-aggregate context");
	bytes = PG_GETARG_BYTEA_PP(0);
	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	n = pq_getmsgint64(&buf);
	if (n < 0 || (Size) n != (Size) (buf.len - buf.cursor) / sizeof(double))
		elog(ERROR, "corrupt engage.stable_avg state");
	state = StableAvgCreate(aggctx);
	StableAvgReserve(state, n);
	pq_copymsgbytes(&buf, (char *) state->values, n * sizeof(double));
	state->n = n;
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/*
 * A final function's state with its values in ascending order, or NULL when
 * it holds none.  Sorted in place: the state stands for a multiset of
 * values, which the sort leaves as it is (the aggregates are
 * FINALFUNC_MODIFY = SHAREABLE, and a query may share one state between
 * engage.stable_avg and engage.stable_median).
 */
static StableAvgState *
StableAvgSorted(FunctionCallInfo fcinfo)
{
	StableAvgState *state;

	if (PG_ARGISNULL(0))
		return NULL;
	state = (StableAvgState *) PG_GETARG_POINTER(0);
	if (state->n == 0)
		return NULL;
	qsort(state->values, state->n, sizeof(double), StableAvgCompare);
	return state;
}

PG_FUNCTION_INFO_V1(engage_stable_avg_final);
Datum
engage_stable_avg_final(PG_FUNCTION_ARGS)
{
	StableAvgState *state = StableAvgSorted(fcinfo);
	double		sum = 0;

	if (state == NULL)
		PG_RETURN_NULL();
	for (int64 i = 0; i < state->n; i++)
		sum += state->values[i];
	if (isinf(sum) && !isinf(state->values[0]) && !isinf(state->values[state->n - 1]))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value out of range: overflow")));
	PG_RETURN_FLOAT8(sum / state->n);
}

/*
 * The median, as percentile_cont(0.5) computes it from the sorted values:
 * the middle value, or of two middle values lo and hi, lo + 0.5 * (hi - lo).
 * Unlike percentile_cont it is an ordinary aggregate, so a grouping that
 * computes it may hash its groups instead of sorting every row.
 */
PG_FUNCTION_INFO_V1(engage_stable_median_final);
Datum
engage_stable_median_final(PG_FUNCTION_ARGS)
{
	StableAvgState *state = StableAvgSorted(fcinfo);
	double		lo;
	double		hi;

	if (state == NULL)
		PG_RETURN_NULL();
	lo = state->values[(state->n - 1) / 2];
	hi = state->values[state->n / 2];
	PG_RETURN_FLOAT8(state->n % 2 == 1 ? lo : lo + 0.5 * (hi - lo));
}

/*
 * Two members in byte order, the order of COLLATE "C": the bytes, then the
 * length.  Array elements are never toasted; they may have short headers.
 */
static inline int
CohortCompareText(Datum a, Datum b)
{
	const char *pa = VARDATA_ANY(DatumGetPointer(a));
	const char *pb = VARDATA_ANY(DatumGetPointer(b));
	int			la = VARSIZE_ANY_EXHDR(DatumGetPointer(a));
	int			lb = VARSIZE_ANY_EXHDR(DatumGetPointer(b));
	int			cmp = memcmp(pa, pb, Min(la, lb));

	return cmp != 0 ? cmp : (la > lb) - (la < lb);
}

/*
 * The members of a one-dimensional text array sorted in byte order without
 * duplicates or NULLs (what array_agg(x ORDER BY x COLLATE "C") gives for
 * distinct x), read one after another in place and checked as they come:
 * an unsorted array would give a wrong count, not an error.
 */
typedef struct CohortMembers
{
	const char *argname;
	const char *ptr;			/* the member to read next */
	int			n;				/* members in the array */
	int			next;			/* index of the member to read next */
	Datum		current;		/* the member read last */
} CohortMembers;

/* A group's members are a one-dimensional array without NULL. */
static void
CohortCheckMembers(ArrayType *array, const char *argname, const char *function)
{
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s of %s must be one-dimensional", argname, function)));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s of %s must not contain NULL", argname, function)));
}

static void
CohortMembersStart(CohortMembers *m, ArrayType *array, const char *argname)
{
	CohortCheckMembers(array, argname, "engage.symmetric_difference_size");
	m->argname = argname;
	/* without NULLs the members follow the header, each aligned as text is */
	m->ptr = (const char *) array + ARR_OVERHEAD_NONULLS(ARR_NDIM(array));
	m->n = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	m->next = 0;
	m->current = (Datum) 0;
}

/* Reads the next member into current; false when none is left. */
static bool
CohortMembersNext(CohortMembers *m)
{
	Datum		member;

	if (m->next >= m->n)
		return false;
	member = PointerGetDatum(m->ptr);
	if (m->next > 0 && CohortCompareText(m->current, member) >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s of engage.symmetric_difference_size must be sorted in byte order without duplicates",
						m->argname),
				 errdetail("Element %d does not come after element %d.", m->next + 1, m->next),
				 errhint("Build it with array_agg(DISTINCT x ORDER BY x COLLATE \"C\").")));
	m->current = member;
	m->ptr = (const char *) att_align_nominal(m->ptr + VARSIZE_ANY(m->ptr), TYPALIGN_INT);
	m->next++;
	return true;
}

/*
 * One pass over both arrays in step, without copying a member: the cohort
 * step compares thousands of pairs of groups, some of thousands of students.
 */
PG_FUNCTION_INFO_V1(engage_symmetric_difference_size);
Datum
engage_symmetric_difference_size(PG_FUNCTION_ARGS)
{
	CohortMembers a;
	CohortMembers b;
	bool		more_a;
	bool		more_b;
	int32		differ = 0;

	CohortMembersStart(&a, PG_GETARG_ARRAYTYPE_P(0), "a");
	CohortMembersStart(&b, PG_GETARG_ARRAYTYPE_P(1), "b");
	more_a = CohortMembersNext(&a);
	more_b = CohortMembersNext(&b);
	while (more_a && more_b)
	{
		int			cmp = CohortCompareText(a.current, b.current);

		if (cmp != 0)
			differ++;
		if (cmp <= 0)
			more_a = CohortMembersNext(&a);
		if (cmp >= 0)
			more_b = CohortMembersNext(&b);
	}
	for (; more_a; more_a = CohortMembersNext(&a))
		differ++;
	for (; more_b; more_b = CohortMembersNext(&b))
		differ++;
	PG_RETURN_INT32(differ);
}

static int
CohortCompareDatums(const void *a, const void *b)
{
	return CohortCompareText(*(const Datum *) a, *(const Datum *) b);
}

/*
 * A one-dimensional text array in byte order (duplicates kept), as
 * array_agg(x ORDER BY x COLLATE "C") would have built it: an array built
 * without ORDER BY lets its grouping hash instead of sort.
 */
PG_FUNCTION_INFO_V1(engage_byte_sorted);
Datum
engage_byte_sorted(PG_FUNCTION_ARGS)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *members;
	int			n;
	ArrayType  *sorted;

	CohortCheckMembers(array, "members", "engage.byte_sorted");
	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &members, NULL, &n);
	qsort(members, n, sizeof(Datum), CohortCompareDatums);
	sorted = construct_array(members, n, TEXTOID, -1, false, TYPALIGN_INT);
	pfree(members);
	PG_RETURN_ARRAYTYPE_P(sorted);
}
