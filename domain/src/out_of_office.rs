//! Telling an out-of-office auto-reply from a real reply, and reading its return date.
//!
//! A real reply stops the sequence; an auto-reply only pauses the lead until the return date. The
//! two mistakes are not equally bad: an auto-reply taken for a reply loses a lead, but a reply taken
//! for an auto-reply sends follow-ups to someone who answered, the complaint users have most. So
//! only explicit auto-reply labels ("Automatic reply", "Abwesenheitsnotiz"...) win unconditionally;
//! softer phrases ("out of the office", "on vacation") count only when the text does not read like
//! a conversation (no question, no "let's", no "interested"...). Quoted lines (`> ...`) are ignored:
//! they belong to earlier messages.
//!
//! Dates: ISO `2026-03-12`, numeric `12/03/2026` or `12.03.` (day first, as in most of the world;
//! month first only when the day-first reading is impossible, e.g. `03/15/2026`), and month names in
//! English, French, German and Spanish (`March 12`, `12th of March`, `12. März`, `12 de marzo`).
//! A weekday or "tomorrow" counts only after a cue such as "back" or "until". A date after "back"
//! / "returning" wins over one after "until", which wins over an uncued date (then the last one: a
//! period's end). `until X` yields X itself: the sequence's own delays leave the lead a day's
//! slack. A date without a year is the next such date on or after the day received, unless that
//! date fell within the last 60 days: then the notice is stale (its owner forgot to switch it off)
//! and pausing the lead for a year would be wrong. A date before the day received, or more than a
//! year after it, is ignored as stale or misread.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// What an inbound message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ReplyKind {
    /// A message written by the lead: it stops the sequence.
    Reply,
    /// An automatic absence notice: it pauses the lead, until the start (UTC) of the day they are
    /// back when the notice says.
    OutOfOffice {
        /// When to resume, if the notice gives a return date.
        until: Option<DateTime<Utc>>,
    },
}

impl ReplyKind {
    /// Whether this is an auto-reply rather than a real answer.
    pub fn is_out_of_office(&self) -> bool {
        matches!(self, ReplyKind::OutOfOffice { .. })
    }
}

/// Classifies an inbound message and reads its return date; `received_at` anchors dates given
/// without a year and weekdays.
pub fn classify_reply(text: &str, received_at: DateTime<Utc>) -> ReplyKind {
    let unquoted: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with('>'))
        .collect();
    let unquoted = unquoted.join("\n");
    let norm = normalize(&unquoted);
    if !is_auto_reply(&unquoted, &norm) {
        return ReplyKind::Reply;
    }
    let until = return_date(&norm, received_at.date_naive())
        .map(|day| day.and_time(NaiveTime::MIN).and_utc());
    ReplyKind::OutOfOffice { until }
}

/// Labels that only machines write: they decide on their own.
const AUTO_LABELS: &[&str] = &[
    "automatic reply",
    "automatic response",
    "automated reply",
    "automated response",
    "auto-reply",
    "auto reply",
    "autoreply",
    "auto-response",
    "autoresponse",
    "abwesenheitsnotiz",
    "automatische antwort",
    "abwesenheitsnachricht",
    "réponse automatique",
    "reponse automatique",
    "message d'absence",
    "respuesta automática",
    "respuesta automatica",
    "mensaje de ausencia",
];

/// Phrases a person may also write in a real answer: they need a text that is not conversational.
const ABSENCE_PHRASES: &[&str] = &[
    "out of office",
    "out of the office",
    "away from the office",
    "away from my desk",
    "on vacation",
    "on holiday",
    "on holidays",
    "on annual leave",
    "on leave",
    "on parental leave",
    "on maternity leave",
    "on paternity leave",
    "on sick leave",
    "on pto",
    "away until",
    "currently away",
    "currently out",
    "limited access to email",
    "limited access to e-mail",
    "limited access to my email",
    "no access to email",
    "nicht im büro",
    "außer haus",
    "ausser haus",
    "im urlaub",
    "abwesend",
    "nicht erreichbar",
    "in elternzeit",
    "absent du bureau",
    "absente du bureau",
    "en congé",
    "en congés",
    "en vacances",
    "actuellement absent",
    "actuellement absente",
    "fuera de la oficina",
    "fuera de oficina",
    "de vacaciones",
    "ausente",
    "estaré fuera",
];

