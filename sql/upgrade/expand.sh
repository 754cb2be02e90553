#!/bin/sh
# expand.sh SOURCE: prints the upgrade script SOURCE with its directives
# replaced by what they name in sql/install/, so that a definition that is
# the same in a fresh install and in an upgrade is written once
# (docs/development.md, "Versions and upgrades"):
#
#   --@include PART         the whole of sql/install/PART
#   --@include PART NAME    the function, procedure, view, aggregate or table
#                           NAME of sql/install/PART as it is written there:
#                           from its CREATE line to the line "$$;" that ends
#                           its body, or to the first line ending in ";" (a
#                           view, a function in C, an aggregate, a table)
#   --@replace PART NAME    the same as CREATE OR REPLACE (for a function,
#                           procedure or view the old version has)
set -eu
install=$(dirname "$0")/../install
awk -v install="$install" '
function fail(msg) {
    printf "expand.sh: %s line %d: %s\n", FILENAME, FNR, msg > "/dev/stderr"
    failed = 1
    exit 1
}
$1 == "--@include" && NF == 2 {
    part = install "/" $2
    lines = 0
    while ((getline line < part) > 0) { print line; lines++ }
    close(part)
    if (lines == 0) fail("cannot read " part)
    next
}
($1 == "--@include" || $1 == "--@replace") && NF == 3 {
    part = install "/" $2
    copying = found = 0
    while ((getline line < part) > 0) {
        if (!found && line ~ ("^CREATE (FUNCTION|PROCEDURE|VIEW|AGGREGATE|TABLE) @extschema@[.]" $3 "([( ]|$)")) {
            if ($1 == "--@replace") sub(/^CREATE /, "CREATE OR REPLACE ", line)
            copying = found = 1
            body = 0
        }
        if (copying) {
            print line
            if (body ? line == "$$;" : line ~ /;$/) copying = 0
            else if (index(line, "$$")) body = 1
        }
    }
    close(part)
    if (!found) fail("no function, procedure, view, aggregate or table " $3 " in " part)
    if (copying) fail("no end of " $3 " in " part)
    next
}
/^--@/ { fail("unknown directive: " $0) }
{ print }
END { if (failed) exit 1 }
' "$1"
