-- Every error a user can cause gets a specific SQLSTATE.
BEGIN;
SELECT plan(63);
SET LOCAL TimeZone = 'UTC';

-- engage.ele_minutes parameters
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '0 minutes', '2 minutes', 'UTC')$$,
                 '22023', 'idle_gap must be longer than zero and at most one day', 'a zero idle gap is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '-5 minutes', '2 minutes', 'UTC')$$,
                 '22023', NULL, 'a negative idle gap is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '25 hours', '2 minutes', 'UTC')$$,
                 '22023', NULL, 'an idle gap over a day is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '1 month', '2 minutes', 'UTC')$$,
                 '22023', 'idle_gap must be at most one day', 'an idle gap in months is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '5 minutes', '-1 second', 'UTC')$$,
                 '22023', 'credit must be between zero and one day', 'a negative credit is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '5 minutes', '2 days', 'UTC')$$,
                 '22023', 'credit must be at most one day', 'a credit in days beyond one is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '5 minutes', '2 minutes', 'Mars/Olympus')$$,
                 '22023', 'time_zone "Mars/Olympus" is not recognized', 'an unknown time zone is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '5 minutes', '2 minutes', repeat('x', 300))$$,
                 '22023', NULL, 'an overlong time zone name is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', NULL, '2 minutes', 'UTC')$$,
                 '22004', 'idle_gap of engage.ele_minutes must not be null', 'a NULL idle gap is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '5 minutes', NULL, 'UTC')$$,
                 '22004', 'credit of engage.ele_minutes must not be null', 'a NULL credit is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(now(), 'A', '5 minutes', '2 minutes', NULL)$$,
                 '22004', 'time_zone of engage.ele_minutes must not be null', 'a NULL time zone is refused');
SELECT throws_ok($$SELECT engage.ele_minutes(ts, 'A', g, '2 minutes', 'UTC')
                   FROM (VALUES (now(), '5 minutes'::interval), (now(), '6 minutes')) AS v(ts, g)$$,
                 '22023', 'engage.ele_minutes parameters differ within one group',
                 'different parameters within one group are refused');
SELECT throws_ok($$SELECT engage.ele_minutes(ts, 'A', '5 minutes', '2 minutes', z)
                   FROM (VALUES (now(), 'UTC'), (now(), 'Europe/London')) AS v(ts, z)$$,
                 '22023', 'engage.ele_minutes parameters differ within one group',
                 'different time zones within one group are refused');
SELECT throws_ok($$SELECT engage.ele_minutes('infinity', 'A')$$,
                 '22008', 'page view timestamp must be finite', 'an infinite timestamp is refused');
SELECT throws_ok($$SELECT engage.ele_minutes('-infinity', 'A', '5 minutes', '2 minutes', 'UTC')$$,
                 '22008', 'page view timestamp must be finite', 'a -infinity timestamp is refused');
SELECT throws_ok($$SELECT engage.ele_minutes('4714-11-24 00:00:00+00 BC', 'A', '5 minutes', '2 minutes', 'America/Los_Angeles')$$,
                 '22008', 'date out of range for timestamp in time zone "America/Los_Angeles"',
                 'a view whose local day is before the first date is refused');
SELECT lives_ok($$SELECT engage.ele_minutes('4713-01-01 00:00:00+00 BC', 'A'), engage.ele_minutes('294276-12-31 23:59:59+00', 'A')$$,
                'the earliest and latest timestamps are accepted');

-- settings
SELECT throws_ok($$SET engage.time_zone = 'Mars/Olympus'$$, '22023', NULL, 'engage.time_zone refuses an unknown zone');
SELECT throws_ok($$SET engage.idle_gap = 0$$, '22023', NULL, 'engage.idle_gap refuses zero');
SELECT throws_ok($$SET engage.credit = '-1s'$$, '22023', NULL, 'engage.credit refuses a negative credit');
SELECT throws_ok($$SET engage.no_such_setting = 1$$, '42602', NULL, 'the engage. prefix is reserved');

