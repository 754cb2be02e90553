-- The benches' timer (bench.sql, ordinal.sh): the median wall time of a
-- statement over reps runs, with cleanup, untimed, after each.
CREATE FUNCTION pg_temp.median_ms(q text, reps int, cleanup text DEFAULT NULL) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
    t timestamptz;
    times double precision[] := '{}';
BEGIN
    FOR i IN 1 .. reps LOOP
        t := clock_timestamp();
        EXECUTE q;
        times := times || extract(epoch FROM clock_timestamp() - t) * 1000;
        IF cleanup IS NOT NULL THEN
            EXECUTE cleanup;
        END IF;
    END LOOP;
    RETURN (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(times) AS x);
END $$;
