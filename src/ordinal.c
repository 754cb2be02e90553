/*
 * ordinal.c
 *		engage.ordinal_fit(outcome, predictors, weight): the proportional-odds
 *		cumulative logit model fitted by maximum likelihood, and
 *		engage.ordinal_predict(model, predictors): its category probabilities.
 *
 * The model is MASS::polr's: with the outcome levels in increasing order
 * 1..K and the predictors x of a row,
 *
 *		logit P(Y <= k | x) = zeta_k - x'beta,		k = 1..K-1,
 *
 * so a positive coefficient moves the outcome towards its higher levels.
 * Only the order of the outcome values matters; the levels are the values
 * seen with a positive weight.
 *
 * The transition function keeps every row (predictors, outcome, weight) in
 * one flat buffer of doubles, bounded by ORDINAL_MAX_BYTES.  The final
 * function sorts the rows and merges identical ones, so that the fit is the
 * same, to the bit, whatever the order of the input and however parallel
 * workers divided it.  It then maximises the log-likelihood by
 * Newton-Raphson with the exact gradient and Hessian, on standardized
 * predictors (each centred and divided by its weighted standard deviation),
 * with step halving that keeps every step uphill and the cut-points in
 * strict order.  The log-likelihood is concave in (beta, zeta), so a
 * Hessian that stops being negative definite after the predictors passed
 * the collinearity check means the estimates run off to infinity
 * (separation).  The standard errors come from the inverse observed
 * information at the maximum, mapped back to the original predictors.
 */
#include "ordinal.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

/* A Cholesky pivot below this fraction of the largest diagonal is zero. */
#define ORDINAL_PIVOT_TOLERANCE 1e-14

/* A predictor explaining all but this fraction of another's variance is collinear. */
#define ORDINAL_COLLINEAR_TOLERANCE 1e-9

/* A Newton step shorter than this in every standardized parameter ends the fit. */
#define ORDINAL_STEP_TOLERANCE 1e-9

/* Everything the final function fits from, in the standardized predictors. */
typedef struct OrdinalData
{
	int32		npred;
	int32		width;
	int32		nlevels;
	int64		nrows;
	const double *rows;
	int32	   *level;			/* [row]: index of the row's outcome level */
	double	   *mean;			/* [predictor] weighted mean */
	double	   *sd;				/* [predictor] weighted standard deviation */
	double	   *xs;				/* scratch: one row's standardized predictors */
} OrdinalData;

/* The logistic distribution function, without overflow. */
static inline double
Logistic(double t)
{
	if (t >= 0)
		return 1.0 / (1.0 + exp(-t));
	else
	{
		double		e = exp(t);

		return e / (1.0 + e);
	}
}

/* log(1 + exp(t)) without overflow or loss for large |t|. */
static inline double
Softplus(double t)
{
	return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

/*
 * The elements of a float8[] known to have no nulls (ARR_DATA_PTR itself
 * trips -Wsign-compare).
 */
static inline const double *
ArrayDoubles(ArrayType *array)
{
	Assert(!ARR_HASNULL(array));
	return (const double *) ((char *) array + ARR_OVERHEAD_NONULLS(ARR_NDIM(array)));
}

/* Reads one row's arguments, checks them and keeps the row. */
static void
OrdinalAddRow(FunctionCallInfo fcinfo, MemoryContext aggctx, OrdinalState **statep)
{
	OrdinalState *state = *statep;
	ArrayType  *array;
	int32		outcome;
	double		weight = 1.0;
	int32		npred;
	const double *x;
	double	   *row;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the outcome of engage.ordinal_fit must not be null"),
				 errhint("Leave out rows without an outcome with a WHERE clause.")));
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the predictors of engage.ordinal_fit must not be null")));
	outcome = PG_GETARG_INT32(1);
	if (PG_NARGS() > 3)
	{
		if (PG_ARGISNULL(3))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the weight of engage.ordinal_fit must not be null")));
		weight = PG_GETARG_FLOAT8(3);
		if (!isfinite(weight))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the weight of engage.ordinal_fit must be finite"),
					 errdetail("%g was given.", weight)));
		if (weight < 0.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the weight of engage.ordinal_fit must not be negative"),
					 errdetail("%g was given.", weight)));
	}

	array = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the predictors of engage.ordinal_fit must be a one-dimensional array")));
	if (array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the predictors of engage.ordinal_fit must not contain nulls")));
	npred = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	if (npred > ORDINAL_MAX_PREDICTORS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("engage.ordinal_fit takes at most %d predictors", ORDINAL_MAX_PREDICTORS),
				 errdetail("A row has %d.", npred)));
	x = ArrayDoubles(array);
	for (int32 j = 0; j < npred; j++)
		if (!isfinite(x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the predictors of engage.ordinal_fit must be finite"),
					 errdetail("Predictor %d is %g.", j + 1, x[j])));

	if (state == NULL)
	{
		state = MemoryContextAllocZero(aggctx, sizeof(OrdinalState));
		state->npred = npred;
		*statep = state;
	}
	else if (state->npred != npred)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("every row of engage.ordinal_fit must have the same number of predictors"),
				 errdetail("A row has %d predictors, an earlier one %d.", npred, state->npred)));

	/* a row of weight zero adds nothing to the likelihood */
	if (weight == 0.0)
		return;

	if (state->nrows == state->maxrows)
	{
		Size		rowbytes = ORDINAL_WIDTH(state) * sizeof(double);
		int64		maxrows = Max(state->maxrows * 2, 1024);

		if ((Size) maxrows * rowbytes > ORDINAL_MAX_BYTES)
			maxrows = ORDINAL_MAX_BYTES / rowbytes;
		if (maxrows <= state->nrows)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("engage.ordinal_fit holds at most %zu MB of rows",
							ORDINAL_MAX_BYTES / (1024 * 1024)),
					 errdetail("With %d predictors that is " INT64_FORMAT " rows.",
							   state->npred, state->nrows),
					 errhint("Fit on a sample, or group identical rows and give their count as the weight.")));
		if (state->rows == NULL)
			state->rows = MemoryContextAlloc(aggctx, maxrows * rowbytes);
		else
			state->rows = repalloc(state->rows, maxrows * rowbytes);
		state->maxrows = maxrows;
	}
	row = &state->rows[state->nrows * ORDINAL_WIDTH(state)];
	/* adding zero turns -0 into +0, so that equal rows compare equal bitwise too */
	for (int32 j = 0; j < npred; j++)
		row[j] = x[j] + 0.0;
	row[npred] = (double) outcome;
	row[npred + 1] = weight;
	state->nrows++;
}

