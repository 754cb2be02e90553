-- Cohort figures for BI ----------------------------------------------------------

CREATE TABLE @extschema@.cohort_week (
    college         text NOT NULL REFERENCES @extschema@.college,
    programme       text NOT NULL,
    module_code     text REFERENCES @extschema@.module,
    week            date NOT NULL CONSTRAINT cohort_week_monday CHECK (extract(isodow FROM week) = 1),
    students        integer NOT NULL CONSTRAINT cohort_week_not_small CHECK (students >= 5),
    mean_score      double precision NOT NULL,
    median_score    double precision NOT NULL,
    attendance_rate numeric(4,1)
);
CREATE UNIQUE INDEX cohort_week_key
    ON @extschema@.cohort_week (week, college, programme, (COALESCE(module_code, '')));
-- the tutee list's programme position reads each programme's latest
-- published week (engage.programme_positions)
CREATE INDEX cohort_week_programme
    ON @extschema@.cohort_week (college, programme, week) WHERE module_code IS NULL;
COMMENT ON TABLE @extschema@.cohort_week IS 'Cohort figures for BI, written by engage.refresh for the weeks it touches: groups of at least 5 consenting students only. Read through engage.cohort_engagement.';
COMMENT ON COLUMN @extschema@.cohort_week.college IS 'College of the students.';
COMMENT ON COLUMN @extschema@.cohort_week.programme IS 'Programme of the students.';
COMMENT ON COLUMN @extschema@.cohort_week.module_code IS 'Module, or NULL for all modules.';
COMMENT ON COLUMN @extschema@.cohort_week.week IS 'Monday of the week.';
COMMENT ON COLUMN @extschema@.cohort_week.students IS 'Consenting students in the group (at least 5).';
COMMENT ON COLUMN @extschema@.cohort_week.mean_score IS 'Mean of the students'' mean daily score that week.';
COMMENT ON COLUMN @extschema@.cohort_week.median_score IS 'Median of the students'' mean daily score that week.';
COMMENT ON COLUMN @extschema@.cohort_week.attendance_rate IS 'Percentage of the group''s sessions that week attended, authorised absences left out.';

-- For BI: the cohort figures engage.refresh stores, already suppressed, so
-- that nothing an analyst can run (EXPLAIN included) sees a smaller group or
-- a named student.  Owned by the extension owner; analysts read only this.
CREATE VIEW @extschema@.cohort_engagement AS
SELECT c.college, c.programme, c.module_code, c.week, c.students,
       c.mean_score, c.median_score, c.attendance_rate
FROM @extschema@.cohort_week AS c;

COMMENT ON VIEW @extschema@.cohort_engagement IS
'For BI: per college, programme, module (NULL = all modules) and week, the number of consenting students, their mean and median weekly engagement score and attendance rate, as of the latest engage.refresh of that week; groups of fewer than 5 students are left out. No named student.';
COMMENT ON COLUMN @extschema@.cohort_engagement.college IS 'College of the students.';
COMMENT ON COLUMN @extschema@.cohort_engagement.programme IS 'Programme of the students.';
COMMENT ON COLUMN @extschema@.cohort_engagement.module_code IS 'Module, or NULL for all modules.';
COMMENT ON COLUMN @extschema@.cohort_engagement.week IS 'Monday of the week.';
COMMENT ON COLUMN @extschema@.cohort_engagement.students IS 'Consenting students in the group (at least 5).';
COMMENT ON COLUMN @extschema@.cohort_engagement.mean_score IS 'Mean of the students'' mean daily score that week.';
COMMENT ON COLUMN @extschema@.cohort_engagement.median_score IS 'Median of the students'' mean daily score that week.';
COMMENT ON COLUMN @extschema@.cohort_engagement.attendance_rate IS 'Percentage of the group''s sessions that week attended, authorised absences left out.';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.cohort_week', '');
