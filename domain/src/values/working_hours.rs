use chrono::NaiveTime;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// The local hours in which a sender acts, as `"HH:MM"` strings in events; `start < end`.
///
/// Windows that cross midnight are refused rather than guessed at: outreach at night is not a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkingHours {
    start: NaiveTime,
    end: NaiveTime,
}

/// Why working hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkingHoursError {
    /// Not an `HH:MM` time.
    #[error("`{0}` is not a time of day (expected HH:MM)")]
    BadTime(String),
    /// The window is empty or crosses midnight.
    #[error("working hours must start before they end (got {start}–{end})")]
    EmptyWindow {
        /// Start as given.
        start: String,
        /// End as given.
        end: String,
    },
}

impl WorkingHours {
    /// Builds a window; `start` must be before `end`.
    pub fn new(start: NaiveTime, end: NaiveTime) -> Result<Self, WorkingHoursError> {
        if start >= end {
            return Err(WorkingHoursError::EmptyWindow {
                start: start.format("%H:%M").to_string(),
                end: end.format("%H:%M").to_string(),
            });
        }
        Ok(Self { start, end })
    }

    /// Parses `"HH:MM"` strings.
    pub fn parse(start: &str, end: &str) -> Result<Self, WorkingHoursError> {
        let parse = |s: &str| {
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| WorkingHoursError::BadTime(s.into()))
        };
        Self::new(parse(start)?, parse(end)?)
    }

    /// Local time the window opens.
    pub fn start(&self) -> NaiveTime {
        self.start
    }

    /// Local time the window closes (exclusive).
    pub fn end(&self) -> NaiveTime {
        self.end
    }

    /// Whether a local time of day falls inside the window.
    pub fn contains(&self, t: NaiveTime) -> bool {
        self.start <= t && t < self.end
    }
}

impl Default for WorkingHours {
    /// 09:00–17:00, the usual office day.
    fn default() -> Self {
        Self {
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct WorkingHoursRepr {
    start: String,
    end: String,
}

impl Serialize for WorkingHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        WorkingHoursRepr {
            start: self.start.format("%H:%M").to_string(),
            end: self.end.format("%H:%M").to_string(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for WorkingHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let repr = WorkingHoursRepr::deserialize(d)?;
        WorkingHours::parse(&repr.start, &repr.end).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_hh_mm() {
        let wh = WorkingHours::parse("08:30", "18:00").unwrap();
        let json = serde_json::to_string(&wh).unwrap();
        assert_eq!(json, r#"{"start":"08:30","end":"18:00"}"#);
        assert_eq!(serde_json::from_str::<WorkingHours>(&json).unwrap(), wh);
    }

    #[test]
    fn refuses_empty_or_overnight_windows_and_bad_times() {
        assert!(matches!(
            WorkingHours::parse("18:00", "09:00"),
            Err(WorkingHoursError::EmptyWindow { .. })
        ));
        assert!(matches!(
            WorkingHours::parse("9am", "17:00"),
            Err(WorkingHoursError::BadTime(_))
        ));
        assert!(
            serde_json::from_str::<WorkingHours>(r#"{"start":"25:00","end":"26:00"}"#).is_err()
        );
    }

    #[test]
    fn end_is_exclusive() {
        let wh = WorkingHours::default();
        assert!(wh.contains(NaiveTime::from_hms_opt(9, 0, 0).unwrap()));
        assert!(!wh.contains(NaiveTime::from_hms_opt(17, 0, 0).unwrap()));
    }
}
