#!/bin/sh
# The example web front end (examples/web) in headless Chromium, on a small
# synthetic university: what a tutor and a student see, a tutee without
# consent shown with attendance and notes only, screenshots in results/web/,
# and the alert notifications a front end may LISTEN to.  Without Chromium or
# without the npm registry it says "skipped" with the reason.
set -u
cd "$(dirname "$0")/../.."
db=engage_web
role=engage_web_test
work=$(mktemp -d /tmp/engage-web.XXXXXX)
shots=results/web
port=$(( 20000 + ($$ + 7919) % 20000 ))
psql="psql -X -q -At -v ON_ERROR_STOP=1 -d $db"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    dropdb --if-exists $db >/dev/null 2>&1
    psql -X -q -d postgres -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

chromium=$(command -v chromium || command -v chromium-browser) ||
    { echo "1..0 # SKIP no chromium (install Debian's chromium: make deps)"; exit 0; }
command -v node >/dev/null || { echo "1..0 # SKIP no node"; exit 0; }
if [ ! -d examples/web/node_modules/pg ]; then
    (cd examples/web && npm ci --no-audit --no-fund --silent) >"$work/npm.log" 2>&1 ||
        { echo "1..0 # SKIP npm ci failed (no npm registry?): $(tail -1 "$work/npm.log")"; exit 0; }
fi

# shellcheck source=../lib.sh
. test/lib.sh

# a small university, refreshed over the six weeks up to yesterday
dropdb --if-exists $db >/dev/null 2>&1
createdb $db && $psql -c 'CREATE EXTENSION engage' &&
    end_day=$($psql -c 'SELECT (engage.today() - 1)::text') &&
    $psql -v students=300 -v days=42 -v end_day="$end_day" -f test/datagen.sql >/dev/null &&
    $psql -c "CALL engage.refresh('$end_day'::date - 41, '$end_day')" ||
    { echo "1..1"; echo "not ok 1 - set-up"; exit 1; }

users=$($psql -f examples/web/demo-users.sql)
pick() { node -e 'const [i, k] = process.argv.slice(1); console.log(JSON.parse(process.argv[3])[i][k])' "$1" "$2" "$users"; }
tutor=$(pick 0 id)
consenting=$(pick 1 id)
refusing=$(pick 2 id)
tutees=$($psql -c "SELECT string_agg(student_id, ' ' ORDER BY student_id) FROM engage.tutoring
                   WHERE tutor_id = '$tutor' AND valid_from <= engage.today()
                     AND (valid_to IS NULL OR valid_to > engage.today())")
stranger=$($psql -c "SELECT min(student_id) FROM engage.student WHERE student_id NOT IN
                     (SELECT student_id FROM engage.tutoring WHERE tutor_id = '$tutor')")

PGDATABASE=$db PORT=$port WEB_ROLE=$role examples/web/start.sh >"$work/server.log" 2>&1 &
server=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$port/"; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 "$server" 2>/dev/null; then
        echo "1..1"; echo "not ok 1 - the server starts"; sed 's/^/# /' "$work/server.log"; exit 1
    fi
    sleep 0.2
done

# page ID PATH: the DOM Chromium renders for PATH, signed in as ID (each in a
# fresh profile, so no cookie is carried over)
visits=0
page() {
    visits=$((visits + 1))
    timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --user-data-dir="$work/profile.$visits" --dump-dom \
        "http://127.0.0.1:$port/signin?id=$1&next=$2" 2>/dev/null
}
shot() {
    visits=$((visits + 1))
    timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
        --user-data-dir="$work/profile.$visits" --window-size=1280,1800 --screenshot="$3" \
        "http://127.0.0.1:$port/signin?id=$1&next=$2" >/dev/null 2>&1
    [ "$(head -c 8 "$3" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] && [ "$(wc -c <"$3")" -gt 10000 ]
}
has() { grep -q -- "$2" "$work/$1.html"; }

echo "1..21"
page "$tutor" / >"$work/list.html"
listed=$(grep -o 'data-student="[^"]*"' "$work/list.html" | sed 's/.*="\(.*\)"/\1/' | sort | tr '\n' ' ' | sed 's/ $//')
[ "$listed" = "$tutees" ]; ok $? "the tutor's list shows exactly their current tutees ($(echo "$tutees" | wc -w))"
! has list "data-student=\"$stranger\""; ok $? "and no other student"

page "$tutor" "/student/$consenting" >"$work/consenting.html"
has consenting 'id="score-chart"' && has consenting '<polyline'; ok $? "a consenting tutee's dashboard draws the 7-day score"
[ "$(grep -c '<polyline' "$work/consenting.html")" -ge 2 ]; ok $? "overall and per module"
for tab in attendance grades employability meetings; do
    has consenting "id=\"$tab\""; ok $? "the consenting tutee's dashboard has the $tab tab"
done

page "$tutor" "/student/$refusing" >"$work/refusing.html"
has refusing 'id="no-consent"' && has refusing 'id="attendance"' && has refusing 'id="meetings"'
ok $? "a tutee without consent shows attendance and notes"
! has refusing 'id="engagement"' && ! has refusing '<svg' && ! has refusing 'id="grades"' &&
    ! has refusing 'id="employability"' && ! has refusing 'mean mark'
ok $? "and no engagement, grades or employability"
! grep -q 'Engagement score dropped\|No VLE activity\|Failed mark' "$work/refusing.html"
ok $? "nor an engagement or mark alert"

page "$tutor" "/student/$stranger" >"$work/stranger.html"
has stranger '<h2>Not found</h2>' && ! has stranger 'id="attendance"'; ok $? "another tutor's tutee is not found"

page "$consenting" / >"$work/self.html"
[ "$(grep -c 'data-student=' "$work/self.html")" = 1 ] && has self "data-student=\"$consenting\""
ok $? "a student's list is themself"
page "$consenting" "/student/$consenting" >"$work/own.html"
has own 'id="score-chart"' && has own 'id="grades"'; ok $? "a consenting student sees their own dashboard"
page "$consenting" "/student/$refusing" >"$work/other.html"
has other '<h2>Not found</h2>'; ok $? "and no other student's"
page "$refusing" "/student/$refusing" >"$work/own-refusing.html"
has own-refusing 'id="attendance"' && has own-refusing 'id="meetings"' && ! has own-refusing '<svg' &&
    ! has own-refusing 'id="grades"'
ok $? "a student without consent sees their own attendance and notes only"
page nobody-at-all / >"$work/nobody.html"
has nobody 'Nobody to show'; ok $? "an unknown viewer sees nobody"

mkdir -p $shots
shot "$tutor" / "$shots/tutor-list.png"; ok $? "screenshot of the tutor's list ($shots/tutor-list.png)"
shot "$tutor" "/student/$consenting" "$shots/tutor-dashboard.png"; ok $? "screenshot of a tutee's dashboard ($shots/tutor-dashboard.png)"

# the alert notifications carry an id and nothing personal
$psql -c 'LISTEN engage_alert' -c 'SET engage.alert_score_floor = 0' -c 'CALL engage.refresh_alerts()' \
    >"$work/notify.txt" 2>&1
grep -q 'Asynchronous notification "engage_alert"' "$work/notify.txt"; ok $? "a run that changes alerts notifies on engage_alert"
! grep 'Asynchronous notification' "$work/notify.txt" |
    grep -Ev 'with payload "\{"change": "(fired|cleared)", "alert_id": [0-9]+\}"' | grep -q .
ok $? "each payload is an alert id and the change, nothing else"

[ $failed = 0 ] || sed 's/^/# /' "$work/server.log"
exit $failed
