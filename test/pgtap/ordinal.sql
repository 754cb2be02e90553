-- engage.ordinal_fit and engage.ordinal_predict: the model's properties,
-- every error with its SQLSTATE, separation, and parallel plans.  The
-- comparison with R's MASS::polr is test/t/ordinal_polr.t.
BEGIN;
SELECT plan(50);

-- Errors ---------------------------------------------------------------------
SELECT throws_ok($$SELECT engage.ordinal_fit(y, ARRAY[x]) FROM (VALUES (1, 0.5), (1, 0.7)) AS v(y, x)$$,
                 '22023', 'engage.ordinal_fit needs at least two outcome levels', 'one outcome level is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(y, ARRAY[x], 0) FROM (VALUES (1, 0.5), (2, 0.7)) AS v(y, x)$$,
                 '22023', 'engage.ordinal_fit needs at least two outcome levels', 'rows all of weight zero leave no level');
SELECT throws_ok($$SELECT engage.ordinal_fit(y, x) FROM (VALUES (1, ARRAY[0.5, 1]), (2, ARRAY[0.7])) AS v(y, x)$$,
                 '2202E', 'every row of engage.ordinal_fit must have the same number of predictors',
                 'predictors of unequal length are refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, ARRAY[[0.5, 1], [1, 2]]::float8[])$$,
                 '2202E', 'the predictors of engage.ordinal_fit must be a one-dimensional array',
                 'a two-dimensional array of predictors is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, ARRAY[0.5, NULL])$$,
                 '22004', 'the predictors of engage.ordinal_fit must not contain nulls', 'a NULL predictor is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(NULL, ARRAY[0.5])$$,
                 '22004', 'the outcome of engage.ordinal_fit must not be null', 'a NULL outcome is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, NULL::float8[])$$,
                 '22004', 'the predictors of engage.ordinal_fit must not be null', 'NULL predictors are refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, ARRAY[0.5], NULL)$$,
                 '22004', 'the weight of engage.ordinal_fit must not be null', 'a NULL weight is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, ARRAY['NaN'::float8])$$,
                 '22003', 'the predictors of engage.ordinal_fit must be finite', 'a NaN predictor is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, ARRAY[1, '-infinity'::float8])$$,
                 '22003', 'the predictors of engage.ordinal_fit must be finite', 'an infinite predictor is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, ARRAY[0.5], 'infinity')$$,
                 '22003', 'the weight of engage.ordinal_fit must be finite', 'an infinite weight is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(y, ARRAY[x]) FROM (VALUES (1, 1e300), (2, -1e300), (1, 1e300)) AS v(y, x)$$,
                 '22003', 'predictor 1 of engage.ordinal_fit is too large to fit', 'a predictor whose variance overflows is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, ARRAY[0.5], -1)$$,
                 '22023', 'the weight of engage.ordinal_fit must not be negative', 'a negative weight is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(i % 3, ARRAY[i, 2 * i + 1, (i * 7) % 5]::float8[])
                   FROM generate_series(1, 50) AS i$$,
                 '22000', 'the predictors of engage.ordinal_fit are collinear', 'collinear predictors are refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(i % 3, ARRAY[(i * 7) % 5, 4]::float8[]) FROM generate_series(1, 50) AS i$$,
                 '22000', 'predictor 2 of engage.ordinal_fit has the same value on every row',
                 'a constant predictor is refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(1, array_fill(0::float8, ARRAY[101]))$$,
                 '54000', 'engage.ordinal_fit takes at most 100 predictors', 'more than 100 predictors are refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(i, ARRAY[i]::float8[]) FROM generate_series(1, 101) AS i$$,
                 '54000', 'the outcome of engage.ordinal_fit has more than 100 levels',
                 'more than 100 outcome levels are refused');
SELECT throws_ok($$SELECT engage.ordinal_fit(i % 2, a)
                   FROM (SELECT array_fill(0::float8, ARRAY[100]) AS a) AS s, generate_series(1, 660000) AS i$$,
                 '54000', 'engage.ordinal_fit holds at most 512 MB of rows', 'rows past 512 MB are refused');

