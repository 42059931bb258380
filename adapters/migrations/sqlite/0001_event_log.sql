-- plera's event log on SQLite. The `events` table keeps cqrs-es's (sqlite-es 0.5.0) shape so that
-- its repository can read it, and adds `position`: the global commit order every reader follows.

-- Marks the database as plera's: a database with tables but without this one is refused.
CREATE TABLE plera_schema
(
  id          integer PRIMARY KEY CHECK (id = 1),
  application text    NOT NULL
) STRICT;
INSERT INTO plera_schema (id, application) VALUES (1, 'plera');

-- `position` is assigned by the appender as MAX(position) + 1 inside a `BEGIN IMMEDIATE`
-- transaction: one writer at a time, so positions are gap-free and follow commit order. It is not
-- the rowid because the primary key must stay cqrs-es's, and VACUUM may renumber a plain rowid.
CREATE TABLE events
(
  aggregate_type text                          NOT NULL,
  aggregate_id   text                          NOT NULL,
  sequence       integer CHECK (sequence >= 0) NOT NULL,
  event_type     text                          NOT NULL,
  event_version  text                          NOT NULL,
  payload        text                          NOT NULL,
  metadata       text                          NOT NULL,
  position       integer CHECK (position > 0)  NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id, sequence)
) STRICT;
CREATE UNIQUE INDEX events_position ON events (position);

-- One row per `StepStarted` of a LinkedIn action, written with its event: quotas of a restarted
-- sender are an indexed query instead of a scan of the log. `at` is RFC 3339 UTC with nine
-- fractional digits, so text order is time order.
CREATE TABLE sender_actions
(
  position   integer PRIMARY KEY REFERENCES events (position),
  account_id text NOT NULL,
  action     text NOT NULL CHECK (action IN ('invite', 'message')),
  at         text NOT NULL
) STRICT;
CREATE INDEX sender_actions_account_at ON sender_actions (account_id, at);

-- Lead personal data lives beside the log, not in it, so that erasing a lead is deleting a row.
CREATE TABLE lead_profiles
(
  workspace_id text NOT NULL,
  lead_id      text NOT NULL,
  vars         text NOT NULL CHECK (json_valid(vars)),
  email        text,
  PRIMARY KEY (workspace_id, lead_id)
) STRICT;

-- How far each projection has applied the log.
CREATE TABLE projection_checkpoints
(
  name     text PRIMARY KEY,
  position integer CHECK (position >= 0) NOT NULL
) STRICT;