/// Signs that a person is talking to us, which veto the softer absence phrases.
const CONVERSATION_CUES: &[&str] = &[
    "let's",
    "let us",
    "sounds good",
    "sounds great",
    "interested",
    "unsubscribe",
    "remove me",
    "call me",
    "happy to chat",
    "not now",
];

fn normalize(text: &str) -> String {
    let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_auto_reply(original: &str, norm: &str) -> bool {
    if AUTO_LABELS.iter().any(|p| contains_phrase(norm, p)) {
        return true;
    }
    // "OOO" only in capitals: "ooo" is also an exclamation.
    let shouted_ooo = original
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w == "OOO");
    let absent = shouted_ooo || ABSENCE_PHRASES.iter().any(|p| contains_phrase(norm, p));
    let conversational =
        norm.contains('?') || CONVERSATION_CUES.iter().any(|p| contains_phrase(norm, p));
    absent && !conversational
}

/// `phrase` occurs in `hay` as whole words (not "on leave" inside "upon leaves").
fn contains_phrase(hay: &str, phrase: &str) -> bool {
    hay.match_indices(phrase).any(|(at, m)| {
        let before = hay[..at].chars().next_back();
        let after = hay[at + m.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tok<'a> {
    Word(&'a str),
    Num { value: u32, digits: usize },
    Punct(char),
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    tok: Tok<'a>,
    start: usize,
    end: usize,
}

fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        if c.is_whitespace() {
            continue;
        }
        let same_kind = |d: char| {
            if c.is_ascii_digit() {
                d.is_ascii_digit()
            } else {
                d.is_alphabetic()
            }
        };
        if !c.is_ascii_digit() && !c.is_alphabetic() {
            tokens.push(Token {
                tok: Tok::Punct(c),
                start,
                end: start + c.len_utf8(),
            });
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some(&(i, d)) = chars.peek() {
            if !same_kind(d) {
                break;
            }
            end = i + d.len_utf8();
            chars.next();
        }
        let s = &text[start..end];
        let tok = if c.is_ascii_digit() {
            match s.parse() {
                Ok(value) => Tok::Num {
                    value,
                    digits: s.len(),
                },
                // Too long for a date part; keep it as an opaque word.
                Err(_) => Tok::Word(s),
            }
        } else {
            Tok::Word(s)
        };
        tokens.push(Token { tok, start, end });
    }
    tokens
}

fn month_of(word: &str) -> Option<u32> {
    let m = match word {
        "january" | "jan" | "janvier" | "januar" | "jänner" | "enero" => 1,
        "february" | "feb" | "février" | "fevrier" | "februar" | "febrero" => 2,
        "march" | "mar" | "mars" | "märz" | "maerz" | "marzo" => 3,
        "april" | "apr" | "avril" | "abril" => 4,
        "may" | "mai" | "mayo" => 5,
        "june" | "jun" | "juin" | "juni" | "junio" => 6,
        "july" | "jul" | "juillet" | "juli" | "julio" => 7,
        "august" | "aug" | "août" | "aout" | "agosto" => 8,
        "september" | "sep" | "sept" | "septembre" | "septiembre" | "setiembre" => 9,
        "october" | "oct" | "octobre" | "oktober" | "octubre" => 10,
        "november" | "nov" | "novembre" | "noviembre" => 11,
        "december" | "dec" | "décembre" | "decembre" | "dezember" | "diciembre" => 12,
        _ => return None,
    };
    Some(m)
}

fn weekday_of(word: &str) -> Option<Weekday> {
    let d = match word {
        "monday" | "lundi" | "montag" | "lunes" => Weekday::Mon,
        "tuesday" | "mardi" | "dienstag" | "martes" => Weekday::Tue,
        "wednesday" | "mercredi" | "mittwoch" | "miércoles" | "miercoles" => Weekday::Wed,
        "thursday" | "jeudi" | "donnerstag" | "jueves" => Weekday::Thu,
        "friday" | "vendredi" | "freitag" | "viernes" => Weekday::Fri,
        "saturday" | "samedi" | "samstag" | "sábado" | "sabado" => Weekday::Sat,
        "sunday" | "dimanche" | "sonntag" | "domingo" => Weekday::Sun,
        _ => return None,
    };
    Some(d)
}

const RETURN_CUES: &[&str] = &[
    "back",
    "ab",
    "return",
    "returning",
    "returns",
    "zurück",
    "wieder",
    "retour",
    "rentre",
    "rentrerai",
    "regreso",
    "regresaré",
    "regresare",
    "vuelvo",
    "volveré",
    "volvere",
];

const UNTIL_CUES: &[&str] = &[
    "until", "till", "til", "through", "thru", "bis", "jusqu", "jusque", "hasta",
];

const ORDINALS: &[&str] = &["st", "nd", "rd", "th", "er", "e", "º", "o"];

/// How strongly a date is tied to the return, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    ReturnCue,
    UntilCue,
    Uncued,
}

/// A date as written, before it is anchored to the day received.
#[derive(Clone, Copy, Debug)]
enum Written {
    Day {
        year: Option<i32>,
        month: u32,
        day: u32,
    },
    Weekday(Weekday),
    Tomorrow,
}

fn return_date(norm: &str, received: NaiveDate) -> Option<NaiveDate> {
    let tokens = tokenize(norm);
    let mut found: Vec<(Rank, bool, usize, NaiveDate)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let Some((written, next)) = read_date(&tokens, i) else {
            i += 1;
            continue;
        };
        let rank = cue_before(&tokens, i);
        let explicit = matches!(written, Written::Day { .. });
        if explicit || rank != Rank::Uncued {
            if let Some(day) = anchor(written, received) {
                found.push((rank, explicit, i, day));
            }
        }
        i = next;
    }
    // Cued explicit dates, then cued weekdays, then the last uncued date (a period's end).
    let cued = found
        .iter()
        .filter(|f| f.0 != Rank::Uncued)
        .min_by_key(|f| (!f.1, f.0, f.2));
    cued.or_else(|| found.iter().max_by_key(|f| f.2))
        .map(|f| f.3)
}

fn cue_before(tokens: &[Token<'_>], at: usize) -> Rank {
    let words = tokens[..at].iter().rev().filter_map(|t| match t.tok {
        Tok::Word(w) => Some(w),
        _ => None,
    });
    let window: Vec<&str> = words.take(5).collect();
    if window.iter().any(|w| RETURN_CUES.contains(w)) {
        Rank::ReturnCue
    } else if window.iter().any(|w| UNTIL_CUES.contains(w)) {
        Rank::UntilCue
    } else {
        Rank::Uncued
    }
}

/// Reads a date starting at token `i`; returns it and the index after it.
fn read_date(t: &[Token<'_>], i: usize) -> Option<(Written, usize)> {
    let tok = |k: usize| t.get(k).map(|x| x.tok);
    let adjacent = |k: usize| k > 0 && k < t.len() && t[k - 1].end == t[k].start;
    match tok(i)? {
        Tok::Word(w) => {
            if let Some(month) = month_of(w) {
                // March 12th, 2026 / Mar. 12
                let mut k = i + 1;
                if tok(k) == Some(Tok::Punct('.')) {
                    k += 1;
                }
                if let Some(Tok::Num { value, digits }) = tok(k) {
                    if digits <= 2 {
                        let (year, next) = read_year(t, skip_ordinal(t, k + 1));
                        return Some((
                            Written::Day {
                                year,
                                month,
                                day: value,
                            },
                            next,
                        ));
                    }
                }
                None
            } else if let Some(day) = weekday_of(w) {
                Some((Written::Weekday(day), i + 1))
            } else if matches!(w, "tomorrow" | "demain" | "morgen" | "mañana" | "manana") {
                Some((Written::Tomorrow, i + 1))
            } else {
                None
            }
        }
        Tok::Num { value, digits: 4 } => {
            // 2026-03-12
            match (tok(i + 1), tok(i + 2), tok(i + 3), tok(i + 4)) {
                (
                    Some(Tok::Punct('-')),
                    Some(Tok::Num { value: month, .. }),
                    Some(Tok::Punct('-')),
                    Some(Tok::Num { value: day, .. }),
                ) if (1..=4).all(|k| adjacent(i + k)) => Some((
                    Written::Day {
                        year: i32::try_from(value).ok(),
                        month,
                        day,
                    },
                    i + 5,
                )),
                _ => None,
            }
        }
        Tok::Num { value, digits } if digits <= 2 => {
            read_numeric(t, i, value).or_else(|| read_day_month(t, i, value))
        }
        _ => None,
    }
}

/// 12/03/2026, 12.03.26, 12/3, 03/15/2026 (month first only when day first is impossible).
fn read_numeric(t: &[Token<'_>], i: usize, first: u32) -> Option<(Written, usize)> {
    let tok = |k: usize| t.get(k).map(|x| x.tok);
    let adjacent = |k: usize| k < t.len() && t[k - 1].end == t[k].start;
    let sep = match tok(i + 1)? {
        Tok::Punct(c @ ('/' | '.' | '-')) if adjacent(i + 1) => c,
        _ => return None,
    };
    let second = match tok(i + 2)? {
        Tok::Num { value, digits } if digits <= 2 && adjacent(i + 2) => value,
        _ => return None,
    };
    let year = match (tok(i + 3), tok(i + 4)) {
        (Some(Tok::Punct(c)), Some(Tok::Num { value, digits }))
            if c == sep && adjacent(i + 3) && adjacent(i + 4) && (digits == 2 || digits == 4) =>
        {
            let y = i32::try_from(value).ok()?;
            Some(if digits == 2 { 2000 + y } else { y })
        }
        _ => None,
    };
    // "9-5" is office hours, not a date: a dash needs the year.
    if sep == '-' && year.is_none() {
        return None;
    }
    let (day, month) = if sep == '/' && second > 12 && first <= 12 {
        (second, first)
    } else {
        (first, second)
    };
    let next = if year.is_some() { i + 5 } else { i + 3 };
    Some((Written::Day { year, month, day }, next))
}

/// 12 March 2026, 12th of March, 12. März, 12 de marzo de 2026, 1er avril.
fn read_day_month(t: &[Token<'_>], i: usize, day: u32) -> Option<(Written, usize)> {
    let tok = |k: usize| t.get(k).map(|x| x.tok);
    let mut k = skip_ordinal(t, i + 1);
    if tok(k) == Some(Tok::Punct('.')) {
        k += 1;
    }
    if matches!(tok(k), Some(Tok::Word("of" | "de"))) {
        k += 1;
    }
    let Some(Tok::Word(w)) = tok(k) else {
        return None;
    };
    let month = month_of(w)?;
    k += 1;
    if matches!(tok(k), Some(Tok::Word("de"))) && matches!(tok(k + 1), Some(Tok::Num { .. })) {
        k += 1;
    }
    let (year, next) = read_year(t, k);
    Some((Written::Day { year, month, day }, next))
}

fn skip_ordinal(t: &[Token<'_>], k: usize) -> usize {
    match t.get(k) {
        Some(Token {
            tok: Tok::Word(w),
            start,
            ..
        }) if ORDINALS.contains(w) && k > 0 && t[k - 1].end == *start => k + 1,
        _ => k,
    }
}

/// An optional `, 2026` / ` 2026` at `k`.
fn read_year(t: &[Token<'_>], k: usize) -> (Option<i32>, usize) {
    let k_num = if matches!(t.get(k).map(|x| x.tok), Some(Tok::Punct(','))) {
        k + 1
    } else {
        k
    };
    match t.get(k_num).map(|x| x.tok) {
        Some(Tok::Num { value, digits: 4 }) => (i32::try_from(value).ok(), k_num + 1),
        _ => (None, k),
    }
}

/// A year-less date at most this many days in the past is a stale notice, not next year's date.
const STALE_DAYS: i64 = 60;

/// Turns a written date into a calendar day on or after `received`, within a year of it.
fn anchor(written: Written, received: NaiveDate) -> Option<NaiveDate> {
    let day = match written {
        Written::Tomorrow => received.succ_opt()?,
        Written::Weekday(target) => {
            let ahead = (i64::from(target.num_days_from_monday())
                - i64::from(received.weekday().num_days_from_monday()))
            .rem_euclid(7);
            received + Duration::days(if ahead == 0 { 7 } else { ahead })
        }
        Written::Day {
            year: Some(year),
            month,
            day,
        } => NaiveDate::from_ymd_opt(year, month, day)?,
        Written::Day {
            year: None,
            month,
            day,
        } => {
            let on = |year: i32| NaiveDate::from_ymd_opt(year, month, day);
            // February 29th may be years away on either side, hence the range; the cap below
            // refuses the far ones.
            let last = (0..=8)
                .filter_map(|k| on(received.year() - k))
                .find(|d| *d < received);
            if last.is_some_and(|d| received - d <= Duration::days(STALE_DAYS)) {
                return None;
            }
            (0..=8)
                .filter_map(|k| on(received.year() + k))
                .find(|d| *d >= received)?
        }
    };
    (day >= received && day <= received + Duration::days(366)).then_some(day)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// Wednesday 4 March 2026, 15:30 UTC.
    fn received() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 4, 15, 30, 0).unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap())
    }

    fn until(text: &str) -> Option<DateTime<Utc>> {
        match classify_reply(text, received()) {
            ReplyKind::OutOfOffice { until } => until,
            ReplyKind::Reply => panic!("expected an out-of-office: {text}"),
        }
    }

    fn is_reply(text: &str) -> bool {
        classify_reply(text, received()) == ReplyKind::Reply
    }

    #[test]
    fn english_out_of_office_with_month_name() {
        assert_eq!(
            until(
                "Thank you for your email. I am out of the office until March 12 with limited \
                 access to email. For urgent matters please contact jane@acme.com."
            ),
            day(2026, 3, 12)
        );
    }

    #[test]
    fn automatic_reply_label_with_numeric_day_first_date() {
        assert_eq!(
            until("Automatic reply: I'm travelling. Back on 12/03/2026."),
            day(2026, 3, 12)
        );
    }

    #[test]
    fn iso_date_is_read() {
        assert_eq!(
            until("Out of office. I will be back on 2026-03-16."),
            day(2026, 3, 16)
        );
    }

    #[test]
    fn month_first_only_when_day_first_is_impossible() {
        assert_eq!(
            until("Auto-reply: on vacation, returning 03/15/2026."),
            day(2026, 3, 15)
        );
    }

    #[test]
    fn a_date_without_a_year_is_the_next_such_date() {
        let december = Utc.with_ymd_and_hms(2026, 12, 20, 9, 0, 0).unwrap();
        assert_eq!(
            classify_reply("I'm on holiday until January 5.", december),
            ReplyKind::OutOfOffice {
                until: day(2027, 1, 5)
            }
        );
        // The day itself still counts.
        assert_eq!(until("Auto-reply. Back on March 4th."), day(2026, 3, 4));
        // Months ago (more than the stale window): the coming one, as for a long leave.
        assert_eq!(
            until("Auto-reply: on parental leave until 10 December."),
            day(2026, 12, 10)
        );
    }

    #[test]
    fn a_year_less_date_just_past_is_a_stale_notice() {
        // 2 March, two days before the notice arrived: not a pause until next March.
        assert_eq!(until("I'm on holiday until 2 March."), None);
    }

    #[test]
    fn return_cue_beats_until_and_range_end_is_used() {
        assert_eq!(
            until("Out of office until March 12, back in the office on March 13."),
            day(2026, 3, 13)
        );
        assert_eq!(
            until("Out of office from 9 March 2026 - 20 March 2026."),
            day(2026, 3, 20)
        );
    }

    #[test]
    fn weekdays_and_tomorrow_count_after_a_cue() {
        // Received on a Wednesday: next Monday is 9 March.
        assert_eq!(until("I'm OOO today, returning Monday."), day(2026, 3, 9));
        assert_eq!(
            until("Automatic reply: out today, back tomorrow."),
            day(2026, 3, 5)
        );
        // The same weekday as received means a week later.
        assert_eq!(until("Auto-reply: away until Wednesday."), day(2026, 3, 11));
    }

    #[test]
    fn an_explicit_date_wins_over_its_weekday() {
        assert_eq!(
            until("Out of office, returning Monday, March 16th 2026."),
            day(2026, 3, 16)
        );
    }

    #[test]
    fn german_abwesenheitsnotiz() {
        assert_eq!(
            until("Abwesenheitsnotiz: Ich bin bis zum 12. März nicht im Büro."),
            day(2026, 3, 12)
        );
        assert_eq!(
            until("Ich bin im Urlaub und ab dem 16.03.2026 wieder erreichbar."),
            day(2026, 3, 16)
        );
    }

    #[test]
    fn french_absence() {
        assert_eq!(
            until("Réponse automatique : je suis absent du bureau jusqu’au 1er avril."),
            day(2026, 4, 1)
        );
    }

    #[test]
    fn spanish_absence() {
        assert_eq!(
            until("Estoy fuera de la oficina hasta el 15 de marzo de 2026."),
            day(2026, 3, 15)
        );
    }

    #[test]
    fn out_of_office_without_a_date() {
        assert_eq!(
            until("Out of Office: I am currently on parental leave."),
            None
        );
        assert_eq!(until("Abwesenheitsnotiz"), None);
    }

    #[test]
    fn stale_or_far_dates_are_ignored() {
        assert_eq!(until("Automatic reply: back on 2025-12-01."), None);
        assert_eq!(until("Automatic reply: back on 2029-12-01."), None);
        assert_eq!(until("Automatic reply: back on 31/02/2026."), None);
    }

    #[test]
    fn office_hours_and_times_are_not_dates() {
        assert_eq!(
            until("Automatic reply: I work 9-5 and am out until 17:00."),
            None
        );
    }

    #[test]
    fn a_real_reply_mentioning_the_office_is_a_reply() {
        assert!(is_reply("Let's meet at my office next Tuesday."));
        assert!(is_reply("Sure, our office is in Berlin. Send me the deck."));
        assert!(is_reply("Thanks, not interested."));
    }

    #[test]
    fn a_person_mentioning_an_absence_in_conversation_is_a_reply() {
        assert!(is_reply(
            "I'm out of the office this week, but could we talk on Monday?"
        ));
        assert!(is_reply(
            "On vacation until the 12th, but let's talk after that."
        ));
        assert!(is_reply(
            "Interested! I'm on leave right now, call me in April."
        ));
    }

    #[test]
    fn lowercase_ooo_and_lookalike_words_do_not_trigger() {
        assert!(is_reply("ooo, that looks neat. Send more details."));
        assert!(is_reply(
            "Upon leaves of absence policies, we have our own tool."
        ));
        assert!(is_reply("We saw your vacation-rental demo."));
    }

    #[test]
    fn quoted_lines_are_ignored() {
        let text = "Yes, please send the pricing.\n\n> Automatic reply: I am out of the office.";
        assert!(is_reply(text));
    }

    #[test]
    fn an_explicit_label_wins_over_conversation_cues() {
        assert_eq!(
            until("Automatic reply: Questions? I am away until 2026-03-20."),
            day(2026, 3, 20)
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_dates_stay_in_range(text in "\\PC{0,200}", secs in 0i64..4_000_000_000) {
            let at = DateTime::from_timestamp(secs, 0).unwrap();
            if let ReplyKind::OutOfOffice { until: Some(until) } = classify_reply(&text, at) {
                proptest::prop_assert!(until.date_naive() >= at.date_naive());
                proptest::prop_assert!(until - at <= Duration::days(367));
            }
        }

        #[test]
        fn date_like_text_never_panics_and_stays_in_range(
            text in "(auto-reply|back|until|bis|hasta|jusqu'au|[0-9]{1,4}|[-/.,:]| |march|mars|märz|de|of|1er|monday|29|02){0,14}",
        ) {
            if let ReplyKind::OutOfOffice { until: Some(until) } = classify_reply(&text, received()) {
                proptest::prop_assert!(until >= day(2026, 3, 4).unwrap());
                proptest::prop_assert!(until <= day(2027, 3, 5).unwrap());
            }
        }
    }

    #[test]
    fn reply_kind_serializes_with_a_tag() {
        let kind = ReplyKind::OutOfOffice {
            until: day(2026, 3, 12),
        };
        assert!(kind.is_out_of_office());
        assert!(!ReplyKind::Reply.is_out_of_office());
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"out_of_office","until":"2026-03-12T00:00:00Z"}"#
        );
    }
}
