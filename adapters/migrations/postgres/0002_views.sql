-- plera's read models on PostgreSQL: the unified inbox, sender health & quota, campaign funnels.
-- Every table is written only by the projection runner (plera-adapters `views`), from the log, and
-- can be rebuilt from position 0 at any time (`plera replay`). The column lists match the records of
-- `plera-projections` (`*/rows.rs`) in name and order.
--
-- Text columns use the "C" collation: text sorts by bytes, as in SQLite, so every ordering
-- (and every index) is the same on both databases.
--
-- Conventions: timestamps are RFC 3339 UTC text with nine fractional digits
-- (`2026-03-02T09:00:00.000000000Z`), so text order is time order; dates are `YYYY-MM-DD`; booleans
-- are 0/1 bigints; enums are the event contract's snake_case tags; rates are double precision, NULL while
-- their denominator is 0.

-- The fold version of each view: a runner whose code is newer rebuilds the view.
ALTER TABLE projection_checkpoints ADD COLUMN version bigint  NOT NULL DEFAULT 0;

-- ---------------------------------------------------------------------------------------------
-- Unified inbox (view `inbox`).

-- Internal lookup: the lead and sender a sequence's messages belong to (from `SequenceStarted`).
CREATE TABLE inbox_sequences
(
  sequence_id         text COLLATE "C" NOT NULL PRIMARY KEY, -- `lead_sequence` aggregate id
  workspace_id        text COLLATE "C" NOT NULL,
  lead_id             text COLLATE "C" NOT NULL,
  campaign_id         text COLLATE "C" NOT NULL,
  account_id          text COLLATE "C" NOT NULL            -- the sequence's sender: its thread holds the emails too
);

-- One conversation per (workspace, lead, sender), both channels together.
CREATE TABLE inbox_threads
(
  workspace_id        text COLLATE "C" NOT NULL,
  lead_id             text COLLATE "C" NOT NULL,
  account_id          text COLLATE "C" NOT NULL,           -- '' for an email from someone in no sequence
  campaign_id         text COLLATE "C",                    -- campaign of the latest message that came through a sequence
  last_channel        text COLLATE "C" NOT NULL,           -- 'linkedin' | 'email', of the latest message
  last_direction      text COLLATE "C" NOT NULL,           -- 'inbound' | 'outbound', of the latest message
  last_at             text COLLATE "C" NOT NULL,           -- time of the latest message
  last_position       bigint NOT NULL,                     -- log position of the latest message
  messages            bigint NOT NULL,                     -- messages in the thread
  inbound             bigint NOT NULL,                     -- inbound messages in the thread
  unread              bigint NOT NULL,                     -- inbound messages since the last read
  last_read_at        text COLLATE "C",                    -- last `ConversationRead`
  PRIMARY KEY (workspace_id, lead_id, account_id)
);
CREATE INDEX inbox_threads_recent ON inbox_threads (workspace_id, last_at DESC, last_position DESC);
CREATE INDEX inbox_threads_account ON inbox_threads (account_id, last_at DESC);

-- Every message of every thread, once: duplicate deliveries share their `message_key`.
CREATE TABLE inbox_messages
(
  workspace_id        text COLLATE "C" NOT NULL,
  message_key         text COLLATE "C" NOT NULL,           -- 'in/<channel>/<provider message id>' or 'out/<sequence id>/<step>'
  lead_id             text COLLATE "C" NOT NULL,
  account_id          text COLLATE "C" NOT NULL,
  campaign_id         text COLLATE "C",
  sequence_id         text COLLATE "C",
  position            bigint NOT NULL,                     -- log position of the event that recorded it
  at                  text COLLATE "C" NOT NULL,
  direction           text COLLATE "C" NOT NULL,           -- 'inbound' | 'outbound'
  channel             text COLLATE "C" NOT NULL,           -- 'linkedin' | 'email'
  kind                text COLLATE "C" NOT NULL,           -- 'invite' | 'message' | 'email' | 'reply' | 'out_of_office' | 'inbound'
  subject             text COLLATE "C",                    -- email subject
  text                text COLLATE "C" NOT NULL,           -- note, message, email body, reply ('' when the log keeps none)
  PRIMARY KEY (workspace_id, message_key)
);
CREATE INDEX inbox_messages_thread ON inbox_messages (workspace_id, lead_id, account_id, at, position);

