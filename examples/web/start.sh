#!/bin/sh
# Starts the example on the database that PGHOST, PGPORT and PGDATABASE name,
# which must hold a refreshed university (make demo-web loads the demo one).
# Run as a superuser: it creates the web role, a login that is a member of
# engage_app, and the server then connects as that role only.
# PORT (default 8080) is passed on to the server.
set -eu
cd "$(dirname "$0")"
[ -d node_modules/pg ] || npm ci --no-audit --no-fund --silent
role=${WEB_ROLE:-engage_web_demo}
psql -X -q -v ON_ERROR_STOP=1 \
    -c "DROP ROLE IF EXISTS $role" \
    -c "CREATE ROLE $role LOGIN PASSWORD 'demo' IN ROLE engage_app" \
    -c "ALTER ROLE $role SET session_preload_libraries = 'engage'"
DEMO_USERS=$(psql -X -At -v ON_ERROR_STOP=1 -f demo-users.sql)
PGUSER=$role
PGPASSWORD=demo
export DEMO_USERS PGUSER PGPASSWORD
exec node server.js