PG_FUNCTION_INFO_V1(engage_ordinal_fit_trans);
Datum
engage_ordinal_fit_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	OrdinalState *state;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.ordinal_fit transition called in non-aggregate context");
	state = PG_ARGISNULL(0) ? NULL : (OrdinalState *) PG_GETARG_POINTER(0);
	OrdinalAddRow(fcinfo, aggctx, &state);
	if (state == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(state);
}

/* Makes room in dst for n more rows, within the limit. */
static void
OrdinalReserve(OrdinalState *dst, int64 n, MemoryContext ctx)
{
	Size		rowbytes = ORDINAL_WIDTH(dst) * sizeof(double);

	if ((Size) (dst->nrows + n) * rowbytes > ORDINAL_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("engage.ordinal_fit holds at most %zu MB of rows",
						ORDINAL_MAX_BYTES / (1024 * 1024)),
				 errdetail("With %d predictors that is %zu rows.",
						   dst->npred, ORDINAL_MAX_BYTES / rowbytes),
				 errhint("Fit on a sample, or group identical rows and give their count as the weight.")));
	if (dst->nrows + n <= dst->maxrows)
		return;
	dst->maxrows = dst->nrows + n;
	if (dst->rows == NULL)
		dst->rows = MemoryContextAlloc(ctx, dst->maxrows * rowbytes);
	else
		dst->rows = repalloc(dst->rows, dst->maxrows * rowbytes);
}

PG_FUNCTION_INFO_V1(engage_ordinal_fit_combine);
Datum
engage_ordinal_fit_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	OrdinalState *state1;
	OrdinalState *state2;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.ordinal_fit combine function called in non-aggregate context");
	state1 = PG_ARGISNULL(0) ? NULL : (OrdinalState *) PG_GETARG_POINTER(0);
	state2 = PG_ARGISNULL(1) ? NULL : (OrdinalState *) PG_GETARG_POINTER(1);
	if (state2 == NULL)
	{
		if (state1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(state1);
	}
	if (state1 == NULL)
	{
		state1 = MemoryContextAllocZero(aggctx, sizeof(OrdinalState));
		state1->npred = state2->npred;
	}
	else if (state1->npred != state2->npred)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("every row of engage.ordinal_fit must have the same number of predictors"),
				 errdetail("Rows with %d and with %d predictors were given.",
						   state1->npred, state2->npred)));
	if (state2->nrows > 0)
	{
		OrdinalReserve(state1, state2->nrows, aggctx);
		memcpy(&state1->rows[state1->nrows * ORDINAL_WIDTH(state1)], state2->rows,
			   state2->nrows * ORDINAL_WIDTH(state2) * sizeof(double));
		state1->nrows += state2->nrows;
	}
	PG_RETURN_POINTER(state1);
}