-- The model ------------------------------------------------------------------
CREATE TABLE ord (id int PRIMARY KEY, y int NOT NULL, x1 float8 NOT NULL, x2 float8 NOT NULL, w float8 NOT NULL);
-- 20,000 rows from logit P(Y <= k) = zeta_k - (0.8 x1 - 0.5 x2), zeta = (-1, 0.5, 2)
SELECT setseed(0.12);
INSERT INTO ord
SELECT id, 1 + (latent > -1)::int + (latent > 0.5)::int + (latent > 2)::int, x1, x2, 1 + (id % 3)
FROM (SELECT id, x1, x2, 0.8 * x1 - 0.5 * x2 + ln(u / (1 - u)) AS latent
      FROM (SELECT id, random() * 4 - 2 AS x1, random() * 3 AS x2, random() AS u
            FROM generate_series(1, 20000) AS id) AS draws) AS rows;
ANALYZE ord;
CREATE TABLE ord_fit AS SELECT engage.ordinal_fit(y, ARRAY[x1, x2]) AS m FROM ord;

SELECT is((SELECT (m).converged FROM ord_fit), true, 'the simulated data are fitted');
SELECT ok((SELECT abs((m).coefficients[1] - 0.8) < 2 * (m).coefficient_se[1]
              AND abs((m).coefficients[2] + 0.5) < 2 * (m).coefficient_se[2] FROM ord_fit),
          'the known coefficients are recovered within two standard errors');
SELECT ok((SELECT bool_and(abs((m).cut_points[k] - (ARRAY[-1, 0.5, 2])[k]) < 2 * (m).cut_point_se[k])
           FROM ord_fit, generate_series(1, 3) AS k),
          'the known cut-points are recovered within two standard errors');
SELECT is((SELECT ((m).n, (m).total_weight, (m).levels, (m).level_weights[1] + (m).level_weights[4] > 0) FROM ord_fit),
          (20000::bigint, 20000::float8, ARRAY[1, 2, 3, 4], true), 'n, total weight and levels are reported');
SELECT ok((SELECT abs((m).aic - (-2 * (m).log_likelihood + 2 * 5)) < 1e-9 FROM ord_fit),
          'AIC is -2 log-likelihood + 2 parameters');
SELECT ok((SELECT bool_and(abs((m).coefficient_z[j] - (m).coefficients[j] / (m).coefficient_se[j]) < 1e-12
                           AND (m).coefficient_p[j] BETWEEN 0 AND 1e-10)
           FROM ord_fit, generate_series(1, 2) AS j),
          'z is the coefficient over its standard error, and strong effects have small p');

SELECT is((SELECT engage.ordinal_fit(y, ARRAY[x1, x2] ORDER BY random()) FROM ord)::text,
          (SELECT m FROM ord_fit)::text, 'the fit does not depend on the order of the rows, to the bit');
SELECT is((SELECT ((m).coefficients, (m).coefficient_se, (m).cut_points, (m).cut_point_se, (m).log_likelihood)::text
           FROM (SELECT engage.ordinal_fit(y * 10 - 7, ARRAY[x1, x2]) AS m FROM ord) AS f),
          (SELECT ((m).coefficients, (m).coefficient_se, (m).cut_points, (m).cut_point_se, (m).log_likelihood)::text
           FROM ord_fit), 'only the order of the outcome values matters, to the bit');
SELECT is((SELECT (m).levels FROM (SELECT engage.ordinal_fit(y * 10 - 7, ARRAY[x1, x2]) AS m FROM ord) AS f),
          ARRAY[3, 13, 23, 33], 'the levels are the outcome values seen, in order');
SELECT is((SELECT (m).cut_points FROM (SELECT engage.ordinal_fit(CASE y WHEN 4 THEN 9 ELSE y END, ARRAY[x1, x2]) AS m
                                       FROM ord WHERE y <> 3) AS f)::text,
          (SELECT (m).cut_points FROM (SELECT engage.ordinal_fit(CASE y WHEN 4 THEN 3 ELSE y END, ARRAY[x1, x2]) AS m
                                       FROM ord WHERE y <> 3) AS f)::text,
          'a level without rows has no cut-point');

-- a row of weight w is w equal rows; rows of weight 0 are left out
SELECT is((SELECT ((m).coefficients, (m).cut_points, (m).coefficient_se, (m).log_likelihood, (m).total_weight)::text
           FROM (SELECT engage.ordinal_fit(y, ARRAY[x1, x2], w) AS m FROM ord) AS f),
          (SELECT ((m).coefficients, (m).cut_points, (m).coefficient_se, (m).log_likelihood, (m).total_weight)::text
           FROM (SELECT engage.ordinal_fit(y, ARRAY[x1, x2]) AS m FROM ord, generate_series(1, w::int)) AS f),
          'a case weight counts as that many equal rows, to the bit');
