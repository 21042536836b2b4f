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
    /// `url` as lettre reads it: `smtp://host:25` (plain), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://user:pass@host` (TLS).
    pub fn new(url: &str, from: &str) -> Result<Self, String> {
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
