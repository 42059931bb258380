-- `sender_actions`' reference to `events` is checked at commit instead of per statement. An
-- immediate foreign key makes SQLite keep a statement journal for every multi-row insert (a copy
-- of each page the statement changes, so that a violation can undo that statement alone); an
-- append is all or nothing, so a check at its commit gives the same guarantee without the copy.
-- SQLite cannot alter a constraint: the table is rebuilt, its rows copied.
ALTER TABLE sender_actions RENAME TO sender_actions_immediate;
CREATE TABLE sender_actions
(
  position   integer PRIMARY KEY REFERENCES events (position) DEFERRABLE INITIALLY DEFERRED,
  account_id text NOT NULL,
  action     text NOT NULL CHECK (action IN ('invite', 'message')),
  at         text NOT NULL
) STRICT;
INSERT INTO sender_actions (position, account_id, action, at)
SELECT position, account_id, action, at FROM sender_actions_immediate;
DROP TABLE sender_actions_immediate;
CREATE INDEX sender_actions_account_at ON sender_actions (account_id, at);
