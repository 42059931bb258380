-- plera's read models on SQLite: the unified inbox, sender health & quota, campaign funnels.
-- Every table is written only by the projection runner (plera-adapters `views`), from the log, and
-- can be rebuilt from position 0 at any time (`plera replay`). The column lists match the records of
-- `plera-projections` (`*/rows.rs`) in name and order.
--
-- Conventions: timestamps are RFC 3339 UTC text with nine fractional digits
-- (`2026-03-02T09:00:00.000000000Z`), so text order is time order; dates are `YYYY-MM-DD`; booleans
-- are 0/1 integers; enums are the event contract's snake_case tags; rates are reals, NULL while
-- their denominator is 0.

-- The fold version of each view: a runner whose code is newer rebuilds the view.
ALTER TABLE projection_checkpoints ADD COLUMN version integer NOT NULL DEFAULT 0;

-- ---------------------------------------------------------------------------------------------
-- Unified inbox (view `inbox`).

-- Internal lookup: the lead and sender a sequence's messages belong to (from `SequenceStarted`).
CREATE TABLE inbox_sequences
(
  sequence_id  text NOT NULL PRIMARY KEY, -- `lead_sequence` aggregate id
  workspace_id text NOT NULL,
  lead_id      text NOT NULL,
  campaign_id  text NOT NULL,
  account_id   text NOT NULL             -- the sequence's sender: its thread holds the emails too
) STRICT;

-- One conversation per (workspace, lead, sender), both channels together.
CREATE TABLE inbox_threads
(
  workspace_id   text    NOT NULL,
  lead_id        text    NOT NULL,
  account_id     text    NOT NULL, -- '' for an email from someone in no sequence
  campaign_id    text,             -- campaign of the latest message that came through a sequence
  last_channel   text    NOT NULL, -- 'linkedin' | 'email', of the latest message
  last_direction text    NOT NULL, -- 'inbound' | 'outbound', of the latest message
  last_at        text    NOT NULL, -- time of the latest message
  last_position  integer NOT NULL, -- log position of the latest message
  messages       integer NOT NULL, -- messages in the thread
  inbound        integer NOT NULL, -- inbound messages in the thread
  unread         integer NOT NULL, -- inbound messages since the last read
  last_read_at   text,             -- last `ConversationRead`
  PRIMARY KEY (workspace_id, lead_id, account_id)
) STRICT;
CREATE INDEX inbox_threads_recent ON inbox_threads (workspace_id, last_at DESC, last_position DESC);
CREATE INDEX inbox_threads_account ON inbox_threads (account_id, last_at DESC);

-- Every message of every thread, once: duplicate deliveries share their `message_key`.
CREATE TABLE inbox_messages
(
  workspace_id text    NOT NULL,
  message_key  text    NOT NULL, -- 'in/<channel>/<provider message id>' or 'out/<sequence id>/<step>'
  lead_id      text    NOT NULL,
  account_id   text    NOT NULL,
  campaign_id  text,
  sequence_id  text,
  position     integer NOT NULL, -- log position of the event that recorded it
  at           text    NOT NULL,
  direction    text    NOT NULL, -- 'inbound' | 'outbound'
  channel      text    NOT NULL, -- 'linkedin' | 'email'
  kind         text    NOT NULL, -- 'invite' | 'message' | 'email' | 'reply' | 'out_of_office' | 'inbound'
  subject      text,             -- email subject
  text         text    NOT NULL, -- note, message, email body, reply ('' when the log keeps none)
  PRIMARY KEY (workspace_id, message_key)
) STRICT;
CREATE INDEX inbox_messages_thread ON inbox_messages (workspace_id, lead_id, account_id, at, position);

-- ---------------------------------------------------------------------------------------------
-- Sender health & quota (view `senders`).

-- One row per sender. Use counts are relative to `sender_clock.as_of` (views read no clock).
CREATE TABLE sender_health
(
  account_id          text    NOT NULL PRIMARY KEY,
  workspace_id        text,
  owner               text,
  tier                text,             -- 'free' | 'premium' | 'sales_navigator'
  status              text    NOT NULL, -- 'not_connected' | 'connected' | 'paused' | 'restricted' |
                                        -- 'needs_reconnect' | 'disconnected' (as recorded)
  pause_reason        text,             -- reason of the pause in force
  paused_until        text,             -- when it ends by itself
  paused_since        text,
  timezone            text,             -- IANA zone of the working hours and the local day
  working_hours_start text,             -- 'HH:MM' local
  working_hours_end   text,
  warm_up             integer,          -- 0/1: limits ramp up from the connection
  daily_invites       integer,          -- configured limits
  daily_messages      integer,
  weekly_invites      integer,
  cap_daily_invites   integer,          -- limits in force at as_of (warm-up applied)
  cap_daily_messages  integer,
  cap_weekly_invites  integer,
  ready_invite        integer NOT NULL, -- 0/1: connected, not paused, under every invite cap
  ready_message       integer NOT NULL, -- 0/1: same for messages (working hours not considered)
  usage_day           text    NOT NULL, -- the sender's local date of as_of
  invites_today       integer NOT NULL, -- invite StepStarted on usage_day
  messages_today      integer NOT NULL, -- message StepStarted on usage_day
  invites_7d          integer NOT NULL, -- invite StepStarted in (as_of - 7 x 24 h, as_of]
  last_action_at      text,
  warnings            integer NOT NULL, -- warnings received in all
  last_warning_kind   text,
  last_warning_at     text,
  connected_at        text,
  disconnected_at     text,
  account_state       text    NOT NULL, -- internal: the SenderAccount aggregate (JSON)
  recent_actions      text    NOT NULL  -- internal: invite/message starts of the last 8 days (JSON)
) STRICT;
CREATE INDEX sender_health_workspace ON sender_health (workspace_id);

