/*
 * viewer.c
 *		engage.app_viewer(): the student or staff id the web front end names
 *		with SET LOCAL engage.viewer, when (and only when) it may.
 *
 * The setting is honoured only for a session whose login role (not the
 * current role: SET ROLE and SECURITY DEFINER functions change nothing) is a
 * member of engage_app, and only if it was set in the current transaction.
 * A value left over from an earlier transaction on a pooled connection, or
 * given as a role or database default, names nobody.
 */
#include "viewer.h"

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"

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
 * the setting carry an undo entry, which commit or rollback removes.
 */
static bool
ViewerSetInThisTransaction(void)
{
	struct config_generic *var = EngageFindGuc("engage.viewer");

	return var != NULL && var->stack != NULL;
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
