/*
 * load.h
 *		The loading path's helpers: whether a staged text value reads as a
 *		column's type, and the line numbers of staged rows.
 */
#ifndef ENGAGE_LOAD_H
#define ENGAGE_LOAD_H

#include "engage.h"

#endif							/* ENGAGE_LOAD_H */
