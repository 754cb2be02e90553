#!/bin/sh
# make test-citus: engage on a Citus cluster, against one server.
#
# Starts a coordinator and two workers in throw-away data directories, loads
# the synthetic university (CITUS_STUDENTS students, 14 days) on the
# coordinator, distributes it with engage.distribute(), and loads the same
# university into a database of one server beside it.  Each check runs the
# same query on both and compares the results.  Then the access tests of one
# server (test/access) run unchanged, each in a new database in the
# distributed layout.  Prints TAP; exits 1 when a check fails.  Where Citus is not installed for this PostgreSQL, it says
# so and exits 0 as skipped: it never reports a pass it did not run.
set -u
cd "$(dirname "$0")/../.."
PG_MAJOR=${PG_MAJOR:-15}
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/$PG_MAJOR/bin/pg_config}
students=${CITUS_STUDENTS:-300}

. test/lib.sh
. test/citus/cluster.sh
if why=$(citus_missing); then
    echo "1..0 # SKIP $why"
    echo "test-citus: skipped, nothing was tested"
    exit 0
fi

cluster_start
ok $? "a coordinator and two workers start with Citus, and engage is installed there and on one server beside them"
[ $failed = 0 ] || exit 1
cluster_load "$students" 14
ok $? "the synthetic university ($students students) loads into both"
[ $failed = 0 ] || exit 1

# a worker that would judge the day in another zone is refused, and nothing
# is converted
w1="psql -X -q -At -h $work/w1 -p $((base + 1)) -U postgres -d postgres"
$w1 -c "ALTER SYSTEM SET engage.time_zone = 'America/New_York'" -c 'SELECT pg_reload_conf()' >/dev/null && sleep 0.5
$c -c '\set VERBOSITY sqlstate' -c 'CALL engage.distribute()' > "$work/distribute.out" 2>&1
grep -q '55000' "$work/distribute.out" && [ "$($c -c 'SELECT count(*) FROM pg_dist_partition')" = 0 ]
ok $? "engage.distribute() refuses a cluster whose workers judge the day in another time zone (55000)"
$w1 -c 'ALTER SYSTEM RESET engage.time_zone' -c 'SELECT pg_reload_conf()' >/dev/null && sleep 0.5

$c -c 'SET client_min_messages = warning' -c 'CALL engage.distribute()' > "$work/distribute.out" 2>&1
status=$?
sed 's/^/# /' "$work/distribute.out"
ok $status "engage.distribute() turns the loaded database into the distributed layout"
[ $failed = 0 ] || exit 1

# the layout: catalogues replicated, personal data by student, co-located
$c -c "SELECT c.relname || ' ' || p.partmethod::text
       FROM pg_dist_partition AS p JOIN pg_class AS c ON c.oid = p.logicalrelid
       WHERE c.relnamespace = 'engage'::regnamespace AND p.partmethod = 'n' ORDER BY 1" > "$work/reference.txt"
printf '%s n\n' academic_year coefficients cohort_week college exam_period mark_band model_fit module staff student \
    student_college tutoring \
    > "$work/reference.expected"
equal "$work/reference.expected" "$work/reference.txt" "the catalogues and the directory of people are reference tables"

$c -c "SELECT c.relname || ' ' || column_to_column_name(p.logicalrelid, p.partkey)
              || ' ' || (count(*) OVER (PARTITION BY p.colocationid) = count(*) OVER ())
       FROM pg_dist_partition AS p JOIN pg_class AS c ON c.oid = p.logicalrelid
       WHERE c.relnamespace = 'engage'::regnamespace AND NOT c.relispartition
         AND p.partmethod = 'h' ORDER BY 1" > "$work/distributed.txt"
printf '%s student_id true\n' alert app_event assessment_mark attendance career_event consent daily_engagement \
    ele_event employability enrolment meeting_note meeting_note_removal note_removal_request refresh_stale \
    > "$work/distributed.expected"
equal "$work/distributed.expected" "$work/distributed.txt" \
    "every table of personal data is distributed by student_id, all in one co-location group"

