//! Timestamps in view rows: RFC 3339 UTC with nine fractional digits, so every stamp has the same
//! width and text order is time order, in SQLite and PostgreSQL alike.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// The stored form of an instant.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// An instant read back from its stored form.
pub fn parse_stamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The stored form of a date (`YYYY-MM-DD`).
pub fn date(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stamps_have_one_width_and_read_back() {
        let a = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let b = a + chrono::Duration::nanoseconds(1_500);
        assert_eq!(stamp(a), "2026-03-02T09:00:00.000000000Z");
        assert_eq!(stamp(a).len(), stamp(b).len());
        assert!(stamp(a) < stamp(b));
        assert_eq!(parse_stamp(&stamp(b)), Some(b));
        assert_eq!(date(a.date_naive()), "2026-03-02");
    }
}