SELECT is((SELECT engage.ordinal_fit(y, ARRAY[x1, x2], CASE WHEN id % 7 = 0 THEN 0 ELSE 1 END) FROM ord)::text,
          (SELECT engage.ordinal_fit(y, ARRAY[x1, x2]) FROM ord WHERE id % 7 <> 0)::text,
          'rows of weight zero are left out');

-- predictors of any scale: a predictor in thousandths has its coefficient times 1000
SELECT ok((SELECT abs((s).coefficients[1] * 1e-3 / (m).coefficients[1] - 1) < 1e-9
              AND abs((s).coefficient_se[1] * 1e-3 / (m).coefficient_se[1] - 1) < 1e-7
              AND abs((s).cut_points[3] - (m).cut_points[3]) < 1e-9
           FROM ord_fit, (SELECT engage.ordinal_fit(y, ARRAY[x1 * 1e-3, x2]) AS s FROM ord) AS f),
          'rescaling a predictor rescales its coefficient and standard error');
SELECT ok((SELECT abs((s).cut_points[2] - ((m).cut_points[2] + 1e6 * (m).coefficients[1])) < 1e-6
           FROM ord_fit, (SELECT engage.ordinal_fit(y, ARRAY[x1 + 1e6, x2]) AS s FROM ord) AS f),
          'shifting a predictor by a million shifts the cut-points by its effect');

-- without predictors, the cut-points are the logits of the cumulative proportions
SELECT ok((SELECT bool_and(abs((m).cut_points[k] - ln(c / (20000 - c))) < 1e-10)
           FROM (SELECT engage.ordinal_fit(y, ARRAY[]::float8[]) AS m FROM ord) AS f,
                LATERAL (SELECT k, count(*) FILTER (WHERE y <= k)::float8 AS c
                         FROM ord, generate_series(1, 3) AS k GROUP BY k) AS cum),
          'without predictors the cut-points are the logits of the cumulative proportions');
SELECT is((SELECT engage.ordinal_fit(y, ARRAY[x1]) FROM ord WHERE false), NULL, 'no rows give NULL');

-- Separation -------------------------------------------------------------------
SELECT is((SELECT ((m).converged, (m).coefficient_se IS NULL, (m).detail ~ 'separate the outcome levels')
           FROM (SELECT engage.ordinal_fit(y, ARRAY[x]) AS m
                 FROM (VALUES (1, -2.0), (1, -1), (2, 1), (2, 2)) AS v(y, x)) AS f),
          (false, true, true), 'complete separation is reported, without standard errors');
SELECT is((SELECT ((m).converged, (m).detail ~ 'separate the outcome levels')
           FROM (SELECT engage.ordinal_fit(y, ARRAY[x]) AS m
                 FROM (VALUES (1, -2.0), (1, -1), (1, 0), (2, 0), (2, 1), (2, 2)) AS v(y, x)) AS f),
          (false, true), 'quasi-complete separation is reported');
SELECT is((SELECT ((m).converged, (m).detail ~ 'separate the outcome levels')
           FROM (SELECT engage.ordinal_fit(1 + (x1 > 0)::int + (x1 > 1)::int, ARRAY[x1, x2]) AS m FROM ord) AS f),
          (false, true), 'three levels separated by one predictor in a large fit are reported');

-- Prediction -------------------------------------------------------------------
SELECT ok((SELECT abs((SELECT sum(v) FROM unnest(engage.ordinal_predict(m, ARRAY[0.3, 1.7])) AS v) - 1) < 1e-14
           FROM ord_fit), 'the predicted probabilities add up to 1');
SELECT ok((SELECT bool_and(abs(pr[k] - (CASE WHEN k < 4 THEN 1 / (1 + exp(-((m).cut_points[k] - eta))) ELSE 1 END
                                        - CASE WHEN k > 1 THEN 1 / (1 + exp(-((m).cut_points[k - 1] - eta))) ELSE 0 END)) < 1e-12)
           FROM ord_fit,
                LATERAL (SELECT 0.3 * (m).coefficients[1] + 1.7 * (m).coefficients[2] AS eta,
                                engage.ordinal_predict(m, ARRAY[0.3, 1.7]) AS pr) AS p,
                generate_series(1, 4) AS k),
          'the predicted probabilities are differences of the cumulative logits');