# same NAME QUERY [errors]: the query's rows on the cluster equal one
# server's; unless errors is given, an error on one server fails the check.
# The query runs as $user (postgres unless set), in a transaction that names
# $viewer with SET LOCAL engage.viewer where set.
user=postgres viewer=
same() {
    { echo 'BEGIN;'
      [ -z "$viewer" ] || echo "SET LOCAL engage.viewer = '$viewer';"
      printf '%s;\n' "$2"
      echo 'COMMIT;'; } > "$work/query.sql"
    for db in one postgres; do
        psql -X -q -At -h "$work/c" -p $base -U "$user" -d $db -f "$work/query.sql" 2>&1 |
            sed 's/^psql:[^ ]*: //' > "$work/$db.txt"
    done
    mv "$work/postgres.txt" "$work/cluster.txt"
    if [ "${3:-}" != errors ] && grep -q ERROR "$work/one.txt"; then
        ok 1 "$1"
        sed 's/^/# one server: /' "$work/one.txt" | head -20
    else
        equal "$work/one.txt" "$work/cluster.txt" "$1"
    fi
}

fingerprint="SELECT format('SELECT %L, count(*), md5(coalesce(string_agg(x::text, %L ORDER BY x::text), %L)) FROM engage.%I AS x;',
                          c.relname, E'\n', '', c.relname)
             FROM pg_class AS c
             WHERE c.relnamespace = 'engage'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND c.relname !~ '^(stage_|load_)' ORDER BY c.relname"
$one -c "$fingerprint" > "$work/fingerprint.sql"
same "every table holds the same rows as on one server" "$(cat "$work/fingerprint.sql")"

same "engage.ele_minutes grouped by student equals one server's" \
    "SELECT student_id, md5(engage.ele_minutes(ts, module_code)::text)
     FROM engage.ele_event GROUP BY student_id ORDER BY 1"
$c -c "EXPLAIN (VERBOSE, COSTS OFF) SELECT student_id, engage.ele_minutes(ts, module_code)
       FROM engage.ele_event GROUP BY student_id" > "$work/plan.txt"
grep -q 'Task Count: 32' "$work/plan.txt" && grep -q 'engage.ele_minutes(ts, module_code).*GROUP BY student_id' "$work/plan.txt"
ok $? "engage.ele_minutes grouped by student runs on the workers, one task per shard"

# The triggers: the identity rule, and the marks of what a change makes
# stale, as on one server.
same "a student whose id is a staff id, or whose login role is staff's, is refused as on one server" \
    "\set VERBOSITY sqlstate
     INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study)
     SELECT 'S0001', 'Ann Other', college, programme, 1 FROM engage.student ORDER BY student_id LIMIT 1;
     INSERT INTO engage.student (student_id, full_name, college, programme, year_of_study, login_role)
     SELECT 'X0001', 'Ann Other', college, programme, 1, 'tutor_s0001' FROM engage.student ORDER BY student_id LIMIT 1;
     INSERT INTO engage.staff (staff_id, full_name) SELECT student_id, 'Ann Other' FROM engage.student ORDER BY 1 LIMIT 1;
     SELECT count(*) FROM engage.student WHERE student_id IN ('S0001', 'X0001')" errors