-- Every warning a sender received, for its history.
CREATE TABLE sender_warnings
(
  account_id   text    NOT NULL,
  position     integer NOT NULL, -- log position of the WarningReceived
  workspace_id text,
  kind         text    NOT NULL, -- 'rate_limited' | 'temporary_provider_limit' | 'restricted' |
                                 -- 'session_expired' | 'usage_near_cap' | 'failure_streak'
  detail       text,
  at           text    NOT NULL,
  PRIMARY KEY (account_id, position)
) STRICT;

-- The view's "now": the latest event time applied (one row, id = 1).
CREATE TABLE sender_clock
(
  id    integer NOT NULL PRIMARY KEY CHECK (id = 1),
  as_of text    NOT NULL
) STRICT;

-- ---------------------------------------------------------------------------------------------
-- Campaign funnels (view `funnel`).

-- One lead's way through one campaign: each fact once, so nothing counts twice.
CREATE TABLE funnel_sequences
(
  sequence_id        text    NOT NULL PRIMARY KEY,
  workspace_id       text    NOT NULL,
  campaign_id        text    NOT NULL,
  lead_id            text    NOT NULL,
  account_id         text    NOT NULL,
  enrolled_at        text    NOT NULL,
  steps_started      text    NOT NULL, -- JSON array of step indexes that started
  steps_sent         text    NOT NULL, -- JSON array of step indexes whose message went out
  invite_step        integer,
  last_sent_step     integer,          -- replies are credited to this step
  contacted_linkedin integer NOT NULL, -- 0/1
  contacted_email    integer NOT NULL, -- 0/1
  accepted           integer NOT NULL, -- 0/1
  replied_channel    text,             -- channel of the first reply
  out_of_office      integer NOT NULL, -- 0/1
  stop_reason        text,             -- reason of the first stop
  stopped_replied    integer NOT NULL, -- 0/1
  completed          integer NOT NULL  -- 0/1
) STRICT;
CREATE INDEX funnel_sequences_campaign ON funnel_sequences (campaign_id);

-- One row per campaign: leads counted once each.
CREATE TABLE funnel_campaigns
(
  campaign_id         text    NOT NULL PRIMARY KEY,
  workspace_id        text,
  name                text,
  created_at          text,
  enrolled            integer NOT NULL,
  contacted           integer NOT NULL, -- leads who received an invite, message or email
  contacted_linkedin  integer NOT NULL,
  contacted_email     integer NOT NULL,
  invited             integer NOT NULL,
  accepted            integer NOT NULL,
  acceptance_rate     real,             -- accepted / invited
  messages            integer NOT NULL,
  emails              integer NOT NULL,
  replied             integer NOT NULL, -- leads who replied
  replied_linkedin    integer NOT NULL,
  replied_email       integer NOT NULL,
  reply_rate          real,             -- replied / contacted
  reply_rate_linkedin real,             -- replied_linkedin / contacted_linkedin
  reply_rate_email    real,             -- replied_email / contacted_email
  out_of_office       integer NOT NULL,
  stopped_replied     integer NOT NULL, -- sequences stopped by a reply
  stopped_other       integer NOT NULL, -- first stop for another reason
  completed           integer NOT NULL
) STRICT;
CREATE INDEX funnel_campaigns_workspace ON funnel_campaigns (workspace_id);

-- One row per campaign and play step.
CREATE TABLE funnel_steps
(
  campaign_id      text    NOT NULL,
  step             integer NOT NULL,
  workspace_id     text,
  action           text,             -- 'invite' | 'message' | 'email'
  started          integer NOT NULL, -- leads for whom it started (retries once)
  sent             integer NOT NULL, -- leads it reached
  failed           integer NOT NULL, -- final failures
  skipped          integer NOT NULL,
  accepted         integer NOT NULL, -- its invites accepted
  acceptance_rate  real,             -- accepted / sent (invite steps)
  replied          integer NOT NULL, -- replies after its message
  replied_linkedin integer NOT NULL,
  replied_email    integer NOT NULL,
  reply_rate       real,             -- replied / sent
  stopped_replied  integer NOT NULL,
  PRIMARY KEY (campaign_id, step)
) STRICT;

-- One row per campaign and UTC day with activity, for plotting.
CREATE TABLE funnel_daily
(
  campaign_id     text    NOT NULL,
  day             text    NOT NULL, -- 'YYYY-MM-DD' (UTC)
  workspace_id    text,
  enrolled        integer NOT NULL,
  invited         integer NOT NULL,
  accepted        integer NOT NULL,
  messages        integer NOT NULL,
  emails          integer NOT NULL,
  replied         integer NOT NULL,
  stopped_replied integer NOT NULL,
  completed       integer NOT NULL,
  PRIMARY KEY (campaign_id, day)
) STRICT;
