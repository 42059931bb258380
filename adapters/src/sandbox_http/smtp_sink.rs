//! A small SMTP server on 127.0.0.1 (RFC 5321 subset: EHLO/HELO, AUTH PLAIN/LOGIN accepted,
//! MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS): the sandbox's mail relay, and the relay of the
//! SMTP adapter's tests. What to answer to a mail is the handler's choice, including the
//! misbehaviours a real relay shows: refusing, stalling, hanging up before answering.

use async_trait::async_trait;
use base64::Engine as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A mail as the sink received it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender (`MAIL FROM`).
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`).
    pub rcpt_to: Vec<String>,
    /// The `Message-ID` header.
    pub message_id: Option<String>,
    /// The `Subject` header, decoded.
    pub subject: String,
    /// The body, decoded (quoted-printable and base64 are understood).
    pub body: String,
    /// Whether the client authenticated.
    pub authenticated: bool,
}

/// What the sink answers to a mail's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// 250: taken.
    Accept,
    /// Refused with this code (4xx or 5xx) and text.
    Reject(u16, String),
    /// Never answer (the client times out).
    Stall,
    /// Close the connection without answering (the answer is lost).
    HangUp,
}

/// Decides what happens to each mail.
#[async_trait]
pub trait MailHandler: Send + Sync + 'static {
    /// The verdict on a complete mail.
    async fn on_mail(&self, mail: &ReceivedMail) -> Verdict;
}

/// Accepts everything.
pub struct AcceptAll;

#[async_trait]
impl MailHandler for AcceptAll {
    async fn on_mail(&self, _mail: &ReceivedMail) -> Verdict {
        Verdict::Accept
    }
}

/// A running sink; dropping it does not stop it, `stop` does.
pub struct SmtpSink {
    addr: SocketAddr,
    accepted: Arc<Mutex<Vec<ReceivedMail>>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts a sink on 127.0.0.1 at a free port.
    pub async fn start(handler: Arc<dyn MailHandler>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let handler = Arc::clone(&handler);
                let kept = Arc::clone(&kept);
                tokio::spawn(async move {
                    let _ = session(stream, handler, kept).await;
                });
            }
        });
        Ok(Self {
            addr,
            accepted,
            task,
        })
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The mails answered 250, in order.
    pub fn accepted(&self) -> Vec<ReceivedMail> {
        self.accepted
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Stops listening (sessions in progress end with their connection).
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Longest line or mail the sink reads (a runaway client is cut off).
const MAX_MAIL: usize = 1 << 20;

async fn session(
    stream: TcpStream,
    handler: Arc<dyn MailHandler>,
    accepted: Arc<Mutex<Vec<ReceivedMail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut mail = ReceivedMail::default();
    let mut authenticated = false;
    write.write_all(b"220 sandbox ESMTP ready\r\n").await?;
    loop {
        let Some(line) = read_line(&mut lines).await? else {
            return Ok(());
        };
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sandbox\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 1048576\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sandbox\r\n"
        } else if upper.starts_with("AUTH PLAIN") {
            if upper.trim() == "AUTH PLAIN" {
                write.write_all(b"334 \r\n").await?;
                read_line(&mut lines).await?;
            }
            authenticated = true;
            b"235 2.7.0 authenticated\r\n"
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            read_line(&mut lines).await?;
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            read_line(&mut lines).await?;
            authenticated = true;
            b"235 2.7.0 authenticated\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail = ReceivedMail {
                mail_from: address(&line["MAIL FROM:".len()..]),
                authenticated,
                ..ReceivedMail::default()
            };
            b"250 2.1.0 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.rcpt_to.push(address(&line["RCPT TO:".len()..]));
            b"250 2.1.5 ok\r\n"
        } else if upper.starts_with("DATA") {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let data = read_data(&mut lines).await?;
            parse_data(&data, &mut mail);
            match handler.on_mail(&mail).await {
                Verdict::Accept => {
                    let n = {
                        let mut kept = accepted.lock().unwrap_or_else(|e| e.into_inner());
                        kept.push(mail.clone());
                        kept.len()
                    };
                    write
                        .write_all(format!("250 2.0.0 queued as sink-{n}\r\n").as_bytes())
                        .await?;
                }
                Verdict::Reject(code, text) => {
                    write
                        .write_all(format!("{code} {text}\r\n").as_bytes())
                        .await?;
                }
                Verdict::Stall => {
                    // Hold the connection open, silent, until the client gives up.
                    let mut sink = Vec::new();
                    let _ = tokio::io::AsyncReadExt::read_to_end(&mut lines, &mut sink).await;
                    return Ok(());
                }
                Verdict::HangUp => return Ok(()),
            }
            continue;
        } else if upper.starts_with("RSET") {
            mail = ReceivedMail::default();
            b"250 2.0.0 ok\r\n"
        } else if upper.starts_with("NOOP") {
            b"250 2.0.0 ok\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 command not recognised\r\n"
        };
        write.write_all(reply).await?;
    }
}

async fn read_line<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    let n = reader.read_line(&mut line).await?;
    if n == 0 || line.len() > MAX_MAIL {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// The data up to the lone `.`, dot-stuffing undone.
async fn read_data<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<String> {
    let mut data = String::new();
    while let Some(line) = read_line(reader).await? {
        if line == "." {
            break;
        }
        data.push_str(line.strip_prefix('.').unwrap_or(&line));
        data.push('\n');
        if data.len() > MAX_MAIL {
            break;
        }
    }
    Ok(data)
}

/// `<a@b>` (with parameters after it) → `a@b`.
fn address(text: &str) -> String {
    let text = text.trim();
    match (text.find('<'), text.find('>')) {
        (Some(start), Some(end)) if start < end => text[start + 1..end].to_string(),
        _ => text.split_whitespace().next().unwrap_or("").to_string(),
    }
}

fn parse_data(data: &str, mail: &mut ReceivedMail) {
    let (head, body) = data.split_once("\n\n").unwrap_or((data, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim_start_matches([' ', '\t']));
                continue;
            }
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    mail.message_id = header("message-id");
    mail.subject = header("subject")
        .map(|s| decode_words(&s))
        .unwrap_or_default();
    let encoding = header("content-transfer-encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    mail.body = match encoding.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default(),
        "quoted-printable" => quoted_printable(body),
        _ => body.strip_suffix('\n').unwrap_or(body).to_string(),
    };
}

/// RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`); the space between two
/// encoded words is dropped, as the RFC says.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<bool> = None;
    for token in value.split(' ') {
        let decoded = token
            .strip_prefix("=?")
            .and_then(|t| t.strip_suffix("?="))
            .and_then(|t| {
                let mut parts = t.splitn(3, '?');
                let (_charset, enc, text) = (parts.next()?, parts.next()?, parts.next()?);
                match enc.to_ascii_lowercase().as_str() {
                    "b" => base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .ok()
                        .and_then(|b| String::from_utf8(b).ok()),
                    "q" => Some(quoted_printable(&text.replace('_', " "))),
                    _ => None,
                }
            });
        let is_word = decoded.is_some();
        if previous.is_some() && !(previous == Some(true) && is_word) {
            out.push(' ');
        }
        out.push_str(decoded.as_deref().unwrap_or(token));
        previous = Some(is_word);
    }
    out
}

