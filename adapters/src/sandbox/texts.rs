//! What simulated leads write: real replies, and out-of-office auto-replies with and without a
//! return date, phrased the way mail clients and people phrase them so that the engine's
//! out-of-office recognition meets realistic input.

use chrono::NaiveDate;

/// Real answers, from warm to hostile: every one of them must stop a sequence.
const REPLIES: &[&str] = &[
    "Thanks for reaching out! Happy to chat, does Thursday afternoon work for you?",
    "Hi, sounds interesting. Can you send me a short deck or a few more details?",
    "Not a priority for us right now, maybe check back next quarter.",
    "Thanks, but we're not interested.",
    "Please remove me from your list.",
    "I'm not the right person for this, you may want to talk to our head of operations.",
    "We already use a tool for this and are happy with it.",
    "Sure, let's talk. Here is my calendar link, pick any slot next week.",
    "What does pricing look like for a team of about 20 people?",
    "Appreciate the note. Who else in my industry is using this?",
    "Hey, thanks for connecting! What made you reach out?",
    "Interesting timing, we were just discussing this internally. Call me on Monday?",
];

/// Auto-replies that give a return date; `{date}` becomes e.g. "March 12, 2026".
const AWAY_UNTIL: &[&str] = &[
    "I'm out of the office until {date} with limited access to email. I'll get back to you when I return.",
    "Thank you for your message. I am currently out of the office and will return on {date}. For urgent matters, please contact my colleague.",
    "Automatic reply: I'm on vacation until {date} with no access to messages. I will respond after my return.",
    "Out of office: I am away until {date}. Your message will not be forwarded.",
];

/// Auto-replies without a return date.
const AWAY_OPEN: &[&str] = &[
    "I'm currently out of the office with limited access to messages. I'll reply as soon as I can.",
    "Automatic reply: I am away from the office and will respond when I'm back.",
    "Out of office: I'm travelling at the moment and checking messages only occasionally.",
];

/// A real reply, picked by a uniform draw.
pub(crate) fn reply(u: f64) -> String {
    pick(REPLIES, u).to_owned()
}

/// An out-of-office text; `returns` is the announced return date, if the lead gives one.
pub(crate) fn out_of_office(u: f64, returns: Option<NaiveDate>) -> String {
    match returns {
        Some(date) => pick(AWAY_UNTIL, u).replace("{date}", &date.format("%B %-d, %Y").to_string()),
        None => pick(AWAY_OPEN, u).to_owned(),
    }
}

fn pick<'a>(texts: &[&'a str], u: f64) -> &'a str {
    let index = ((u.clamp(0.0, 1.0) * texts.len() as f64) as usize).min(texts.len() - 1);
    texts[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_dates_are_written_out_in_words() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 12).expect("valid date");
        let text = out_of_office(0.0, Some(date));
        assert_eq!(
            text,
            "I'm out of the office until March 12, 2026 with limited access to email. I'll get back to you when I return."
        );
        assert!(!out_of_office(0.5, None).contains("2026"));
    }

    #[test]
    fn every_draw_picks_a_text() {
        assert_eq!(reply(0.0), REPLIES[0]);
        assert_eq!(reply(0.999_999), REPLIES[REPLIES.len() - 1]);
        assert_eq!(reply(1.5), REPLIES[REPLIES.len() - 1]);
    }
}