-- ---------------------------------------------------------------------------------------------
-- Sender health & quota (view `senders`).

-- One row per sender. Use counts are relative to `sender_clock.as_of` (views read no clock).
CREATE TABLE sender_health
(
  account_id          text COLLATE "C" NOT NULL PRIMARY KEY,
  workspace_id        text COLLATE "C",
  owner               text COLLATE "C",
  tier                text COLLATE "C",                    -- 'free' | 'premium' | 'sales_navigator'
  status              text COLLATE "C" NOT NULL,           -- 'not_connected' | 'connected' | 'paused' | 'restricted' |
                                                           -- 'needs_reconnect' | 'disconnected' (as recorded)
  pause_reason        text COLLATE "C",                    -- reason of the pause in force
  paused_until        text COLLATE "C",                    -- when it ends by itself
  paused_since        text COLLATE "C",
  timezone            text COLLATE "C",                    -- IANA zone of the working hours and the local day
  working_hours_start text COLLATE "C",                    -- 'HH:MM' local
  working_hours_end   text COLLATE "C",
  warm_up             bigint,                              -- 0/1: limits ramp up from the connection
  daily_invites       bigint,                              -- configured limits
  daily_messages      bigint,
  weekly_invites      bigint,
  cap_daily_invites   bigint,                              -- limits in force at as_of (warm-up applied)
  cap_daily_messages  bigint,
  cap_weekly_invites  bigint,
  ready_invite        bigint NOT NULL,                     -- 0/1: connected, not paused, under every invite cap
  ready_message       bigint NOT NULL,                     -- 0/1: same for messages (working hours not considered)
  usage_day           text COLLATE "C" NOT NULL,           -- the sender's local date of as_of
  invites_today       bigint NOT NULL,                     -- invite StepStarted on usage_day
  messages_today      bigint NOT NULL,                     -- message StepStarted on usage_day
  invites_7d          bigint NOT NULL,                     -- invite StepStarted in (as_of - 7 x 24 h, as_of]
  last_action_at      text COLLATE "C",
  warnings            bigint NOT NULL,                     -- warnings received in all
  last_warning_kind   text COLLATE "C",
  last_warning_at     text COLLATE "C",
  connected_at        text COLLATE "C",
  disconnected_at     text COLLATE "C",
  account_state       text COLLATE "C" NOT NULL,           -- internal: the SenderAccount aggregate (JSON)
  recent_actions      text COLLATE "C" NOT NULL            -- internal: invite/message starts of the last 8 days (JSON)
);
CREATE INDEX sender_health_workspace ON sender_health (workspace_id);

-- Every warning a sender received, for its history.
CREATE TABLE sender_warnings
(
  account_id          text COLLATE "C" NOT NULL,
  position            bigint NOT NULL,                     -- log position of the WarningReceived
  workspace_id        text COLLATE "C",
  kind                text COLLATE "C" NOT NULL,           -- 'rate_limited' | 'temporary_provider_limit' | 'restricted' |
                                                           -- 'session_expired' | 'usage_near_cap' | 'failure_streak'
  detail              text COLLATE "C",
  at                  text COLLATE "C" NOT NULL,
  PRIMARY KEY (account_id, position)
);

-- The view's "now": the latest event time applied (one row, id = 1).
CREATE TABLE sender_clock
(
  id                  bigint NOT NULL PRIMARY KEY CHECK (id = 1),
  as_of               text COLLATE "C" NOT NULL
);

-- ---------------------------------------------------------------------------------------------
-- Campaign funnels (view `funnel`).