/// Quoted-printable: `=XX` bytes, `=` at a line's end joins it to the next.
fn quoted_printable(text: &str) -> String {
    let text = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<&str> = text.split('\n').collect();
    let mut bytes = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let (line, soft) = match line.strip_suffix('=') {
            Some(l) => (l, true),
            None => (*line, false),
        };
        let raw = line.as_bytes();
        let mut i = 0;
        while i < raw.len() {
            let escaped = (raw[i] == b'=')
                .then(|| line.get(i + 1..i + 3))
                .flatten()
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match escaped {
                Some(b) => {
                    bytes.push(b);
                    i += 3;
                }
                None => {
                    bytes.push(raw[i]);
                    i += 1;
                }
            }
        }
        if !soft && n + 1 < lines.len() {
            bytes.push(b'\n');
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_subjects_and_bodies_are_decoded() {
        assert_eq!(
            decode_words("=?utf-8?b?Q2Fmw6k=?= =?utf-8?q?_au_lait?= now"),
            "Café au lait now"
        );
        assert_eq!(
            quoted_printable("Caf=C3=A9 =\nlong\nnext\n"),
            "Café long\nnext"
        );
        let mut mail = ReceivedMail::default();
        parse_data(
            "Subject: Hello\n there\nMessage-ID: <a@b>\n\nline one\n..dotted\n",
            &mut mail,
        );
        assert_eq!(mail.subject, "Hello there");
        assert_eq!(mail.message_id.as_deref(), Some("<a@b>"));
        assert_eq!(mail.body, "line one\n..dotted");
        assert_eq!(address(" <ada@x.io> SIZE=12"), "ada@x.io");
    }
}