SELECT ok(abs((SELECT sum(ln((engage.ordinal_predict(f.m, ARRAY[x1, x2]))[y])) FROM ord, ord_fit AS f)
              - (SELECT (m).log_likelihood FROM ord_fit)) < 1e-8,
          'the predicted probabilities of the rows give the log-likelihood');
SELECT throws_ok($$SELECT engage.ordinal_predict(m, ARRAY[1.0]) FROM ord_fit$$,
                 '2202E', 'engage.ordinal_predict needs as many predictors as the model has coefficients',
                 'predicting from the wrong number of predictors is refused');
SELECT throws_ok($$SELECT engage.ordinal_predict(m, ARRAY[1.0, NULL]) FROM ord_fit$$,
                 '22004', 'the predictors of engage.ordinal_predict must not contain nulls',
                 'predicting from a NULL predictor is refused');
SELECT throws_ok($$SELECT engage.ordinal_predict(m, ARRAY[1.0, 'NaN']) FROM ord_fit$$,
                 '22003', 'the predictors of engage.ordinal_predict must be finite',
                 'predicting from a NaN predictor is refused');
SELECT throws_ok($$SELECT engage.ordinal_predict(engage.ordinal_fit(y, ARRAY[x]), ARRAY[0.0])
                   FROM (VALUES (1, -2.0), (1, -1), (2, 1), (2, 2)) AS v(y, x)$$,
                 '22023', 'engage.ordinal_predict needs a model that converged',
                 'predicting from a model that did not converge is refused');
SELECT throws_ok($$SELECT engage.ordinal_predict(ROW(ARRAY[1.0], NULL, NULL, NULL, ARRAY[2.0, 1.0], NULL, NULL, NULL,
                                                     NULL, NULL, NULL, NULL, NULL, true, NULL)::engage.ordinal_model,
                                                 ARRAY[0.0])$$,
                 '22023', 'the cut-points of the model given to engage.ordinal_predict must be finite and increasing',
                 'predicting from cut-points out of order is refused');
SELECT is(engage.ordinal_predict(NULL, ARRAY[0.0]), NULL, 'no model predicts NULL');

-- Parallel plans -------------------------------------------------------------
SET LOCAL parallel_setup_cost = 0;
SET LOCAL parallel_tuple_cost = 0;
SET LOCAL min_parallel_table_scan_size = 0;
SET LOCAL max_parallel_workers_per_gather = 2;
SET LOCAL parallel_leader_participation = off;

CREATE FUNCTION pg_temp.workers_launched(statement text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    plan text;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || statement INTO plan;
    RETURN (SELECT coalesce(sum(m[1]::bigint), 0) FROM regexp_matches(plan, '"Workers Launched": ([0-9]+)', 'g') AS m);
END
$$;
CREATE FUNCTION pg_temp.plan_of(statement text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    plan text;
BEGIN
    EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || statement INTO plan;
    RETURN plan;
END
$$;
SELECT matches(pg_temp.plan_of($$SELECT engage.ordinal_fit(y, ARRAY[x1, x2], w) FROM ord$$), '"Partial Mode": "Partial"',
               'the fit is planned as a partial aggregate');
SELECT cmp_ok(pg_temp.workers_launched($$CREATE TEMP TABLE par_fit AS
                  SELECT engage.ordinal_fit(y, ARRAY[x1, x2], w) AS m FROM ord$$), '>', 0::bigint,
              'parallel workers build partial fits');
SET LOCAL max_parallel_workers_per_gather = 0;
SELECT is((SELECT m::text FROM par_fit), (SELECT engage.ordinal_fit(y, ARRAY[x1, x2], w)::text FROM ord),
          'a parallel fit equals the serial one, to the bit');

SET LOCAL max_parallel_workers_per_gather = 2;
CREATE TABLE ord_mixed AS SELECT id, y, CASE WHEN id <= 10000 THEN ARRAY[x1] ELSE ARRAY[x1, x2] END AS x FROM ord;
ANALYZE ord_mixed;
SELECT throws_ok($$SELECT engage.ordinal_fit(y, x) FROM ord_mixed$$,
                 '2202E', 'every row of engage.ordinal_fit must have the same number of predictors',
                 'rows of different lengths are refused in a parallel plan too');

SELECT * FROM finish();
ROLLBACK;
