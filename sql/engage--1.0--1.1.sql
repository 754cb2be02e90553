-- engage 1.0 to 1.1: ALTER EXTENSION engage UPDATE TO '1.1'.
--
-- Every change to the schema in 1.1 is made twice: in sql/install/ (a fresh
-- install) and here (an upgrade); test/t/upgrade.t proves the two give the
-- same catalog.
\echo Use "ALTER EXTENSION engage UPDATE TO '1.1'" to load this file. \quit
