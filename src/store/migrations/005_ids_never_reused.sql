-- Ids are never handed out twice. Without AUTOINCREMENT SQLite gives a new row the largest
-- id plus one, so deleting the newest rows (a revert, demo --force) let the next import
-- reuse their ids: a readable id like C-000123 could come to name another customer, and an
-- old import batch's recorded rows could point at new ones. SQLite cannot add AUTOINCREMENT
-- to a table in place, so the user-data tables are rebuilt by the store's migration code
-- (db.rs, `ids_never_reused`), which runs after this file with foreign keys off, keeps
-- every index, and starts each table's sequence above any id its audit trail has seen.
SELECT 1;
