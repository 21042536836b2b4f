//! SMTP delivery. The Message-ID the outbox fixed travels in the message, so a repeat after a
//! crash is recognisably the same message.

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, Message, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use vintrova_core::outbox::{Email, Transport};

pub struct SmtpTransport {
    inner: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpTransport {
    /// `url` as lettre reads it: `smtps://user:pass@host` (TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or `smtp://127.0.0.1:25` (plain, to a
    /// relay on this machine only: mail carries people's data and leaves encrypted, R7.1).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
        encrypted_or_local(url)?;
        let inner = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("the SMTP URL is not usable: {e}"))?
            .build();
        let from = format!("Vintrova <{from}>")
            .parse()
            .map_err(|e| format!("the sender address is not an address: {e}"))?;
        Ok(SmtpTransport { inner, from })
    }
}

#[async_trait::async_trait]
impl Transport for SmtpTransport {
    async fn send(&self, email: &Email) -> Result<(), String> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|_| "the recipient is not an address".to_string())?;
        let builder = Message::builder()
            .message_id(Some(email.message_id.clone()))
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.clone());
        let message = match &email.attachment {
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.body.clone()),
            Some(file) => builder.multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(email.body.clone()))
                    // Base64, so no relay rewrites a line ending of a signed receipt.
                    .singlepart(
                        Attachment::new(file.file_name.clone()).body(
                            Body::new_with_encoding(
                                file.text.clone(),
                                ContentTransferEncoding::Base64,
                            )
                            .map_err(|_| "the attachment cannot be encoded".to_string())?,
                            ContentType::TEXT_PLAIN,
                        ),
                    ),
            ),
        }
        .map_err(|e| format!("the message cannot be built: {e}"))?;
        self.inner
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("the SMTP server refused: {e}"))
    }
}

/// Mail leaves encrypted: implicit TLS (`smtps://`) or STARTTLS required (`tls=required`); plain
/// SMTP only to a relay on this machine, which then carries it on.
fn encrypted_or_local(url: &str) -> Result<(), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or("the SMTP URL has no scheme; use smtps://… or smtp://…?tls=required")?;
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, query),
        None => (rest, ""),
    };
    let authority = authority.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    let starttls = query
        .split('&')
        .any(|pair| pair.eq_ignore_ascii_case("tls=required"));
    let local = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme {
        "smtps" => Ok(()),
        "smtp" if starttls || local => Ok(()),
        "smtp" => Err(format!(
            "mail to {host} would leave in clear: use smtps://…@{host} (TLS) or smtp://…@{host}:587?tls=required (STARTTLS); plain smtp:// is for a relay on this machine only (127.0.0.1, localhost)"
        )),
        other => Err(format!(
            "`{other}://` is not an SMTP URL; use smtps://… or smtp://…?tls=required"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::encrypted_or_local;

    #[test]
    fn mail_leaves_encrypted_or_only_to_a_relay_on_this_machine() {
        for ok in [
            "smtps://user:secret@mail.example.kz",
            "smtp://user:secret@mail.example.kz:587?tls=required",
            "smtp://127.0.0.1:25",
            "smtp://localhost:2525",
            "smtp://[::1]:25",
        ] {
            assert!(encrypted_or_local(ok).is_ok(), "{ok}");
        }
        for refused in [
            "smtp://user:secret@mail.example.kz:25",
            "smtp://mail.example.kz:587?tls=opportunistic",
            "smtp://10.0.0.5:25",
            "http://mail.example.kz",
        ] {
            let said = encrypted_or_local(refused).unwrap_err();
            assert!(
                !said.contains("secret"),
                "the password is not repeated: {said}"
            );
        }
        assert!(
            encrypted_or_local("smtp://mail.example.kz:25")
                .unwrap_err()
                .contains("tls=required")
        );
    }
}
