-- engage.local_day and engage.today: the calendar day every rule is judged
-- by, in engage.time_zone, whatever the session's TimeZone.
BEGIN;
SELECT plan(16);
SET LOCAL TimeZone = 'Pacific/Kiritimati';

-- the same day as PostgreSQL's own conversion, over two years of instants
-- that cross every change of UTC offset, in zones with odd offsets
CREATE TEMP TABLE zones (zone text);
INSERT INTO zones VALUES ('Europe/London'), ('Australia/Lord_Howe'), ('America/St_Johns'),
                         ('Asia/Kathmandu'), ('Pacific/Chatham'), ('UTC');
CREATE FUNCTION pg_temp.disagreements(zone text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM set_config('engage.time_zone', zone, true);
    SELECT count(*) INTO n
    FROM generate_series('2025-01-01 00:00+00'::timestamptz, '2027-01-01 00:00+00', '7 minutes 13 seconds') AS g
    WHERE engage.local_day(g) <> (g AT TIME ZONE zone)::date;
    RETURN n;
END $$;
SELECT is((SELECT sum(pg_temp.disagreements(zone)) FROM zones), 0::numeric,
          'local_day agrees with AT TIME ZONE in six zones over two years');
RESET engage.time_zone;

SELECT is(engage.local_day('2026-10-24 23:30+00'), '2026-10-25'::date,
          'an instant in British Summer Time falls on the London day');
SELECT is(engage.local_day('2026-10-25 23:30+00'), '2026-10-25'::date,
          'the same clock time after the clocks go back falls on the UTC day');
SET LOCAL engage.time_zone = 'America/New_York';
SELECT is(engage.local_day('2026-10-25 02:30+00'), '2026-10-24'::date,
          'engage.time_zone decides the day, not the session''s TimeZone');
RESET engage.time_zone;

SELECT is(engage.local_day('infinity'), 'infinity'::date, 'infinity stays infinite');
SELECT is(engage.local_day('-infinity'), '-infinity'::date, '-infinity stays infinite');
SELECT is(engage.local_day(NULL), NULL::date, 'no instant, no day');
SET LOCAL engage.time_zone = 'America/Los_Angeles';
SELECT throws_ok($$SELECT engage.local_day('4714-11-24 00:00+00 BC')$$, '22008',
                 'date out of range for timestamp in time zone "America/Los_Angeles"',
                 'an instant whose local day is before the first date is refused');
RESET engage.time_zone;

-- today is the statement's day, not the transaction's
SELECT is(engage.today(), (statement_timestamp() AT TIME ZONE 'Europe/London')::date,
          'today is the London day of the statement''s start');
SET LOCAL engage.time_zone = 'Pacific/Kiritimati';
SELECT is(engage.today(), (statement_timestamp() AT TIME ZONE 'Pacific/Kiritimati')::date,
          'today follows engage.time_zone');
SET LOCAL engage.time_zone = 'Pacific/Pago_Pago';
SELECT is(engage.today(), (statement_timestamp() AT TIME ZONE 'Pacific/Pago_Pago')::date,
          'today follows engage.time_zone twenty-five hours away');
RESET engage.time_zone;

CREATE FUNCTION pg_temp.today_in_function() RETURNS date LANGUAGE plpgsql AS $$
BEGIN
    RETURN engage.today();
END $$;
SELECT is(pg_temp.today_in_function(), (statement_timestamp() AT TIME ZONE 'Europe/London')::date,
          'today inside a function is the calling statement''s day');

-- the week of the cohort figures: Monday to Sunday, by date arithmetic alone
SELECT is((SELECT count(*) FROM generate_series(date '1999-12-27', date '2031-01-05', interval '1 day') AS d
           WHERE engage.week_start(d::date) <> d::date - (extract(isodow FROM d::date)::int - 1)
              OR extract(isodow FROM engage.week_start(d::date)) <> 1),
          0::bigint, 'week_start is the Monday on or before every day of 31 years');
SET LOCAL TimeZone = 'America/Sao_Paulo';
SELECT is(engage.week_start('2018-11-04'), date '2018-10-29',
          'whatever the session''s TimeZone (midnight did not exist that Sunday in Sao Paulo)');
SELECT is(engage.week_start('infinity'), 'infinity'::date, 'an infinite day is its own week');
SELECT is(engage.week_start('4714-11-30 BC'), date '4714-11-24 BC',
          'the first date PostgreSQL knows is a Monday: every week begins on a valid date');

SELECT * FROM finish();
ROLLBACK;