-- engage.engagement_series
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1, 1, 1, '2026-01-02', '2026-01-01')$$,
                 '22023', 'from_day must not be after to_day', 'a reversed range is refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1, 1, 1, NULL, '2026-01-01')$$,
                 '22004', NULL, 'a NULL from_day is refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1, 1, 1, '-infinity', '2026-01-01')$$,
                 '22023', NULL, 'an infinite range is refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1, 1, 1, '1900-01-01', '2026-01-01')$$,
                 '54000', 'engage.engagement_series covers at most 36600 days', 'a range over a century is refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', -1, 1, 1, '2026-01-01', '2026-01-02')$$,
                 '22003', NULL, 'negative ELE minutes are refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 'NaN', 1, 1, '2026-01-01', '2026-01-02')$$,
                 '22003', NULL, 'NaN ELE minutes are refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 'Infinity', 1, 1, '2026-01-01', '2026-01-02')$$,
                 '22003', NULL, 'infinite ELE minutes are refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1, -1, 1, '2026-01-01', '2026-01-02')$$,
                 '22003', 'app_choices must not be negative', 'negative app choices are refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1, 1, -1, '2026-01-01', '2026-01-02')$$,
                 '22003', 'career_events must not be negative', 'negative career events are refused');
SELECT throws_ok($$SELECT engage.engagement_series(d, 1, 1, 1, d, d)
                   FROM (VALUES ('2026-01-01'::date), ('2026-01-02')) AS v(d)$$,
                 '22023', 'from_day and to_day must be the same on every row of a group',
                 'a range that changes within a group is refused');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1, 9223372036854775807, 1, '2026-01-01', '2026-01-02')
                   FROM generate_series(1, 2)$$,
                 '22003', NULL, 'a daily count that overflows is refused');
SELECT throws_ok($$SELECT engage.engagement_series(d::date, 0, 9223372036854775807, 0, '2026-01-01', '2026-01-02')
                   FROM generate_series('2026-01-01'::date, '2026-01-02', '1 day') AS d$$,
                 '22003', '7-day sums out of range on 2026-01-02', 'app choices whose 7-day sum overflows are refused, naming the day');
SELECT throws_ok($$SELECT engage.engagement_series(d::date, 1e308, 0, 0, '2026-01-01', '2026-01-02')
                   FROM generate_series('2026-01-01'::date, '2026-01-02', '1 day') AS d$$,
                 '22003', '7-day sums out of range on 2026-01-02', 'ELE minutes whose 7-day sum is infinite are refused, naming the day');
SELECT throws_ok($$SELECT engage.engagement_series('2026-01-01', 1e308, 0, 0, '2026-01-01', '2026-01-02')
                   FROM generate_series(1, 2)$$,
                 '22003', 'daily ELE minutes out of range on 2026-01-01', 'ELE minutes whose daily sum is infinite are refused');
SELECT throws_ok($$SELECT engage.score(1e308, 0, 0, 10, 0, 0)$$,
                 '22003', 'engagement score out of range', 'a score that would be infinite is refused');
SELECT throws_ok($$SELECT engage.score(0, 0, 0, 'Infinity', 0, 0)$$,
                 '22003', 'engagement score out of range', 'an infinite weight gives no score');

-- the local midnight of a day beyond the timestamps
SELECT throws_ok($$SELECT engage.local_midnight('300000-01-01')$$, '22008', NULL,
                 'the midnight of a day past the last timestamp is refused');
SELECT throws_ok($$SELECT engage.local_midnight('4714-11-23 BC')$$, '22008', NULL,
                 'and of a day before the first');
SELECT throws_ok($$SELECT engage.profile_range('5874897-12-25', '5874897-12-31')$$, '22008', NULL,
                 'a profile range past the last timestamp is refused');

-- engage.refresh
SELECT throws_ok($$CALL engage.refresh('2026-01-02', '2026-01-01')$$, '22023', NULL, 'refresh refuses a reversed range');
SELECT throws_ok($$CALL engage.refresh('1900-01-01', '2026-01-01')$$, '54000', NULL, 'refresh refuses a range over a century');
SELECT throws_ok($$CALL engage.refresh('2026-01-01', '2026-01-01')$$, '55000', 'no academic year covers 2026-01-01',
                 'refresh refuses days in no academic year');

