-- Which engine process owns what, when several run on this database (issue 10). A lease lapses at
-- `expires_at` unless renewed; `token` grows whenever the owner changes and appends for a sender
-- carry it, so a process that lost a lease can no longer write for that sender. Times are the
-- engines' clock (a simulation's virtual one), not the server's. A released lease keeps its row
-- with no owner, so the next owner's token is still greater.
CREATE TABLE leases
(
    resource   text PRIMARY KEY,
    owner      text                         NOT NULL,
    token      bigint CHECK (token > 0)     NOT NULL,
    expires_at timestamptz                  NOT NULL
);