PG_FUNCTION_INFO_V1(engage_ordinal_fit_serialize);
Datum
engage_ordinal_fit_serialize(PG_FUNCTION_ARGS)
{
	OrdinalState *state;
	StringInfoData buf;
	Size		bytes;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "engage.ordinal_fit serialize function called in non-aggregate context");
	state = (OrdinalState *) PG_GETARG_POINTER(0);
	bytes = state->nrows * ORDINAL_WIDTH(state) * sizeof(double);

	/* States only travel between processes of one server: raw doubles suffice. */
	pq_begintypsend(&buf);
	enlargeStringInfo(&buf, bytes + 16);
	pq_sendint32(&buf, state->npred);
	pq_sendint64(&buf, state->nrows);
	pq_sendbytes(&buf, (const char *) state->rows, bytes);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(engage_ordinal_fit_deserialize);
Datum
engage_ordinal_fit_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggctx;
	bytea	   *bytes;
	StringInfoData buf;
	OrdinalState *state;
	int64		nrows;

	if (!AggCheckCallContext(fcinfo, &aggctx))
		elog(ERROR, "engage.ordinal_fit deserialize function called in non-aggregate context");
	bytes = PG_GETARG_BYTEA_PP(0);
	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	state = MemoryContextAllocZero(aggctx, sizeof(OrdinalState));
	state->npred = pq_getmsgint(&buf, 4);
	nrows = pq_getmsgint64(&buf);
	if (state->npred < 0 || state->npred > ORDINAL_MAX_PREDICTORS || nrows < 0 ||
		(Size) nrows > ORDINAL_MAX_BYTES / (ORDINAL_WIDTH(state) * sizeof(double)))
		elog(ERROR, "corrupt engage.ordinal_fit state");
	if (nrows > 0)
	{
		OrdinalReserve(state, nrows, aggctx);
		pq_copymsgbytes(&buf, (char *) state->rows, nrows * ORDINAL_WIDTH(state) * sizeof(double));
		state->nrows = nrows;
	}
	pq_getmsgend(&buf);
	PG_RETURN_POINTER(state);
}

/* qsort_arg comparator: predictors, then outcome, then weight, as numbers. */
static int
OrdinalRowCompare(const void *a, const void *b, void *arg)
{
	const double *x = (const double *) a;
	const double *y = (const double *) b;
	int32		width = *(const int32 *) arg;

	for (int32 j = 0; j < width; j++)
	{
		if (x[j] < y[j])
			return -1;
		if (x[j] > y[j])
			return 1;
	}
	return 0;
}

/*
 * Sorts the rows and merges the ones with equal predictors and outcome,
 * adding their weights in sorted order: the result depends on the rows
 * only, not on the order they came in.
 */
static void
OrdinalCanonicalize(OrdinalState *state)
{
	int32		width = ORDINAL_WIDTH(state);
	int32		keywidth = width - 1;
	int64		out = 0;

	if (state->nrows == 0)
		return;
	qsort_arg(state->rows, state->nrows, width * sizeof(double), OrdinalRowCompare, &width);
	for (int64 i = 1; i < state->nrows; i++)
	{
		double	   *kept = &state->rows[out * width];
		const double *row = &state->rows[i * width];

		if (OrdinalRowCompare(kept, row, &keywidth) == 0)
			kept[keywidth] += row[keywidth];
		else
		{
			out++;
			if (out != i)
				memcpy(&state->rows[out * width], row, width * sizeof(double));
		}
	}
	state->nrows = out + 1;
}

/*
 * In-place Cholesky factor (lower triangle) of a symmetric q x q matrix;
 * false where a pivot is not clearly positive, with its index in *bad.
 */
static bool
Cholesky(double *a, int32 q, int32 *bad)
{
	double		maxdiag = 0.0;

	for (int32 i = 0; i < q; i++)
		maxdiag = Max(maxdiag, fabs(a[i * q + i]));
	for (int32 j = 0; j < q; j++)
	{
		double		d = a[j * q + j];

		for (int32 k = 0; k < j; k++)
			d -= a[j * q + k] * a[j * q + k];
		if (!(d > ORDINAL_PIVOT_TOLERANCE * maxdiag) || !isfinite(d))
		{
			if (bad)
				*bad = j;
			return false;
		}
		d = sqrt(d);
		a[j * q + j] = d;
		for (int32 i = j + 1; i < q; i++)
		{
			double		s = a[i * q + j];

			for (int32 k = 0; k < j; k++)
				s -= a[i * q + k] * a[j * q + k];
			a[i * q + j] = s / d;
		}
	}
	return true;
}

/* Solves L L' x = b in place, L from Cholesky. */
static void
CholeskySolve(const double *l, int32 q, double *b)
{
	for (int32 i = 0; i < q; i++)
	{
		double		s = b[i];

		for (int32 k = 0; k < i; k++)
			s -= l[i * q + k] * b[k];
		b[i] = s / l[i * q + i];
	}
	for (int32 i = q - 1; i >= 0; i--)
	{
		double		s = b[i];

		for (int32 k = i + 1; k < q; k++)
			s -= l[k * q + i] * b[k];
		b[i] = s / l[i * q + i];
	}
}

