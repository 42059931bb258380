//! `InviteNote`: a rendered invite note that fits LinkedIn's length limit for the sender's tier.
