//! The default transport: each message becomes an RFC 5322 `.eml` file in the data
//! directory's `mail/` drop, named after its Message-ID, so a repeat after a crash overwrites the
//! same file. SMTP is the next transport (issue 4); this one needs nothing installed.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use vintrova_core::outbox::{Email, Transport};

pub struct FileTransport {
    dir: PathBuf,
    from: String,
}

impl FileTransport {
    pub fn new(dir: PathBuf, from: &str) -> Self {
        FileTransport {
            dir,
            from: from.to_string(),
        }
    }
}

/// A header value in RFC 2047 encoded-word form, so Cyrillic and Kazakh subjects survive.
fn encoded(text: &str) -> String {
    if text.is_ascii() {
        text.to_string()
    } else {
        format!("=?utf-8?B?{}?=", STANDARD.encode(text))
    }
}

/// Base64 in lines of 76, as MIME wants it.
fn base64_lines(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

const TEXT: &str = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64";

fn render(email: &Email, from: &str) -> String {
    let date = jiff::Timestamp::now().strftime("%a, %d %b %Y %H:%M:%S +0000");
    let body = base64_lines(email.body.as_bytes());
    let content = match &email.attachment {
        None => format!("{TEXT}\r\n\r\n{body}\r\n"),
        // Base64 keeps the attachment's bytes exact: a signed receipt must arrive unchanged.
        Some(file) => {
            // Base64 has no '-', so no line of a part can look like the boundary.
            let boundary: String = email
                .message_id
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            let boundary = format!("--vintrova-{boundary}");
            format!(
                "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n\
                 --{boundary}\r\n{TEXT}\r\n\r\n{body}\r\n\
                 --{boundary}\r\n{TEXT}\r\nContent-Disposition: attachment; filename=\"{}\"\r\n\r\n{}\r\n\
                 --{boundary}--\r\n",
                file.file_name,
                base64_lines(file.text.as_bytes()),
            )
        }
    };
    format!(
        "Message-ID: {}\r\nDate: {date}\r\nFrom: Vintrova <{from}>\r\nTo: {}\r\nSubject: {}\r\nMIME-Version: 1.0\r\n{content}",
        email.message_id,
        email.to,
        encoded(&email.subject),
    )
}

#[async_trait::async_trait]
impl Transport for FileTransport {
    async fn send(&self, email: &Email) -> Result<(), String> {
        let name: String = email
            .message_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
            .collect();
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| format!("cannot create the mail drop: {e}"))?;
        let path = self.dir.join(format!("{name}.eml"));
        let partial = self.dir.join(format!("{name}.eml.partial"));
        tokio::fs::write(&partial, render(email, &self.from))
            .await
            .map_err(|e| format!("cannot write a message: {e}"))?;
        tokio::fs::rename(&partial, &path)
            .await
            .map_err(|e| format!("cannot finish a message: {e}"))
    }
}
