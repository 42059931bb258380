//! Sender health & quota tables.

crate::record! {
    /// One sender account: its status, limits and today's use.
    pub struct SenderRow in "sender_health", key 1 {
        /// Our id of the sender.
        pub account_id: String,
        /// Workspace (once connected).
        pub workspace_id: Option<String>,
        /// Owner (once connected).
        pub owner: Option<String>,
        /// `free` | `premium` | `sales_navigator`.
        pub tier: Option<String>,
        /// `not_connected` | `connected` | `paused` | `restricted` | `needs_reconnect` |
        /// `disconnected`: the recorded status (a timed pause shows until its resume is recorded).
        pub status: String,
        /// Reason of the pause in force (`rate_limited`, `restricted`, `session_expired`, `user`, ...).
        pub pause_reason: Option<String>,
        /// When the pause ends by itself.
        pub paused_until: Option<String>,
        /// When the pause began.
        pub paused_since: Option<String>,
        /// IANA time zone of the working hours and of the local day.
        pub timezone: Option<String>,
        /// Working hours start (`HH:MM`, local).
        pub working_hours_start: Option<String>,
        /// Working hours end (`HH:MM`, local).
        pub working_hours_end: Option<String>,
        /// Whether the limits ramp up from the connection (new account).
        pub warm_up: Option<bool>,
        /// Configured invites per local day.
        pub daily_invites: Option<i64>,
        /// Configured messages per local day.
        pub daily_messages: Option<i64>,
        /// Configured invites per rolling 7 days.
        pub weekly_invites: Option<i64>,
        /// Invites per day in force at `sender_clock.as_of` (warm-up applied).
        pub cap_daily_invites: Option<i64>,
        /// Messages per day in force at `as_of` (warm-up applied).
        pub cap_daily_messages: Option<i64>,
        /// Invites per rolling 7 days in force at `as_of` (warm-up applied).
        pub cap_weekly_invites: Option<i64>,
        /// Whether an invite could start: connected, not paused at `as_of`, under every invite cap.
        /// Working hours and pacing are not considered.
        pub ready_invite: bool,
        /// Whether a message could start: as for invites, under the message cap.
        pub ready_message: bool,
        /// The sender's local date of `as_of`: the day `invites_today` and `messages_today` count.
        pub usage_day: String,
        /// Invites started (`StepStarted`) on `usage_day`.
        pub invites_today: i64,
        /// Messages started on `usage_day`.
        pub messages_today: i64,
        /// Invites started in `(as_of − 7 × 24 h, as_of]`.
        pub invites_7d: i64,
        /// The latest LinkedIn action started.
        pub last_action_at: Option<String>,
        /// Warnings received in all.
        pub warnings: i64,
        /// Kind of the latest warning.
        pub last_warning_kind: Option<String>,
        /// When the latest warning came.
        pub last_warning_at: Option<String>,
        /// When the account was connected.
        pub connected_at: Option<String>,
        /// When it was disconnected.
        pub disconnected_at: Option<String>,
        /// Internal: the `SenderAccount` aggregate folded from its events (JSON).
        pub account_state: String,
        /// Internal: starts of invites and messages within 8 days of `as_of` (JSON).
        pub recent_actions: String,
    }
}

crate::record! {
    /// One warning a sender received, for its history over time.
    pub struct WarningRow in "sender_warnings", key 2 {
        /// The sender.
        pub account_id: String,
        /// Log position of the `WarningReceived` event.
        pub position: i64,
        /// Workspace (once connected).
        pub workspace_id: Option<String>,
        /// `rate_limited` | `temporary_provider_limit` | `restricted` | `session_expired` |
        /// `usage_near_cap` | `failure_streak`.
        pub kind: String,
        /// The provider's words, if any.
        pub detail: Option<String>,
        /// When.
        pub at: String,
    }
}

crate::record! {
    /// The view's notion of "now": the latest `at` of any event applied. Views cannot read a
    /// clock; today's use and the rolling week are relative to this instant.
    pub struct ClockRow in "sender_clock", key 1 {
        /// Always 1 (a single row).
        pub id: i64,
        /// The latest event time seen.
        pub as_of: String,
    }
}
