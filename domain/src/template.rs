//! Templates with `{{variable}}` placeholders, rendered from a lead's profile.
