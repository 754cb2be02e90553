-- profile.sql: where engage.refresh spent its time since pg_stat_statements
-- was last reset: the statements inside the calls, grouped by their text (a
-- statement that names a temporary table is another entry in each run), in
-- ms per run, kept in the temporary table profile; then the counts are
-- reset.  psql variables: run (a label), runs (how many calls).  The caller
-- creates the extension, and tracking is on only where it turns it on
-- (pg_stat_statements.track).
CREATE TEMP TABLE IF NOT EXISTS profile (run text, statement text, ms double precision, calls double precision);
INSERT INTO profile
SELECT :'run', left(regexp_replace(query, '\s+', ' ', 'g'), 90), sum(total_exec_time) / :runs,
       sum(calls)::double precision / :runs
FROM pg_stat_statements
WHERE NOT toplevel AND query NOT LIKE 'CALL %'
  AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
GROUP BY query ORDER BY 3 DESC LIMIT 12;
SELECT pg_stat_statements_reset() AS reset \gset