/* The standardized predictors of a row and their linear predictor. */
static inline double
OrdinalEta(OrdinalData *data, const double *row, const double *theta)
{
	double		eta = 0.0;

	for (int32 j = 0; j < data->npred; j++)
	{
		data->xs[j] = (row[j] - data->mean[j]) / data->sd[j];
		eta += theta[j] * data->xs[j];
	}
	return eta;
}

/* Whether the cut-points of theta are finite and strictly increasing. */
static bool
OrdinalOrdered(const OrdinalData *data, const double *theta)
{
	const double *zeta = theta + data->npred;

	for (int32 k = 0; k < data->nlevels - 1; k++)
		if (!isfinite(zeta[k]) || (k > 0 && !(zeta[k] > zeta[k - 1])))
			return false;
	for (int32 j = 0; j < data->npred; j++)
		if (!isfinite(theta[j]))
			return false;
	return true;
}

/*
 * The log-likelihood at theta; with g and h, also its gradient and its
 * Hessian (q x q, both triangles).
 */
static double
OrdinalLogLik(OrdinalData *data, const double *theta, double *g, double *h)
{
	int32		p = data->npred;
	int32		q = p + data->nlevels - 1;
	int32		top = data->nlevels - 1;
	const double *zeta = theta + p;
	double		ll = 0.0;

	if (g)
	{
		memset(g, 0, q * sizeof(double));
		memset(h, 0, q * q * sizeof(double));
	}
	for (int64 i = 0; i < data->nrows; i++)
	{
		const double *row = &data->rows[i * data->width];
		double		w = row[p + 1];
		int32		y = data->level[i];
		double		eta = OrdinalEta(data, row, theta);
		double		a = 0.0,
					b = 0.0,
					guu = 0.0,
					gll = 0.0,
					gul = 0.0;

		/* log P and its derivatives in u = zeta_y - eta and l = zeta_{y-1} - eta */
		if (y == 0)
		{
			double		u = zeta[0] - eta;

			ll += -w * Softplus(-u);
			a = Logistic(-u);
			guu = -Logistic(u) * a;
		}
		else if (y == top)
		{
			double		l = zeta[top - 1] - eta;

			ll += -w * Softplus(l);
			b = Logistic(l);
			gll = -Logistic(-l) * b;
		}
		else
		{
			double		u = zeta[y] - eta;
			double		l = zeta[y - 1] - eta;
			double		Fu = Logistic(u),
						Fl = Logistic(l),
						Gu = Logistic(-u),
						Gl = Logistic(-l);
			double		prob = l > 0 ? Gl - Gu : Fu - Fl;
			double		fu = Fu * Gu,
						fl = Fl * Gl;

			ll += w * log(prob);
			a = fu / prob;
			b = fl / prob;
			guu = a * (Gu - Fu) - a * a;
			gll = -b * (Gl - Fl) - b * b;
			gul = a * b;
		}
		if (g == NULL)
			continue;

		{
			double		gb = -w * (a - b);
			double		hbb = w * (guu + 2.0 * gul + gll);
			double		hub = -w * (guu + gul);
			double		hlb = -w * (gul + gll);

			for (int32 j = 0; j < p; j++)
			{
				g[j] += gb * data->xs[j];
				for (int32 k = 0; k <= j; k++)
					h[j * q + k] += hbb * data->xs[j] * data->xs[k];
			}
			if (y < top)
			{
				int32		r = p + y;

				g[r] += w * a;
				h[r * q + r] += w * guu;
				for (int32 j = 0; j < p; j++)
					h[r * q + j] += hub * data->xs[j];
			}
			if (y > 0)
			{
				int32		r = p + y - 1;

				g[r] -= w * b;
				h[r * q + r] += w * gll;
				for (int32 j = 0; j < p; j++)
					h[r * q + j] += hlb * data->xs[j];
				if (y < top)
					h[(r + 1) * q + r] += w * gul;
			}
		}
	}
	if (h)
		for (int32 j = 0; j < q; j++)
			for (int32 k = 0; k < j; k++)
				h[k * q + j] = h[j * q + k];
	return ll;
}

/*
 * Raises the error for predictors that overflow, or are collinear (naming
 * the first one found).
 */
