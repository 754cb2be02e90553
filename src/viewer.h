/*
 * viewer.h
 *		Who is asking: the viewer the web front end names per transaction.
 */
#ifndef ENGAGE_VIEWER_H
#define ENGAGE_VIEWER_H

#include "engage.h"

/* Group role whose members may name the viewer with engage.viewer. */
#define VIEWER_APP_ROLE "engage_app"

/* Registers the engage.viewer setting. */
extern void ViewerDefineSetting(void);

#endif							/* ENGAGE_VIEWER_H */