# rows for the changes below, chosen on one server (Citus plans few of the
# subqueries that would choose them)
consent_rows=$($one -c "SELECT string_agg(format('(%L, %L, %L)', s.student_id, '2026/27', g), ', ' ORDER BY s.student_id, g)
                        FROM (SELECT student_id FROM engage.student ORDER BY 1 LIMIT 2 OFFSET 40) AS s,
                             (VALUES (false), (true)) AS v(g)")
enrolment_rows=$($one -c "SELECT string_agg(format('(%L, %L, %L)', s.student_id, m.module_code, '2026/27'), ', ')
                          FROM (SELECT student_id, college FROM engage.student ORDER BY 1 LIMIT 2 OFFSET 60) AS s
                          CROSS JOIN LATERAL (
                              SELECT m.module_code FROM engage.module AS m
                              WHERE m.college = s.college
                                AND NOT EXISTS (SELECT FROM engage.enrolment AS e
                                                WHERE e.student_id = s.student_id AND e.module_code = m.module_code)
                              ORDER BY 1 LIMIT 1) AS m")
for change in \
    "page views of a past day|INSERT INTO engage.ele_event (student_id, ts, module_code)
         SELECT e.student_id, '2026-11-20 11:00+00', e.module_code FROM engage.enrolment AS e
         ORDER BY 1, 3 LIMIT 7" \
    "app choices and careers events of a past day|INSERT INTO engage.app_event (student_id, ts, menu_item)
         SELECT s.student_id, '2026-11-18 09:30+00', 'timetable' FROM engage.student AS s ORDER BY 1 LIMIT 5;
     INSERT INTO engage.career_event (student_id, event_id, event_day, attended)
         SELECT s.student_id, 'CV-clinic-19', '2026-11-19', true FROM engage.student AS s ORDER BY 1 DESC LIMIT 5" \
    "a change of college|UPDATE engage.student SET college = (SELECT min(c.code) FROM engage.college AS c WHERE c.code <> student.college)
         WHERE student_id IN (SELECT s.student_id FROM engage.student AS s ORDER BY 1 LIMIT 3 OFFSET 20)" \
    "consent withdrawn and granted again, and new enrolments|INSERT INTO engage.consent (student_id, academic_year, granted)
         VALUES $consent_rows;
     INSERT INTO engage.enrolment (student_id, module_code, academic_year) VALUES $enrolment_rows" \
    "a change of a college's weights|UPDATE engage.coefficients SET ele = ele * 1.1
         WHERE college = (SELECT min(c.code) FROM engage.college AS c) AND academic_year = '2026/27'"
do
    name=${change%%|*}
    $one -c "DELETE FROM engage.refresh_stale"
    $c -c "DELETE FROM engage.refresh_stale"
    same "$name marks the same students stale from the same days as on one server" \
        "\set VERBOSITY sqlstate
         ${change#*|};
         SELECT student_id, from_day FROM engage.refresh_stale ORDER BY 1"
done

# The nightly computation: a backfill of the 14 days, then a nightly run that
# also recomputes the students the changes above marked stale
computed="SELECT count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM engage.daily_engagement AS x;
          SELECT count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text), '')) FROM engage.cohort_week AS x;
          SELECT count(*), md5(coalesce(string_agg(a.k, E'\n' ORDER BY a.k), ''))
          FROM (SELECT concat_ws(',', a.student_id, a.kind, a.module_code, a.fired_on, a.detail,
                                 a.cleared_at IS NULL) AS k FROM engage.alert AS a) AS a;
          SELECT r.from_day, r.to_day, r.days, r.students, r.rows_written, r.rows_purged, r.students_caught_up
          FROM engage.refresh_run AS r ORDER BY r.run_id DESC LIMIT 1"
same "a 14-day refresh writes the same days, cohort figures, alerts and run record as on one server" \
    "CALL engage.refresh('2026-11-14', '2026-11-27'); $computed"
same "the nightly refresh after the changes above catches up the same students, to the same rows" \
    "CALL engage.refresh(); $computed"

# the partition of the year the refresh made, on the cluster: distributed
# with daily_engagement, and each of its shards indexed after the write
$c -c "SELECT c.relname || ' ' || column_to_column_name(p.logicalrelid, p.partkey) || ' '
              || (p.colocationid = (SELECT d.colocationid FROM pg_dist_partition AS d
                                    WHERE d.logicalrelid = 'engage.daily_engagement'::regclass))
       FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
       LEFT JOIN pg_dist_partition AS p ON p.logicalrelid = c.oid
       WHERE i.inhparent = 'engage.daily_engagement'::regclass ORDER BY 1" > "$work/partitions.txt"
$c -c "SELECT DISTINCT result FROM run_command_on_placements('engage.daily_engagement_2026_27',
           \$\$SELECT count(*) FROM pg_index WHERE indrelid = '%s'::regclass\$\$)" >> "$work/partitions.txt"
printf 'daily_engagement_2026_27 student_id true\n2\n' > "$work/partitions.expected"
equal "$work/partitions.expected" "$work/partitions.txt" \
    "the refresh's partition of the year is distributed with daily_engagement, and each shard has its two indexes"