static void
OrdinalCheckCollinear(const OrdinalData *data, const OrdinalState *state, double total)
{
	int32		p = data->npred;
	double	   *c;
	int32		bad;

	for (int32 j = 0; j < p; j++)
		if (!isfinite(data->mean[j]) || !isfinite(data->sd[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("predictor %d of engage.ordinal_fit is too large to fit", j + 1),
					 errdetail("Its weighted mean or standard deviation overflows."),
					 errhint("Give the predictor in larger units.")));
	for (int32 j = 0; j < p; j++)
		if (data->sd[j] == 0.0 || data->sd[j] <= 1e-12 * fabs(data->mean[j]))
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("predictor %d of engage.ordinal_fit has the same value on every row", j + 1),
					 errdetail("A constant predictor is collinear with the cut-points."),
					 errhint("Leave the predictor out.")));
	if (p < 2)
		return;

	/* the weighted correlation matrix of the predictors */
	c = palloc0(p * p * sizeof(double));
	for (int64 i = 0; i < state->nrows; i++)
	{
		const double *row = &state->rows[i * data->width];
		double		w = row[p + 1] / total;

		for (int32 j = 0; j < p; j++)
		{
			double		xj = (row[j] - data->mean[j]) / data->sd[j];

			for (int32 k = 0; k <= j; k++)
				c[j * p + k] += w * xj * (row[k] - data->mean[k]) / data->sd[k];
		}
	}
	for (int32 j = 0; j < p; j++)
	{
		c[j * p + j] = 1.0;
		for (int32 k = 0; k < j; k++)
			c[k * p + j] = c[j * p + k];
	}
	/* with a unit diagonal, a squared pivot is the share of variance the earlier ones leave */
	if (Cholesky(c, p, &bad))
	{
		for (bad = 0; bad < p; bad++)
			if (c[bad * p + bad] * c[bad * p + bad] < ORDINAL_COLLINEAR_TOLERANCE)
				break;
	}
	if (bad < p)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("the predictors of engage.ordinal_fit are collinear"),
				 errdetail("Predictor %d is a linear combination of the predictors before it.", bad + 1),
				 errhint("Leave out one of the predictors, or a dummy of each categorical predictor.")));
	pfree(c);
}

