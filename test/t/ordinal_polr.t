#!/bin/sh
# engage.ordinal_fit agrees with R's MASS::polr on two data sets
# (test/ordinal/make-data.R): MASS's housing survey, grouped with case
# weights and dummy-coded categorical predictors, and 600 rows with three
# continuous predictors and five levels.  Coefficients, cut-points and the
# log-likelihood agree to 1e-4, standard errors to 1e-3.
set -u
cd "$(dirname "$0")/../.."
. test/lib.sh
db=engage_ordinal
work=$(mktemp -d /tmp/engage-ordinal.XXXXXX)
trap 'rm -rf "$work"; dropdb --if-exists $db >/dev/null 2>&1' EXIT

sets="housing continuous"
echo "1..10"
if ! command -v Rscript >/dev/null 2>&1 || ! Rscript -e 'library(MASS)' >/dev/null 2>&1; then
    for i in 1 2 3 4 5 6 7 8 9 10; do
        echo "ok $i # skip R with MASS is not installed (test/install-deps.sh installs r-base-core and r-cran-mass)"
    done
    exit 0
fi

dropdb --if-exists $db >/dev/null 2>&1
createdb $db && psql -X -q -v ON_ERROR_STOP=1 -d $db -c 'CREATE EXTENSION engage' >/dev/null
ok $? "engage is installed in a fresh database"

# compare REF GOT PREFIX TOLERANCE: every REF line named PREFIX... has a GOT
# line of the same name within TOLERANCE (absolute); prints the differences
compare() {
    awk -v prefix="$3" -v tol="$4" '
        NR == FNR { got[$1] = $2; next }
        index($1, prefix) == 1 {
            n++
            if (!($1 in got)) { printf "# %s: missing\n", $1; bad++; next }
            d = got[$1] - $2; if (d < 0) d = -d
            if (d > tol || $2 != $2 + 0) { printf "# %s: polr %s, engage %s\n", $1, $2, got[$1]; bad++ }
        }
        END { if (n == 0) { print "# nothing to compare"; exit 1 } exit bad > 0 }' "$2" "$1"
}

for set in $sets; do
    csv=test/ordinal/$set.csv
    Rscript test/ordinal/polr.R "$csv" > "$work/$set.polr" 2> "$work/$set.err"
    if [ -s "$work/$set.polr" ] && ! grep -q NaN "$work/$set.polr"; then ok 0 "polr fits $set"; else
        ok 1 "polr fits $set"; sed 's/^/# /' "$work/$set.err"; fi

    cols=$(head -1 "$csv" | tr -d '"')
    xs=$(echo "$cols" | tr ',' '\n' | grep '^x' | paste -sd, -)
    defs=$(echo "$cols" | tr ',' '\n' | sed 's/^y$/y integer/; s/^\([wx].*\)/\1 double precision/' | paste -sd, -)
    psql -X -q -At -v ON_ERROR_STOP=1 -d $db > "$work/$set.engage" <<SQL
CREATE TABLE $set ($defs);
\copy $set FROM '$csv' WITH (FORMAT csv, HEADER true)
CREATE TABLE ${set}_fit AS SELECT engage.ordinal_fit(y, ARRAY[$xs], w) AS m FROM $set;
SELECT 'coef' || i || ' ' || v FROM ${set}_fit, unnest((m).coefficients) WITH ORDINALITY AS u(v, i)
UNION ALL SELECT 'zeta' || i || ' ' || v FROM ${set}_fit, unnest((m).cut_points) WITH ORDINALITY AS u(v, i)
UNION ALL SELECT 'se_coef' || i || ' ' || v FROM ${set}_fit, unnest((m).coefficient_se) WITH ORDINALITY AS u(v, i)
UNION ALL SELECT 'se_zeta' || i || ' ' || v FROM ${set}_fit, unnest((m).cut_point_se) WITH ORDINALITY AS u(v, i)
UNION ALL SELECT 'loglik ' || (m).log_likelihood FROM ${set}_fit
UNION ALL SELECT 'converged ' || (m).converged FROM ${set}_fit;
SQL
    grep -qx 'converged true' "$work/$set.engage"
    ok $? "engage.ordinal_fit converges on $set"
    compare "$work/$set.polr" "$work/$set.engage" coef 1e-4 && compare "$work/$set.polr" "$work/$set.engage" zeta 1e-4
    ok $? "$set: coefficients and cut-points agree with polr to 1e-4"
    compare "$work/$set.polr" "$work/$set.engage" se_ 1e-3
    ok $? "$set: standard errors agree with polr to 1e-3"
done
compare "$work/housing.polr" "$work/housing.engage" loglik 1e-4 &&
    compare "$work/continuous.polr" "$work/continuous.engage" loglik 1e-4
ok $? "the log-likelihoods agree with polr to 1e-4"
exit $failed
