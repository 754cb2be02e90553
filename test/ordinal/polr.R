# Fits MASS::polr to a data set of make-data.R's form and prints, one per
# line, "name value": coef1.., zeta1.., se_coef1.., se_zeta1.., loglik.
#   Rscript polr.R data.csv
suppressMessages(library(MASS))
d <- read.csv(commandArgs(trailingOnly = TRUE)[1])
y <- factor(d$y, levels = sort(unique(d$y)), ordered = TRUE)
X <- as.matrix(d[, grep("^x", names(d)), drop = FALSE])
# optim's default tolerance stops BFGS about 1e-5 short of the maximum
fit <- polr(y ~ X, weights = d$w, Hess = TRUE,
            control = list(reltol = 1e-15, maxit = 10000))
se <- sqrt(diag(vcov(fit)))
p <- length(coef(fit))
out <- c(setNames(coef(fit), paste0("coef", seq_len(p))),
         setNames(fit$zeta, paste0("zeta", seq_along(fit$zeta))),
         setNames(se[seq_len(p)], paste0("se_coef", seq_len(p))),
         setNames(se[-seq_len(p)], paste0("se_zeta", seq_along(fit$zeta))),
         loglik = as.numeric(logLik(fit)))
cat(sprintf("%s %.12g\n", names(out), out), sep = "")
