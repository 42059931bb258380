//! Campaign funnel tables.

crate::record! {
    /// One lead's way through one campaign: the per-sequence facts the counts are made of, each
    /// counted once (so a duplicate event can never count twice).
    pub struct FunnelSequence in "funnel_sequences", key 1 {
        /// The `lead_sequence` aggregate id.
        pub sequence_id: String,
        /// Workspace.
        pub workspace_id: String,
        /// Campaign.
        pub campaign_id: String,
        /// Lead.
        pub lead_id: String,
        /// The sender running the sequence.
        pub account_id: String,
        /// When the lead was enrolled.
        pub enrolled_at: String,
        /// Steps that started at least once (JSON array of step indexes, ascending).
        pub steps_started: String,
        /// Steps whose invite, message or email went out (JSON array, ascending).
        pub steps_sent: String,
        /// The step whose invite went out.
        pub invite_step: Option<i64>,
        /// The latest step whose message went out: replies are credited to it.
        pub last_sent_step: Option<i64>,
        /// Whether an invite or a LinkedIn message went out.
        pub contacted_linkedin: bool,
        /// Whether an email went out.
        pub contacted_email: bool,
        /// Whether the invite was accepted.
        pub accepted: bool,
        /// Channel of the first reply (`linkedin` | `email`), if the lead replied.
        pub replied_channel: Option<String>,
        /// Whether an out-of-office answer came.
        pub out_of_office: bool,
        /// Reason of the first stop (`replied`, `opted_out`, `manual`, ...).
        pub stop_reason: Option<String>,
        /// Whether a `SequenceStopped { reason: replied }` was recorded.
        pub stopped_replied: bool,
        /// Whether the sequence completed.
        pub completed: bool,
    }
}

crate::record! {
    /// One campaign's funnel. Rates are NULL while their denominator is 0.
    pub struct CampaignFunnel in "funnel_campaigns", key 1 {
        /// Campaign.
        pub campaign_id: String,
        /// Workspace.
        pub workspace_id: Option<String>,
        /// Display name (from `CampaignCreated`).
        pub name: Option<String>,
        /// When the campaign was created.
        pub created_at: Option<String>,
        /// Leads enrolled.
        pub enrolled: i64,
        /// Leads who received anything (invite, message or email).
        pub contacted: i64,
        /// Leads who received an invite or a LinkedIn message.
        pub contacted_linkedin: i64,
        /// Leads who received an email.
        pub contacted_email: i64,
        /// Invites sent (at most one per lead).
        pub invited: i64,
        /// Invites accepted.
        pub accepted: i64,
        /// accepted / invited.
        pub acceptance_rate: Option<f64>,
        /// LinkedIn messages sent.
        pub messages: i64,
        /// Emails sent.
        pub emails: i64,
        /// Leads who replied (on any channel; counted once per lead).
        pub replied: i64,
        /// Leads whose first reply came on LinkedIn.
        pub replied_linkedin: i64,
        /// Leads whose first reply came by email.
        pub replied_email: i64,
        /// replied / contacted.
        pub reply_rate: Option<f64>,
        /// replied_linkedin / contacted_linkedin.
        pub reply_rate_linkedin: Option<f64>,
        /// replied_email / contacted_email.
        pub reply_rate_email: Option<f64>,
        /// Leads who sent an out-of-office answer.
        pub out_of_office: i64,
        /// Sequences stopped by a reply.
        pub stopped_replied: i64,
        /// Sequences whose first stop had another reason (opt-out, manual, unreachable, ...).
        pub stopped_other: i64,
        /// Sequences that ran every step.
        pub completed: i64,
    }
}

crate::record! {
    /// One step of a campaign's play. Rates are NULL while their denominator is 0.
    pub struct StepFunnel in "funnel_steps", key 2 {
        /// Campaign.
        pub campaign_id: String,
        /// Step index in the play.
        pub step: i64,
        /// Workspace.
        pub workspace_id: Option<String>,
        /// `invite` | `message` | `email` (from the play, or the first `StepStarted`).
        pub action: Option<String>,
        /// Leads for whom the step started (retries count once).
        pub started: i64,
        /// Leads to whom the step's invite, message or email went out.
        pub sent: i64,
        /// Final failures (`StepFailed` not retryable).
        pub failed: i64,
        /// Times the step was passed over (`StepSkipped`).
        pub skipped: i64,
        /// Invites of this step accepted.
        pub accepted: i64,
        /// accepted / sent, for an invite step.
        pub acceptance_rate: Option<f64>,
        /// Replies whose latest message before them was this step's.
        pub replied: i64,
        /// Of those, on LinkedIn.
        pub replied_linkedin: i64,
        /// Of those, by email.
        pub replied_email: i64,
        /// replied / sent.
        pub reply_rate: Option<f64>,
        /// Sequences stopped by a reply after this step's message.
        pub stopped_replied: i64,
    }
}

crate::record! {
    /// One campaign's activity on one UTC day, for plotting.
    pub struct DayFunnel in "funnel_daily", key 2 {
        /// Campaign.
        pub campaign_id: String,
        /// UTC date of the events counted (`YYYY-MM-DD`).
        pub day: String,
        /// Workspace.
        pub workspace_id: Option<String>,
        /// Leads enrolled that day.
        pub enrolled: i64,
        /// Invites sent.
        pub invited: i64,
        /// Invites accepted.
        pub accepted: i64,
        /// LinkedIn messages sent.
        pub messages: i64,
        /// Emails sent.
        pub emails: i64,
        /// Leads who replied (first reply).
        pub replied: i64,
        /// Sequences stopped by a reply.
        pub stopped_replied: i64,
        /// Sequences completed.
        pub completed: i64,
    }
}
