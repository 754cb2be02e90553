-- For the pgTAP files (loaded with \ir): engage.refresh run one day at a
-- time, each day a run of its own, from from_day to to_day in that order
-- (backwards when to_day is the earlier day).
CREATE PROCEDURE pg_temp.refresh_day_by_day(from_day date, to_day date)
LANGUAGE plpgsql AS $$
DECLARE
    d date;
BEGIN
    FOR d IN SELECT g::date
             FROM generate_series(from_day, to_day,
                                  CASE WHEN to_day < from_day THEN interval '-1 day' ELSE interval '1 day' END) AS g LOOP
        CALL engage.refresh(d, d);
    END LOOP;
END
$$;