-- One lead's way through one campaign: each fact once, so nothing counts twice.
CREATE TABLE funnel_sequences
(
  sequence_id         text COLLATE "C" NOT NULL PRIMARY KEY,
  workspace_id        text COLLATE "C" NOT NULL,
  campaign_id         text COLLATE "C" NOT NULL,
  lead_id             text COLLATE "C" NOT NULL,
  account_id          text COLLATE "C" NOT NULL,
  enrolled_at         text COLLATE "C" NOT NULL,
  steps_started       text COLLATE "C" NOT NULL,           -- JSON array of step indexes that started
  steps_sent          text COLLATE "C" NOT NULL,           -- JSON array of step indexes whose message went out
  invite_step         bigint,
  last_sent_step      bigint,                              -- replies are credited to this step
  contacted_linkedin  bigint NOT NULL,                     -- 0/1
  contacted_email     bigint NOT NULL,                     -- 0/1
  accepted            bigint NOT NULL,                     -- 0/1
  replied_channel     text COLLATE "C",                    -- channel of the first reply
  out_of_office       bigint NOT NULL,                     -- 0/1
  stop_reason         text COLLATE "C",                    -- reason of the first stop
  stopped_replied     bigint NOT NULL,                     -- 0/1
  completed           bigint NOT NULL                      -- 0/1
);
CREATE INDEX funnel_sequences_campaign ON funnel_sequences (campaign_id);

-- One row per campaign: leads counted once each.
CREATE TABLE funnel_campaigns
(
  campaign_id         text COLLATE "C" NOT NULL PRIMARY KEY,
  workspace_id        text COLLATE "C",
  name                text COLLATE "C",
  created_at          text COLLATE "C",
  enrolled            bigint NOT NULL,
  contacted           bigint NOT NULL,                     -- leads who received an invite, message or email
  contacted_linkedin  bigint NOT NULL,
  contacted_email     bigint NOT NULL,
  invited             bigint NOT NULL,
  accepted            bigint NOT NULL,
  acceptance_rate     double precision,                    -- accepted / invited
  messages            bigint NOT NULL,
  emails              bigint NOT NULL,
  replied             bigint NOT NULL,                     -- leads who replied
  replied_linkedin    bigint NOT NULL,
  replied_email       bigint NOT NULL,
  reply_rate          double precision,                    -- replied / contacted
  reply_rate_linkedin double precision,                    -- replied_linkedin / contacted_linkedin
  reply_rate_email    double precision,                    -- replied_email / contacted_email
  out_of_office       bigint NOT NULL,
  stopped_replied     bigint NOT NULL,                     -- sequences stopped by a reply
  stopped_other       bigint NOT NULL,                     -- first stop for another reason
  completed           bigint NOT NULL
);
CREATE INDEX funnel_campaigns_workspace ON funnel_campaigns (workspace_id);

-- One row per campaign and play step.
CREATE TABLE funnel_steps
(
  campaign_id         text COLLATE "C" NOT NULL,
  step                bigint NOT NULL,
  workspace_id        text COLLATE "C",
  action              text COLLATE "C",                    -- 'invite' | 'message' | 'email'
  started             bigint NOT NULL,                     -- leads for whom it started (retries once)
  sent                bigint NOT NULL,                     -- leads it reached
  failed              bigint NOT NULL,                     -- final failures
  skipped             bigint NOT NULL,
  accepted            bigint NOT NULL,                     -- its invites accepted
  acceptance_rate     double precision,                    -- accepted / sent (invite steps)
  replied             bigint NOT NULL,                     -- replies after its message
  replied_linkedin    bigint NOT NULL,
  replied_email       bigint NOT NULL,
  reply_rate          double precision,                    -- replied / sent
  stopped_replied     bigint NOT NULL,
  PRIMARY KEY (campaign_id, step)
);

-- One row per campaign and UTC day with activity, for plotting.
CREATE TABLE funnel_daily
(
  campaign_id         text COLLATE "C" NOT NULL,
  day                 text COLLATE "C" NOT NULL,           -- 'YYYY-MM-DD' (UTC)
  workspace_id        text COLLATE "C",
  enrolled            bigint NOT NULL,
  invited             bigint NOT NULL,
  accepted            bigint NOT NULL,
  messages            bigint NOT NULL,
  emails              bigint NOT NULL,
  replied             bigint NOT NULL,
  stopped_replied     bigint NOT NULL,
  completed           bigint NOT NULL,
  PRIMARY KEY (campaign_id, day)
);
