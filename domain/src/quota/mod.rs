//! The quota policy: pure functions of limits, tier, account age, recent actions and local time.
