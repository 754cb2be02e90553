/*
 * viewer.c
 *		engage.app_viewer(): the student or staff id the web front end names
 *		with SET LOCAL engage.viewer, when (and only when) it may.
 *
 * The setting is honoured only for a session whose login role (not the
 * current role: SET ROLE and SECURITY DEFINER functions change nothing) is a
 * member of engage_app, and only if it was set in the current transaction.
 * A value left over from an earlier transaction on a pooled connection, or
 * given as a role or database default (even when RESET in this transaction
 * brings it back), names nobody.
 *
 * The same file keeps row counts of hidden rows from anyone the rules apply
 * to: EXPLAIN ANALYZE's "Rows Removed by Filter" would count them.
 */
#include "viewer.h"
#include "day.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"

static char *engage_viewer = NULL;

void
ViewerDefineSetting(void)
{
	DefineCustomStringVariable("engage.viewer",
							   "Student or staff id of the person the web front end is serving.",
							   "Honoured only for members of engage_app, and only when set in "
							   "the current transaction (SET LOCAL engage.viewer = '...').",
							   &engage_viewer,
							   "",
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);
}

/* Whether the session's login role is a member of engage_app (superusers are not). */
static bool
ViewerSessionIsApp(void)
{
	Oid			app = get_role_oid(VIEWER_APP_ROLE, true);

	return OidIsValid(app) && is_member_of_role_nosuper(GetSessionUserId(), app);
}

/*
 * Whether engage.viewer was set in the current transaction: only then does
 * the setting carry an undo entry, which commit or rollback removes.  RESET
 * leaves an undo entry too, with the role's or database's default as value:
 * only a value this session SET counts.
 */
static bool
ViewerSetInThisTransaction(void)
{
	struct config_generic *var = EngageFindGuc("engage.viewer");

	return var != NULL && var->stack != NULL && var->source == PGC_S_SESSION;
}

PG_FUNCTION_INFO_V1(engage_app_viewer);
Datum
engage_app_viewer(PG_FUNCTION_ARGS)
{
	if (engage_viewer == NULL || engage_viewer[0] == '\0' ||
		!ViewerSessionIsApp() || !ViewerSetInThisTransaction())
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(engage_viewer));
}

PG_FUNCTION_INFO_V1(engage_session_is_app);
Datum
engage_session_is_app(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(ViewerSessionIsApp());
}

/*
 * engage.node_students(kind): the policies' set of students on a Citus node,
 * worked out once per query.  A policy of a distributed table may not hold
 * a subquery, so it calls this per row; the first call of each expression
 * asks engage.node_students_compute (PL/pgSQL, the owner's rights) and keeps
 * the array in the expression's own memory.  An expression may outlive its
 * query (PL/pgSQL keeps a simple expression for the whole transaction), so
 * the array is kept only while everything the rule depends on is the same:
 * the statement, the commands run in it so far, "today", the login and the
 * viewer named.
 */
typedef struct NodeStudents
{
	text	   *kind;
	TimestampTz statement;
	CommandId	command;
	DateADT		today;
	Oid			session_user;
	char	   *viewer;
	Datum		students;
} NodeStudents;

static bool
NodeStudentsStillHold(NodeStudents *cache, text *kind)
{
	return cache != NULL &&
		VARSIZE_ANY_EXHDR(cache->kind) == VARSIZE_ANY_EXHDR(kind) &&
		memcmp(VARDATA_ANY(cache->kind), VARDATA_ANY(kind), VARSIZE_ANY_EXHDR(kind)) == 0 &&
		cache->statement == GetCurrentStatementStartTimestamp() &&
		cache->command == GetCurrentCommandId(false) &&
		cache->today == EngageToday() &&
		cache->session_user == GetSessionUserId() &&
		strcmp(cache->viewer, engage_viewer ? engage_viewer : "") == 0;
}

PG_FUNCTION_INFO_V1(engage_node_students);
Datum
engage_node_students(PG_FUNCTION_ARGS)
{
	text	   *kind = PG_GETARG_TEXT_PP(0);
	NodeStudents *cache = (NodeStudents *) fcinfo->flinfo->fn_extra;

	if (!NodeStudentsStillHold(cache, kind))
	{
		char	   *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
		char	   *query = psprintf("SELECT %s.node_students_compute($1)", quote_identifier(schema));
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {PointerGetDatum(kind)};
		MemoryContext old;
		Datum		students;
		bool		isnull;
		TimestampTz statement = GetCurrentStatementStartTimestamp();
		CommandId	command = GetCurrentCommandId(false);
		DateADT		today = EngageToday();

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args(query, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
			SPI_processed != 1)
			elog(ERROR, "engage.node_students_compute returned no row");
		students = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		if (cache == NULL)
			cache = (NodeStudents *) palloc0(sizeof(NodeStudents));
		else
		{
			pfree(cache->kind);
			pfree(cache->viewer);
			if (cache->students != (Datum) 0)
				pfree(DatumGetPointer(cache->students));
		}
		cache->kind = (text *) PG_DETOAST_DATUM_COPY(PointerGetDatum(kind));
		cache->statement = statement;
		cache->command = command;
		cache->today = today;
		cache->session_user = GetSessionUserId();
		cache->viewer = pstrdup(engage_viewer ? engage_viewer : "");
		/* NULL (nobody asking) is no student */
		cache->students = isnull ? (Datum) 0 : datumCopy(students, false, -1);
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = cache;
		SPI_finish();
	}
	if (cache->students == (Datum) 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(datumCopy(cache->students, false, -1));
}

/*
 * EXPLAIN ANALYZE (or anything else that counts rows as a query runs) of a
 * query that reads one of engage's tables under row-level security would
 * report how many rows the rules filtered out, and of which module or range
 * when an index condition narrows the scan.  Such a query is refused for
 * everyone the rules filter; loaders read every row of what they may read.
 * Plain EXPLAIN, which runs nothing, is allowed.
 */
void
ViewerCheckQuery(QueryDesc *queryDesc)
{
	Oid			schema;
	Oid			loader;
	ListCell   *lc;

	if (queryDesc->instrument_options == 0 || queryDesc->plannedstmt == NULL)
		return;
	schema = get_namespace_oid("engage", true);
	loader = get_role_oid(VIEWER_LOADER_ROLE, true);
	if (!OidIsValid(schema) ||
		(OidIsValid(loader) && is_member_of_role(GetUserId(), loader)))
		return;

	foreach(lc, queryDesc->plannedstmt->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION || get_rel_namespace(rte->relid) != schema)
			continue;
		if (check_enable_rls(rte->relid, InvalidOid, true) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("EXPLAIN ANALYZE of a query that reads %s is not allowed",
							get_rel_name(rte->relid)),
					 errdetail("Row-level security filters that table for this role; "
							   "the row counts of a measured run would reveal the rows it hides."),
					 errhint("Use EXPLAIN without ANALYZE, or ask a database administrator.")));
	}
}
