# engage: PGXS build.  `make demo` and `make test` are the two commands a
# newcomer needs; both install what is missing first.

EXTENSION    = engage
EXTVERSION   = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big   = engage
OBJS         = src/engage.o src/day.o src/ele.o src/load.o src/ordinal.o src/profile.o src/score.o src/cohort.o src/viewer.o

# The install script is generated from readable parts, and each upgrade
# script from its source in sql/upgrade/, whose directives name definitions
# in those parts (sql/upgrade/expand.sh).
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
UPGRADES     = $(patsubst sql/upgrade/%,sql/%,$(wildcard sql/upgrade/$(EXTENSION)--*--*.sql))
DATA_built   = sql/$(EXTENSION)--$(EXTVERSION).sql $(UPGRADES)
DOCS         =

REGRESS      = ele_minutes engagement_series parallel refresh security
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)

PG_CPPFLAGS  = -I$(srcdir)/src
PG_CFLAGS    = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers
EXTRA_CLEAN  = $(DATA_built) results regression.diffs regression.out

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) $(EXTENSION).control
	@{ printf -- '-- engage %s: generated from sql/install/*.sql; edit those parts.\n\n' '$(EXTVERSION)'; \
	   for f in $(INSTALL_PARTS); do cat $$f; echo; done; } > $@

$(UPGRADES): sql/%: sql/upgrade/% sql/upgrade/expand.sh $(INSTALL_PARTS)
	@{ printf -- '-- generated from sql/upgrade/%s and sql/install/*.sql; edit those.\n' '$*'; \
	   $(SHELL) sql/upgrade/expand.sh $<; } > $@.tmp && mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }

.PHONY: deps demo demo-web test test-valgrind test-sanitize test-fuzz test-matrix test-package test-citus postgres-versions bench bench-backfill bench-load bench-citus
deps:
	test/install-deps.sh

demo: deps
	test/demo.sh

# The demo university in the example web front end (examples/web), as a
# tutor or a student, at http://127.0.0.1:8080/ (PORT=) until Ctrl-C.
demo-web: deps
	test/demo.sh web

test: deps
	test/run-tests.sh

# The same suites with every backend under valgrind memcheck (slow: minutes).
test-valgrind: deps
	test/valgrind.sh

# The same suites with engage built under AddressSanitizer and UBSan (under a minute).
test-sanitize: deps
	test/sanitize.sh

# Random SQL from sqlsmith as each kind of login; fails on a backend crash
# (FUZZ_QUERIES per role, default 2000: under a minute; 50000 for a long run).
test-fuzz: deps
	test/fuzz.sh

# Builds the Debian package, installs it with dpkg and uses it in a fresh
# cluster; this tree's build is installed again afterwards.
test-package: deps
	test/package.sh

# A coordinator and two workers of Citus in throw-away clusters, the
# synthetic university distributed by engage.distribute(), every check
# against one server (under a minute).  Says "skipped" and passes where
# Citus is not installed: build it as docs/scaling.md describes.
test-citus: deps
	test/citus/run.sh

# The whole suite against every PostgreSQL installed here (Debian's and
# those postgres-versions built), with a table of results.
test-matrix: deps
	test/matrix/run.sh

# Builds the newer PostgreSQL versions from Debian's source packages into
# /opt/postgresql-<major> (minutes each; 17's source is not served here).
postgres-versions: deps
	test/matrix/build-postgres.sh 18

# Benchmarks: ratios against baselines measured in the same run (SCALE=1 is
# 25,000 students and about 10 million page views); never fails on timing.
bench: deps
	test/bench/run.sh

# A whole academic year (about 155 million page views at SCALE=1) backfilled
# by one engage.refresh, with the backend's peak memory (about 1.5 hours).
bench-backfill: deps
	test/bench/run.sh backfill

# Only the loading benchmark: 10 million page views x SCALE (or LOAD_ROWS)
# through engage.load as a loader beside a superuser's plain COPY.
bench-load: deps
	test/bench/run.sh load

# The refresh and the tutee list on a Citus cluster beside one server, as
# ratios (SCALE=0.2: 5,000 students, 30 days; minutes).  Says "skipped"
# where Citus is not installed.
bench-citus: deps
	test/bench/citus.sh
