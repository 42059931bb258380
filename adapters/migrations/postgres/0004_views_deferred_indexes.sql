-- The secondary indexes of a view's tables that its rebuild dropped, to build again once the rows
-- are written: one bulk build per index instead of an index entry per row written. A JSON array
-- of `{"name", "sql"}` as the database described them; NULL when none are missing. Recorded in
-- the transaction that drops them, so a rebuild that stops part way leaves the list behind, and
-- the next runner on this database builds them before it goes on.
ALTER TABLE projection_checkpoints ADD COLUMN deferred_indexes text;
