# Writes the two data sets that test/t/ordinal_polr.t fits with both
# engage.ordinal_fit and MASS::polr.  Run from this folder:
#   Rscript make-data.R
# Columns: y (the outcome), w (the case weight), x1, x2, ... (the predictors).
suppressMessages(library(MASS))

# housing.csv: MASS's housing survey, grouped (Freq is the case weight), with
# its three categorical predictors coded as dummies against their first
# level; satisfaction Low < Medium < High coded 10 < 20 < 30, so that only
# the order of the outcome values matters.
X <- model.matrix(~ Infl + Type + Cont, housing)[, -1]
colnames(X) <- paste0("x", seq_len(ncol(X)))
housing_out <- data.frame(y = c(10L, 20L, 30L)[as.integer(housing$Sat)],
                          w = housing$Freq, X)
write.csv(housing_out, "housing.csv", row.names = FALSE)

# continuous.csv: 600 rows, three continuous predictors on different
# scales (polr's numerical Hessian fails on a predictor in the thousands),
# five outcome levels coded 0, 1, 2, 5, 9, all weights 1.
set.seed(2019)
n <- 600
x1 <- rnorm(n, 20, 8)             # minutes a day
x2 <- rexp(n, 1 / 3)              # choices a day
x3 <- rnorm(n, 50, 15)            # events a term
eta <- 0.08 * x1 + 0.3 * x2 - 0.04 * x3
latent <- eta + rlogis(n)
cuts <- c(-1.5, 0, 1, 2.2)
level <- findInterval(latent, cuts) + 1
continuous <- data.frame(y = c(0L, 1L, 2L, 5L, 9L)[level], w = 1,
                         x1 = round(x1, 4), x2 = round(x2, 4), x3 = round(x3, 2))
write.csv(continuous, "continuous.csv", row.names = FALSE)
