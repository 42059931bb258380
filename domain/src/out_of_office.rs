//! Telling an out-of-office auto-reply from a real reply, and reading its return date.
