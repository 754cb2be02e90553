#!/bin/sh
# Part of make demo (inside its cluster): the last day's page views and app
# choices of the synthetic university go out to CSV files, as the VLE and
# the app would send them, with a few bad rows among them; a loader COPYs
# them into the staging tables and runs engage.load, then sends the page
# views again.  Prints the runs and the reject report.
set -eu
day=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
psql="psql -X -q -v ON_ERROR_STOP=1"

echo "Loading $day's page views and app choices again through the loading path, as a loader ..."
$psql -c "\\copy (SELECT student_id, ts, module_code FROM engage.ele_event WHERE engage.local_day(ts) = '$day' ORDER BY ts) TO '$dir/ele.csv' WITH (FORMAT csv, HEADER)" \
      -c "\\copy (SELECT student_id, ts, menu_item FROM engage.app_event WHERE engage.local_day(ts) = '$day' ORDER BY ts) TO '$dir/app.csv' WITH (FORMAT csv, HEADER)" \
      -c "DELETE FROM engage.ele_event WHERE engage.local_day(ts) = '$day'" \
      -c "DELETE FROM engage.app_event WHERE engage.local_day(ts) = '$day'" \
      -c "CREATE ROLE demo_etl LOGIN IN ROLE engage_loader"
# bad rows, each after a good one: an unknown student, a year of 9999, an
# instant that is none, a 10 kB module code; a blank menu item
student=$(sed -n 2p "$dir/ele.csv" | cut -d, -f1)
long=$(head -c 10000 /dev/zero | tr '\0' X)
awk -v s="$student" -v long="$long" '
    { print }
    NR == 3   { print "999999999,'"$day"' 10:00:00+00," }
    NR == 50  { print s ",9999-01-01 00:00:00+00," }
    NR == 100 { print s ",'"$day"' 25:61:00+00," }
    NR == 150 { print s ",'"$day"' 12:00:00+00," long }
' "$dir/ele.csv" > "$dir/ele_sent.csv"
awk -v s="$student" '{ print } NR == 5 { print s ",'"$day"' 09:00:00+00,   " }' "$dir/app.csv" > "$dir/app_sent.csv"

$psql -c "SET SESSION AUTHORIZATION demo_etl" \
      -c "\\copy engage.stage_ele_event (student_id, ts, module_code) FROM '$dir/ele_sent.csv' WITH (FORMAT csv, HEADER MATCH)" \
      -c "SELECT engage.load('engage.ele_event')" \
      -c "\\copy engage.stage_app_event (student_id, ts, menu_item) FROM '$dir/app_sent.csv' WITH (FORMAT csv, HEADER MATCH)" \
      -c "SELECT engage.load('engage.app_event')" \
      -c "\\copy engage.stage_ele_event (student_id, ts, module_code) FROM '$dir/ele_sent.csv' WITH (FORMAT csv, HEADER MATCH)" \
      -c "SELECT engage.load('engage.ele_event')" >/dev/null
$psql -c "SET SESSION AUTHORIZATION demo_etl" -c '\pset footer off' \
      -c "\\echo '  The runs (the page views were sent twice; the first time, views exactly equal to'" \
      -c "\\echo '  an earlier one, which the generator makes now and then, count as duplicates):'" \
      -c "SELECT run_id, source, rows_in, loaded, rejected, duplicates,
                 date_trunc('millisecond', finished_at - started_at) AS took
          FROM engage.load_run ORDER BY run_id" \
      -c "\\echo '  The reject report (line: the data line of the file, after its header):'" \
      -c "SELECT run_id, line, column_name, reason, value FROM engage.load_reject ORDER BY run_id, line"
