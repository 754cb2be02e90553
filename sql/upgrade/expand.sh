#!/bin/sh
# expand.sh SOURCE: prints the upgrade script SOURCE with its directives
# replaced by what they name in sql/install/, so that a definition that is
# the same in a fresh install and in an upgrade is written once
# (docs/development.md, "Versions and upgrades"):
#
#   --@include PART         the whole of sql/install/PART
#   --@replace PART NAME    the function or procedure NAME of sql/install/PART,
#                           from its CREATE line to the line "$$;", as
#                           CREATE OR REPLACE (it exists in the old version)
set -eu
install=$(dirname "$0")/../install
awk -v install="$install" '
function fail(msg) {
    printf "expand.sh: %s line %d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
    failed = 1
    exit 1
}
$1 == "--@include" {
    part = install "/" $2
    lines = 0
    while ((getline line < part) > 0) { print line; lines++ }
    close(part)
    if (lines == 0) fail("cannot read " part)
    next
}
$1 == "--@replace" {
    part = install "/" $2
    copying = 0
    found = 0
    while ((getline line < part) > 0) {
        if (!found && line ~ ("^CREATE (FUNCTION|PROCEDURE) @extschema@[.]" $3 "[(]")) {
            sub(/^CREATE /, "CREATE OR REPLACE ", line)
            copying = found = 1
        }
        if (copying) {
            print line
            if (line == "$$;") copying = 0
        }
    }
    close(part)
    if (!found) fail("no function or procedure " $3 " in " part)
    if (copying) fail("no line \"$$;\" ends " $3 " in " part)
    next
}
{ print }
END { if (failed) exit 1 }
' "$1"
