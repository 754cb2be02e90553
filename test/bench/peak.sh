#!/bin/sh
# peak.sh SQL: runs one statement with psql and prints its elapsed time and
# the peak private memory (RssAnon: the heap, not shared buffers) of the
# backend that runs it, and of that backend with its parallel workers,
# sampled every 50 ms from /proc.  Needs PGHOST/PGPORT/PGDATABASE set and a
# server on this machine.
set -eu
sql=$1
tag="engage_peak_$$"

start=$(date +%s.%N)
PGAPPNAME=$tag psql -X -q -v ON_ERROR_STOP=1 -c "$sql" &
client=$!

# the backend appears in pg_stat_activity once it has connected
pid=""
while [ -z "$pid" ] && kill -0 "$client" 2>/dev/null; do
    pid=$(psql -X -At -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$tag' AND backend_type = 'client backend'")
    [ -n "$pid" ] || sleep 0.05
done

# kB of private memory of a process, 0 once it has gone
rss_anon() {
    kb=$(awk '/^RssAnon:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)
    echo "${kb:-0}"
}

peak=0
peak_all=0
workers_seen=0
while [ -n "$pid" ] && kill -0 "$client" 2>/dev/null; do
    own=$(rss_anon "$pid")
    all=$own
    for w in $(pgrep -f "parallel worker for PID $pid" || true); do
        all=$((all + $(rss_anon "$w")))
        workers_seen=1
    done
    [ "$own" -le "$peak" ] || peak=$own
    [ "$all" -le "$peak_all" ] || peak_all=$all
    sleep 0.05
done
wait "$client"
end=$(date +%s.%N)

[ -n "$pid" ] || { echo "peak.sh: the statement ended before its backend could be found" >&2; exit 1; }
awk -v s="$start" -v e="$end" -v p="$peak" -v a="$peak_all" -v w="$workers_seen" 'BEGIN {
    printf "elapsed: %.1f s\n", e - s
    printf "peak backend private memory (RssAnon): %.0f MB\n", p / 1024
    if (w) printf "peak with its parallel workers: %.0f MB\n", a / 1024
    else print "no parallel workers were seen"
}'