/* A float8[] of n values. */
static Datum
Float8Array(const double *values, int32 n)
{
	Datum	   *d = palloc(Max(n, 1) * sizeof(Datum));

	for (int32 i = 0; i < n; i++)
		d[i] = Float8GetDatum(values[i]);
	return PointerGetDatum(construct_array(d, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Indices of the result type's attributes (engage.ordinal_model). */
enum
{
	M_COEFFICIENTS,
	M_COEFFICIENT_SE,
	M_COEFFICIENT_Z,
	M_COEFFICIENT_P,
	M_CUT_POINTS,
	M_CUT_POINT_SE,
	M_LEVELS,
	M_LEVEL_WEIGHTS,
	M_LOG_LIKELIHOOD,
	M_AIC,
	M_N,
	M_TOTAL_WEIGHT,
	M_ITERATIONS,
	M_CONVERGED,
	M_DETAIL,
	M_NATTS
};

/* The level index of an outcome value in the sorted levels. */
static int32
OrdinalLevelIndex(const int32 *levels, int32 nlevels, int32 value)
{
	int32		lo = 0,
				hi = nlevels - 1;

	while (lo <= hi)
	{
		int32		mid = (lo + hi) / 2;

		if (levels[mid] == value)
			return mid;
		if (levels[mid] < value)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

/*
 * Maximises the log-likelihood from theta by Newton-Raphson.  On return
 * theta holds the estimates, *ll their log-likelihood, h the Cholesky
 * factor of the information (minus the Hessian) at theta when the fit
 * converged, *iterations the steps taken; a fit that did not converge
 * returns false with the reason in *detail.
 */
static bool
OrdinalNewton(OrdinalData *data, double *theta, double *h, double *ll, int32 *iterations, char **detail)
{
	int32		p = data->npred;
	int32		q = p + data->nlevels - 1;
	double	   *g = palloc(q * sizeof(double));
	double	   *step = palloc(q * sizeof(double));
	double	   *cand = palloc(q * sizeof(double));

	*ll = OrdinalLogLik(data, theta, NULL, NULL);
	*iterations = 0;
	for (;;)
	{
		double		maxstep = 0.0;
		int32		bad;
		double		t = 1.0;
		bool		accepted = false;

		OrdinalLogLik(data, theta, g, h);
		for (int32 i = 0; i < q * q; i++)
			h[i] = -h[i];
		if (!Cholesky(h, q, &bad))
		{
			*detail = psprintf("The information matrix became singular at iteration %d while %s %d "
							   "grew: the predictors separate the outcome levels completely or "
							   "quasi-completely, so the maximum-likelihood estimates do not exist. "
							   "The estimates shown are those of the last iteration.",
							   *iterations, bad < p ? "coefficient" : "cut-point",
							   bad < p ? bad + 1 : bad - p + 1);
			return false;
		}
		memcpy(step, g, q * sizeof(double));
		CholeskySolve(h, q, step);
		for (int32 j = 0; j < q; j++)
			maxstep = Max(maxstep, fabs(step[j]));
		if (maxstep < ORDINAL_STEP_TOLERANCE)
			return true;
		if (*iterations == ORDINAL_MAX_ITERATIONS)
		{
			*detail = psprintf("The fit did not converge in %d iterations (the last step was %g "
							   "in standardized units), which usually means that the predictors "
							   "separate the outcome levels. The estimates shown are those of the "
							   "last iteration.", ORDINAL_MAX_ITERATIONS, maxstep);
			return false;
		}

		/* halve the step until it stays ordered and does not go downhill */
		for (int32 halving = 0; halving <= ORDINAL_MAX_HALVINGS && !accepted; halving++, t /= 2.0)
		{
			double		llc;

			for (int32 j = 0; j < q; j++)
				cand[j] = theta[j] + t * step[j];
			if (!OrdinalOrdered(data, cand))
				continue;
			llc = OrdinalLogLik(data, cand, NULL, NULL);
			if (llc >= *ll)
			{
				memcpy(theta, cand, q * sizeof(double));
				*ll = llc;
				accepted = true;
			}
		}
		(*iterations)++;
		if (!accepted)
		{
			/* rounding, not the model, stops the climb: the maximum is reached */
			if (maxstep < 1e3 * ORDINAL_STEP_TOLERANCE)
				return true;
			*detail = psprintf("No step along the Newton direction raised the log-likelihood at "
							   "iteration %d (the step was %g in standardized units). The "
							   "estimates shown are those of the last iteration.",
							   *iterations, maxstep);
			return false;
		}
		for (int32 j = 0; j < p; j++)
			if (fabs(theta[j]) > ORDINAL_SEPARATION_BOUND)
			{
				*detail = psprintf("Coefficient %d exceeded %g log-odds per standard deviation of its "
								   "predictor at iteration %d and was still growing: the predictors "
								   "separate the outcome levels completely or quasi-completely, so "
								   "the maximum-likelihood estimates do not exist. The estimates "
								   "shown are those of the last iteration.",
								   j + 1, ORDINAL_SEPARATION_BOUND, *iterations);
				return false;
			}
	}
}

/*
 * The standard errors of (beta, zeta) on the original predictors from the
 * Cholesky factor l of the information in the standardized theta: each
 * parameter is a linear function a'theta (beta_j = b_j / sd_j; zeta_k =
 * z_k + sum_j b_j mean_j / sd_j), so its variance is a'V a with V the
 * inverse information.
 */
static void
OrdinalStandardErrors(const OrdinalData *data, const double *l, double *se)
{
	int32		p = data->npred;
	int32		q = p + data->nlevels - 1;
	double	   *v = palloc0(q * q * sizeof(double));
	double	   *a = palloc(q * sizeof(double));

	for (int32 c = 0; c < q; c++)
	{
		v[c * q + c] = 1.0;
		CholeskySolve(l, q, &v[c * q]);
	}
	for (int32 r = 0; r < q; r++)
	{
		double		var = 0.0;

		memset(a, 0, q * sizeof(double));
		if (r < p)
			a[r] = 1.0 / data->sd[r];
		else
		{
			for (int32 j = 0; j < p; j++)
				a[j] = data->mean[j] / data->sd[j];
			a[r] = 1.0;
		}
		for (int32 i = 0; i < q; i++)
			for (int32 j = 0; j < q; j++)
				var += a[i] * v[i * q + j] * a[j];
		se[r] = sqrt(var);
	}
	pfree(v);
	pfree(a);
}

PG_FUNCTION_INFO_V1(engage_ordinal_fit_final);
Datum
engage_ordinal_fit_final(PG_FUNCTION_ARGS)
{
	OrdinalState *state;
	OrdinalData data;
	int32		p;
	int32		q;
	int32		K = 0;
	int32		levels[ORDINAL_MAX_LEVELS];
	double		level_weight[ORDINAL_MAX_LEVELS];
	Datum		level_datums[ORDINAL_MAX_LEVELS];
	double		total = 0.0;
	double	   *theta;
	double	   *h;
	double	   *beta;
	double	   *zeta;
	double		shift = 0.0;
	double		ll;
	int32		iterations;
	bool		converged;
	char	   *detail = NULL;
	TupleDesc	tupdesc;
	Datum		values[M_NATTS];
	bool		nulls[M_NATTS];
	int64		nobs;

	if (!AggCheckCallContext(fcinfo, NULL))
		elog(ERROR, "engage.ordinal_fit final function called in non-aggregate context");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (OrdinalState *) PG_GETARG_POINTER(0);
	p = state->npred;
	nobs = state->nrows;
	OrdinalCanonicalize(state);

	/* the levels seen, in order, with their weights */
	for (int64 i = 0; i < state->nrows; i++)
	{
		const double *row = &state->rows[i * ORDINAL_WIDTH(state)];
		int32		value = (int32) row[p];
		int32		at = 0;

		while (at < K && levels[at] < value)
			at++;
		if (at == K || levels[at] != value)
		{
			if (K == ORDINAL_MAX_LEVELS)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("the outcome of engage.ordinal_fit has more than %d levels",
								ORDINAL_MAX_LEVELS)));
			memmove(&levels[at + 1], &levels[at], (K - at) * sizeof(int32));
			memmove(&level_weight[at + 1], &level_weight[at], (K - at) * sizeof(double));
			levels[at] = value;
			level_weight[at] = 0.0;
			K++;
		}
		level_weight[at] += row[p + 1];
	}
	if (K < 2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engage.ordinal_fit needs at least two outcome levels"),
				 K == 0 ? errdetail("No row has a positive weight.") :
				 errdetail("Every row of positive weight has the outcome %d.", levels[0])));
	for (int32 k = 0; k < K; k++)
		total += level_weight[k];
	if (!isfinite(total))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the total weight of engage.ordinal_fit is out of range")));

	/* the rows with their level index, and the predictors' weighted moments */
	q = p + K - 1;
	data.npred = p;
	data.width = ORDINAL_WIDTH(state);
	data.nlevels = K;
	data.nrows = state->nrows;
	data.rows = state->rows;
	data.level = palloc(Max(state->nrows, 1) * sizeof(int32));
	data.mean = palloc0(Max(p, 1) * sizeof(double));
	data.sd = palloc0(Max(p, 1) * sizeof(double));
	data.xs = palloc0(Max(p, 1) * sizeof(double));
	for (int64 i = 0; i < state->nrows; i++)
	{
		const double *row = &state->rows[i * data.width];

		data.level[i] = OrdinalLevelIndex(levels, K, (int32) row[p]);
		for (int32 j = 0; j < p; j++)
			data.mean[j] += row[p + 1] * row[j];
	}
	for (int32 j = 0; j < p; j++)
		data.mean[j] /= total;
	for (int64 i = 0; i < state->nrows; i++)
	{
		const double *row = &state->rows[i * data.width];

		for (int32 j = 0; j < p; j++)
			data.sd[j] += row[p + 1] * (row[j] - data.mean[j]) * (row[j] - data.mean[j]);
	}
	for (int32 j = 0; j < p; j++)
		data.sd[j] = sqrt(data.sd[j] / total);
	OrdinalCheckCollinear(&data, state, total);

	/* start from no effect and the cut-points of the observed proportions */
	theta = palloc0(q * sizeof(double));
	h = palloc(q * q * sizeof(double));
	{
		double		cum = 0.0;

		for (int32 k = 0; k < K - 1; k++)
		{
			cum += level_weight[k];
			theta[p + k] = log(cum / total) - log1p(-cum / total);
		}
	}
	if (!OrdinalOrdered(&data, theta))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the weights of the outcome levels of engage.ordinal_fit are too far apart to fit"),
				 errhint("Give the weights on a common scale.")));
	converged = OrdinalNewton(&data, theta, h, &ll, &iterations, &detail);

	/* back to the original predictors */
	beta = palloc(Max(p, 1) * sizeof(double));
	zeta = palloc((K - 1) * sizeof(double));
	for (int32 j = 0; j < p; j++)
	{
		beta[j] = theta[j] / data.sd[j];
		shift += theta[j] * data.mean[j] / data.sd[j];
	}
	for (int32 k = 0; k < K - 1; k++)
		zeta[k] = theta[p + k] + shift;

	memset(nulls, 0, sizeof(nulls));
	values[M_COEFFICIENTS] = Float8Array(beta, p);
	values[M_CUT_POINTS] = Float8Array(zeta, K - 1);
	if (converged)
	{
		double	   *se = palloc(q * sizeof(double));
		double	   *z = palloc(Max(p, 1) * sizeof(double));
		double	   *pv = palloc(Max(p, 1) * sizeof(double));

		OrdinalStandardErrors(&data, h, se);
		for (int32 j = 0; j < p; j++)
		{
			z[j] = beta[j] / se[j];
			pv[j] = erfc(fabs(z[j]) / M_SQRT2);
		}
		values[M_COEFFICIENT_SE] = Float8Array(se, p);
		values[M_COEFFICIENT_Z] = Float8Array(z, p);
		values[M_COEFFICIENT_P] = Float8Array(pv, p);
		values[M_CUT_POINT_SE] = Float8Array(se + p, K - 1);
		nulls[M_DETAIL] = true;
	}
	else
	{
		nulls[M_COEFFICIENT_SE] = nulls[M_COEFFICIENT_Z] = nulls[M_COEFFICIENT_P] = true;
		nulls[M_CUT_POINT_SE] = true;
		values[M_DETAIL] = CStringGetTextDatum(detail);
	}
	for (int32 k = 0; k < K; k++)
		level_datums[k] = Int32GetDatum(levels[k]);
	values[M_LEVELS] = PointerGetDatum(construct_array(level_datums, K, INT4OID, sizeof(int32), true, TYPALIGN_INT));
	values[M_LEVEL_WEIGHTS] = Float8Array(level_weight, K);
	values[M_LOG_LIKELIHOOD] = Float8GetDatum(ll);
	values[M_AIC] = Float8GetDatum(-2.0 * ll + 2.0 * q);
	values[M_N] = Int64GetDatum(nobs);
	values[M_TOTAL_WEIGHT] = Float8GetDatum(total);
	values[M_ITERATIONS] = Int32GetDatum(iterations);
	values[M_CONVERGED] = BoolGetDatum(converged);

	tupdesc = lookup_rowtype_tupdesc_copy(get_func_rettype(fcinfo->flinfo->fn_oid), -1);
	if (tupdesc->natts != M_NATTS)
		elog(ERROR, "engage.ordinal_model has %d attributes, expected %d", tupdesc->natts, M_NATTS);
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* An attribute of an engage.ordinal_model as a float8 array, checked. */
static ArrayType *
OrdinalModelArray(HeapTupleHeader model, const char *name, bool allow_null)
{
	bool		isnull;
	Datum		d = GetAttributeByName(model, name, &isnull);
	ArrayType  *array;

	if (isnull)
	{
		if (allow_null)
			return NULL;
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the %s of the model given to engage.ordinal_predict must not be null", name)));
	}
	array = DatumGetArrayTypeP(d);
	if (ARR_NDIM(array) > 1 || array_contains_nulls(array))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the %s of the model given to engage.ordinal_predict must be a one-dimensional array without nulls",
						name)));
	return array;
}

