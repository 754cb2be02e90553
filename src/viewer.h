/*
 * viewer.h
 *		Who is asking: the viewer the web front end names per transaction.
 */
#ifndef ENGAGE_VIEWER_H
#define ENGAGE_VIEWER_H

#include "engage.h"

#include "executor/execdesc.h"

/* Group role whose members may name the viewer with engage.viewer. */
#define VIEWER_APP_ROLE "engage_app"

/* Group role whose members read every row of what they may read. */
#define VIEWER_LOADER_ROLE "engage_loader"

/* Registers the engage.viewer setting. */
extern void ViewerDefineSetting(void);

/* Refuses a query that would count the rows row-level security hides. */
extern void ViewerCheckQuery(QueryDesc *queryDesc);

#endif							/* ENGAGE_VIEWER_H */
