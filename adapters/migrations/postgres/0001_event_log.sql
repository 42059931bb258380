-- plera's event log on PostgreSQL. The `events` table keeps cqrs-es's (postgres-es 0.5.0) shape so
-- that its repository can read it, and adds `position`: the global commit order every reader follows.

-- Marks the schema as plera's: a schema with tables but without this one is refused.
CREATE TABLE plera_schema
(
    id          integer PRIMARY KEY CHECK (id = 1),
    application text    NOT NULL
);
INSERT INTO plera_schema (id, application) VALUES (1, 'plera');

-- `position` is not a sequence: a sequence value is taken at insert time but becomes visible at
-- commit, so a reader of `position > checkpoint` could pass over a slower transaction's event.
-- Appends instead hold a transaction-level advisory lock and take MAX(position) + 1: positions are
-- gap-free and in commit order.
CREATE TABLE events
(
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       bigint CHECK (sequence >= 0)  NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        json                          NOT NULL,
    metadata       json                          NOT NULL,
    position       bigint CHECK (position > 0)   NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence),
    CONSTRAINT events_position_key UNIQUE (position)
);

-- One row per `StepStarted` of a LinkedIn action, written with its event: quotas of a restarted
-- sender are an indexed query instead of a scan of the log.
CREATE TABLE sender_actions
(
    position   bigint PRIMARY KEY REFERENCES events (position),
    account_id text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('invite', 'message')),
    at         timestamptz NOT NULL
);
CREATE INDEX sender_actions_account_at ON sender_actions (account_id, at);

-- Lead personal data lives beside the log, not in it, so that erasing a lead is deleting a row.
CREATE TABLE lead_profiles
(
    workspace_id text  NOT NULL,
    lead_id      text  NOT NULL,
    vars         jsonb NOT NULL,
    email        text,
    PRIMARY KEY (workspace_id, lead_id)
);

-- How far each projection has applied the log.
CREATE TABLE projection_checkpoints
(
    name     text PRIMARY KEY,
    position bigint CHECK (position >= 0) NOT NULL
);