-- the tables
INSERT INTO engage.college VALUES ('CLES', 'Life and Environmental Sciences');
INSERT INTO engage.academic_year VALUES ('2025/26', '2025-08-01', '2026-07-31');
INSERT INTO engage.module VALUES ('BIO1001', 'Cell Biology', 'CLES');
INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
VALUES ('690000001', 'Ada Jones', 'CLES', 'BSc Biological Sciences', 1);
INSERT INTO engage.staff (staff_id, full_name) VALUES ('S0001', 'Dr Tutor');
INSERT INTO engage.consent (student_id, academic_year, granted) VALUES ('690000001', '2025/26', true);

SELECT throws_ok($$CALL engage.refresh('2026-01-01', '2026-01-01')$$, '55000',
                 'no coefficients for college CLES in academic year 2025/26', 'refresh refuses a missing coefficient row');
SELECT throws_ok($$INSERT INTO engage.academic_year VALUES ('2025/27', '2025-08-01', '2026-07-31')$$,
                 '23514', NULL, 'an academic year label must name consecutive years');
SELECT throws_ok($$INSERT INTO engage.academic_year VALUES ('2026/27', '2026-07-01', '2027-07-31')$$,
                 '23P01', NULL, 'academic years must not overlap');
SELECT throws_ok($$INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark)
                   VALUES ('690000001', 'BIO1001', 'Essay', 'coursework', 100.5)$$,
                 '23514', NULL, 'a mark over 100 is refused');
SELECT throws_ok($$INSERT INTO engage.assessment_mark (student_id, module_code, assessment, kind, mark)
                   VALUES ('690000001', 'BIO1001', 'Essay', 'coursework', -1)$$,
                 '23514', NULL, 'a negative mark is refused');
SELECT throws_ok($$INSERT INTO engage.attendance VALUES ('690000001', 'BIO1001', 'L1', 'lecture', now(), 'late')$$,
                 '23514', NULL, 'an unknown attendance status is refused');
SELECT throws_ok($$INSERT INTO engage.tutoring VALUES ('S0001', '690000001', '2026-01-01', '2026-01-01')$$,
                 '23514', NULL, 'valid_from must be before valid_to');
SELECT throws_ok($$INSERT INTO engage.ele_event VALUES ('690000001', NULL, 'BIO1001')$$,
                 '23502', NULL, 'a page view needs a timestamp');
SELECT throws_ok($$INSERT INTO engage.ele_event VALUES ('690000001', 'infinity', 'BIO1001')$$,
                 '23514', NULL, 'a page view timestamp must be finite');
SELECT throws_ok($$INSERT INTO engage.ele_event VALUES ('690000999', now(), 'BIO1001')$$,
                 '23503', NULL, 'a page view of an unknown student is refused');
SELECT throws_ok($$INSERT INTO engage.ele_event VALUES ('690000001', now(), 'XXX9999')$$,
                 '23503', NULL, 'a page view of an unknown module is refused');
SELECT throws_ok($$UPDATE engage.consent SET granted = false$$, '55000', 'consent is append-only',
                 'consent history cannot be rewritten');
SELECT throws_ok($$DELETE FROM engage.consent$$, '55000', 'consent is append-only', 'consent history cannot be deleted');
SELECT throws_ok($$TRUNCATE engage.consent$$, '55000', 'consent is append-only', 'consent history cannot be truncated');
SELECT throws_ok($$INSERT INTO engage.meeting_note (student_id, author_id, met_on, focus, discussed, summary)
                   VALUES ('690000001', 'S0001', '2026-01-01', 'issue', 'x', 'y')$$,
                 '23514', NULL, 'a note about an issue must name the issue');

-- Citus: without it, engage.distribute refuses and says what is missing;
-- on one server every table is kept here
SELECT throws_ok($$CALL engage.distribute()$$, '55000', 'engage.distribute needs Citus in this database',
                 'engage.distribute refuses a database without Citus');
SELECT is(engage.here('engage.daily_engagement', 'anyone'), 'engage.daily_engagement'::regclass,
          'on one server, a student''s rows are kept in the table itself');
SELECT is(engage.here('engage.academic_year'), 'engage.academic_year'::regclass,
          'on one server, a catalogue is kept in the table itself');
SELECT is(ARRAY(SELECT engage.local_shards('engage.daily_engagement')), ARRAY['engage.daily_engagement'::regclass],
          'on one server, the table itself is the only relation holding its rows');
SELECT is(engage.node_rows('engage.consent'), 'engage.consent',
          'and the rows this node reads are the table''s');

SELECT * FROM finish();
ROLLBACK;
