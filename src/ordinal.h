/*
 * ordinal.h
 *		engage.ordinal_fit: proportional-odds (cumulative logit) regression
 *		by maximum likelihood, as an aggregate.
 */
#ifndef ENGAGE_ORDINAL_H
#define ENGAGE_ORDINAL_H

#include "compat.h"

/*
 * Limits of one fit, documented in docs/reference.md.  The rows are kept
 * until the final function, so the memory is bounded by a byte count; the
 * number of levels and predictors bounds the size of the Hessian.
 */
#define ORDINAL_MAX_BYTES		((Size) 512 * 1024 * 1024)
#define ORDINAL_MAX_PREDICTORS	100
#define ORDINAL_MAX_LEVELS		100

/* Newton-Raphson: iterations, and halvings of one step */
#define ORDINAL_MAX_ITERATIONS	100
#define ORDINAL_MAX_HALVINGS	50

/*
 * A standardized coefficient (log odds per standard deviation of its
 * predictor) beyond this only arises when the predictors separate the
 * outcome levels: the estimate is then running off to infinity.
 */
#define ORDINAL_SEPARATION_BOUND 30.0

/*
 * The transition state: the rows seen, each as npred predictors, the
 * outcome and the weight, in one flat buffer of doubles.
 */
typedef struct OrdinalState
{
	int32		npred;			/* predictors per row */
	int64		nrows;			/* rows held */
	int64		maxrows;		/* rows the buffer has room for */
	double	   *rows;			/* nrows * (npred + 2) doubles */
} OrdinalState;

#define ORDINAL_WIDTH(state)	((state)->npred + 2)

#endif							/* ENGAGE_ORDINAL_H */
