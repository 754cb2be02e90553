-- engage: student engagement profiles for the My Progress dashboard.
\echo Use "CREATE EXTENSION engage" to load this file. \quit