# The dashboard, as the web front end and as people who log in, and the
# cohort figures as an analyst read them, as on one server
tutor=$($one -c "SELECT t.tutor_id FROM engage.tutoring AS t GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
tutee=$($one -c "SELECT t.student_id FROM engage.tutoring AS t JOIN engage.consent_latest AS l USING (student_id)
                 WHERE t.tutor_id = '$tutor' AND l.granted AND t.valid_from <= engage.today()
                   AND (t.valid_to IS NULL OR t.valid_to > engage.today()) ORDER BY 1 LIMIT 1")
$c -c "SET client_min_messages = warning" \
   -c "CREATE ROLE citus_app LOGIN IN ROLE engage_app" -c "CREATE ROLE citus_analyst LOGIN IN ROLE engage_analyst" \
   -c "CREATE ROLE tutor_$(echo "$tutor" | tr 'A-Z' 'a-z') LOGIN IN ROLE engage_tutor" \
   -c "CREATE ROLE student_$tutee LOGIN IN ROLE engage_student"
for who in "citus_app $tutor" "citus_app $tutee" "tutor_$(echo "$tutor" | tr 'A-Z' 'a-z')" "student_$tutee"; do
    user=${who% *} viewer=
    [ "$user" = citus_app ] && viewer=${who#* }
    # (students' login roles are not for viewers; alert numbers and times
    # are the run's, not the data's)
    for view in my_students dashboard_grades dashboard_attendance dashboard_engagement dashboard_employability \
                dashboard_meetings \
                "dashboard_alerts:(SELECT student_id, kind, title, module_code, module_title, detail, fired_on, open
                                   FROM engage.dashboard_alerts)" \
                "student:(SELECT student_id, full_name, college, programme, year_of_study FROM engage.student)" \
                consent; do
        case $view in *:*) name=${view%%:*} from=${view#*:} ;; *) name=$view from=engage.$view ;; esac
        same "$name as $user${viewer:+ for $viewer}" "SELECT count(*) FROM $from AS v;
                 SELECT md5(coalesce(string_agg(v::text, E'\n' ORDER BY v::text), '')) FROM $from AS v"
    done
    # (alert numbers and times are the run's)
    same "the one-call dashboard as $user${viewer:+ for $viewer}" \
        "SELECT md5(engage.my_students_json()::text), md5((engage.dashboard('$tutee') - 'alerts')::text),
                (SELECT md5(pg_catalog.jsonb_agg(a - 'alert_id' - 'fired_at' - 'cleared_at')::text)
                 FROM pg_catalog.jsonb_array_elements(engage.dashboard('$tutee') -> 'alerts') AS a)"
done
user=citus_analyst viewer=
same "the cohort figures as an analyst" \
    "SELECT md5(coalesce(string_agg(v::text, E'\n' ORDER BY v::text), '')) FROM engage.cohort_engagement AS v"
user=postgres
$c -c "SELECT 1" >/dev/null
ok $? "the coordinator is up after the dashboard's queries"

# The attacks of the access rules, on the cluster as on one server: each
# check states what must hold, and the cluster must answer as one server
# does
login_tutor=tutor_$(echo "$tutor" | tr 'A-Z' 'a-z')
other_tutor=$($one -c "SELECT min(t.tutor_id) FROM engage.tutoring AS t WHERE t.tutor_id <> '$tutor'")
stranger=$($one -c "SELECT min(s.student_id) FROM engage.student AS s
                    WHERE NOT EXISTS (SELECT FROM engage.tutoring AS t
                                      WHERE t.student_id = s.student_id AND t.tutor_id = '$tutor')")
user=$login_tutor viewer=
same "a tutor who names another tutor with engage.viewer still sees only their tutees" \
    "SET LOCAL engage.viewer = '$other_tutor';
     SELECT count(*) FROM engage.my_students;
     SELECT count(*) FROM engage.dashboard_engagement WHERE student_id = '$stranger'"
same "a tutor gets no dashboard of a student who is not theirs" \
    "SELECT engage.dashboard('$stranger') IS NULL;
     SELECT count(*) FROM engage.attendance WHERE student_id = '$stranger'"
same "a tutor may not count hidden rows with EXPLAIN ANALYZE" \
    "\set VERBOSITY sqlstate
     EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM engage.attendance" errors
user=citus_app viewer=
same "the web role naming nobody sees nobody" \
    "SELECT (SELECT count(*) FROM engage.my_students) + (SELECT count(*) FROM engage.attendance)
            + (SELECT count(*) FROM engage.daily_engagement) + (SELECT count(*) FROM engage.consent)"
same "a viewer named in an earlier transaction names nobody" \
    "COMMIT; SET engage.viewer = '$tutor'; BEGIN;
     SELECT (SELECT count(*) FROM engage.my_students) + (SELECT count(*) FROM engage.daily_engagement)"
user=student_$tutee viewer=
same "a student reads no other student's rows" \
    "SELECT (SELECT count(*) FROM engage.daily_engagement WHERE student_id <> '$tutee')
            + (SELECT count(*) FROM engage.assessment_mark WHERE student_id <> '$tutee')
            + (SELECT count(*) FROM engage.meeting_note WHERE student_id <> '$tutee')
            + (SELECT count(*) FROM engage.alert WHERE student_id <> '$tutee'),
            engage.dashboard('$stranger') IS NULL"
same "a student's withdrawal counts on the very next query, for them and for their tutor" \
    "SELECT engage.set_consent('$tutee', false) > 0;
     COMMIT; BEGIN;
     SELECT (SELECT count(*) FROM engage.dashboard_engagement), (SELECT count(*) FROM engage.dashboard_grades)"
user=$login_tutor viewer=
same "and their tutor sees neither their engagement nor their marks" \
    "SELECT count(*) FROM engage.dashboard_engagement WHERE student_id = '$tutee';
     SELECT count(*) FROM engage.dashboard_grades WHERE student_id = '$tutee';
     SELECT consent, score, mean_mark FROM engage.my_students WHERE student_id = '$tutee'"

# The decision in force is the last one recorded, whoever records it: a
# loader's (numbered where the row is written) and the student's own
# through engage.set_consent (with the owner's rights) must compare
$c -c "SET client_min_messages = warning" -c "CREATE ROLE citus_loader LOGIN IN ROLE engage_loader"
for step in "citus_loader|INSERT INTO engage.consent (student_id, academic_year, granted)
                           VALUES ('$tutee', engage.current_academic_year(), true)" \
            "student_$tutee|SELECT engage.set_consent('$tutee', false) > 0" \
            "citus_loader|INSERT INTO engage.consent (student_id, academic_year, granted)
                           VALUES ('$tutee', engage.current_academic_year(), true)" \
            "student_$tutee|SELECT engage.set_consent('$tutee', false) > 0" \
            "citus_loader|INSERT INTO engage.consent (student_id, academic_year, granted)
                           VALUES ('$tutee', engage.current_academic_year(), true)"; do
    for db in one postgres; do
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$work/c" -p $base -U "${step%%|*}" -d $db -c "${step#*|}" >/dev/null ||
            echo "# ${step%%|*} could not record a decision in $db"
    done
done
user=postgres viewer=
same "the last decision, a loader's grant after the student's withdrawals, is in force, as on one server" \
    "SELECT granted FROM engage.consent_latest
     WHERE student_id = '$tutee' AND academic_year = '$($one -c 'SELECT engage.current_academic_year()')'"

# A withdrawal recorded by a loader while a refresh computes: the run waits
# for it on the worker that keeps the student, and leaves no row of theirs
withdrawn=$($one -c "SELECT cl.student_id FROM engage.consent_latest AS cl
                     WHERE cl.granted AND cl.academic_year = engage.current_academic_year()
                     ORDER BY 1 LIMIT 1 OFFSET 100")
year=$($one -c "SELECT engage.current_academic_year()")
rows_of_withdrawn="SELECT count(*) FROM engage.daily_engagement AS d
                   JOIN engage.academic_year AS y ON d.day BETWEEN y.starts AND y.ends
                   WHERE d.student_id = '$withdrawn' AND y.label = '$year'"
had=$($c -c "$rows_of_withdrawn")
held_open "INSERT INTO engage.consent (student_id, academic_year, granted)
           VALUES ('$withdrawn', engage.current_academic_year(), false)" "$work/release" |
    PGAPPNAME=withdrawal psql -X -q -h "$work/c" -p $base -U citus_loader -d postgres >/dev/null 2>&1 &
psql=$c
until_true "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'withdrawal' AND state = 'idle in transaction'"
PGAPPNAME=refresh $c -c "CALL engage.refresh('2026-11-14', '2026-11-27')" > "$work/refresh.out" 2>&1 &
refresh=$!
until_true "SELECT bool_or(w.result::int > 0)
            FROM run_command_on_workers(\$\$SELECT count(*) FROM pg_stat_activity
                                          WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'\$\$) AS w"
ok $? "a refresh waits on the worker for a withdrawal being recorded there before it purges"
touch "$work/release"
wait $refresh
sed 's/^/# /' "$work/refresh.out"
[ "$had" -gt 0 ] && [ "$($c -c "$rows_of_withdrawn")" = 0 ]
ok $? "when the refresh commits, the student who withdrew meanwhile has none of their $had rows left"

# The access tests of one server (test/access), each in a new database in
# the distributed layout: the same files, the same expectations
for file in test/access/*.sql; do
    name=$(basename "$file" .sql)
    cluster_database "access_$name" &&
        pg_prove -h "$work/c" -p $base -U postgres -d "access_$name" "$file" > "$work/access.out" 2>&1
    status=$?
    grep -v '^ok ' "$work/access.out" | sed 's/^/# /'
    ok $status "the access tests of $file pass on the cluster as on one server"
done

echo "1..$n"
exit $failed