PG_FUNCTION_INFO_V1(engage_ordinal_predict);
Datum
engage_ordinal_predict(PG_FUNCTION_ARGS)
{
	HeapTupleHeader model = PG_GETARG_HEAPTUPLEHEADER(0);
	ArrayType  *xarr = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *barr = OrdinalModelArray(model, "coefficients", false);
	ArrayType  *zarr = OrdinalModelArray(model, "cut_points", false);
	bool		isnull;
	Datum		conv = GetAttributeByName(model, "converged", &isnull);
	int32		p = ArrayGetNItems(ARR_NDIM(barr), ARR_DIMS(barr));
	int32		ncut = ArrayGetNItems(ARR_NDIM(zarr), ARR_DIMS(zarr));
	const double *beta = ArrayDoubles(barr);
	const double *zeta = ArrayDoubles(zarr);
	const double *x;
	double	   *prob;
	double		eta = 0.0;
	double		below = 0.0;

	if (isnull || !DatumGetBool(conv))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("engage.ordinal_predict needs a model that converged"),
				 errhint("Read the detail of the model to see why it did not.")));
	if (ncut < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model given to engage.ordinal_predict has no cut-points")));
	for (int32 k = 0; k < ncut; k++)
		if (!isfinite(zeta[k]) || (k > 0 && !(zeta[k] > zeta[k - 1])))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the cut-points of the model given to engage.ordinal_predict must be finite and increasing")));
	if (ARR_NDIM(xarr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the predictors of engage.ordinal_predict must be a one-dimensional array")));
	if (array_contains_nulls(xarr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the predictors of engage.ordinal_predict must not contain nulls")));
	if (ArrayGetNItems(ARR_NDIM(xarr), ARR_DIMS(xarr)) != p)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("engage.ordinal_predict needs as many predictors as the model has coefficients"),
				 errdetail("The model has %d coefficients; %d predictors were given.",
						   p, ArrayGetNItems(ARR_NDIM(xarr), ARR_DIMS(xarr)))));
	x = ArrayDoubles(xarr);
	for (int32 j = 0; j < p; j++)
	{
		if (!isfinite(x[j]))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("the predictors of engage.ordinal_predict must be finite"),
					 errdetail("Predictor %d is %g.", j + 1, x[j])));
		eta += beta[j] * x[j];
	}
	if (!isfinite(eta))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the linear predictor of engage.ordinal_predict is out of range")));

	/* P(Y = k) = F(zeta_k - eta) - F(zeta_{k-1} - eta), upper tails where they are the smaller */
	prob = palloc((ncut + 1) * sizeof(double));
	for (int32 k = 0; k <= ncut; k++)
	{
		double		upper = k < ncut ? Logistic(zeta[k] - eta) : 1.0;

		if (k > 0 && k < ncut && zeta[k - 1] - eta > 0)
			prob[k] = Logistic(eta - zeta[k - 1]) - Logistic(eta - zeta[k]);
		else if (k == ncut)
			prob[k] = Logistic(eta - zeta[k - 1]);
		else
			prob[k] = upper - below;
		below = upper;
	}
	PG_RETURN_DATUM(Float8Array(prob, ncut + 1));
}
