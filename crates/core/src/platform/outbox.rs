//! The outbox: every message leaves through here, written in the same transaction as the change
//! that caused it and delivered by a worker with retries and backoff.
//!
//! A message is sealed at rest (the address and the text are personal data) under the vault's
//! outbox key and purged once delivered. Its Message-ID is fixed when it is written, so a
//! delivery repeated after a crash carries the same one. A worker claims messages with a lease;
//! a worker that dies mid-delivery loses its lease and another delivers them.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vintrova_vault::Place;

use crate::values::InvalidInput;
use crate::words::words;
use crate::{CoreError, Result, Vintrova};

/// A message as it leaves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub message_id: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    /// A text file travelling with the message (an erasure receipt).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub file_name: String,
    pub text: String,
}

/// How mail leaves: SMTP, a directory of `.eml` files, a test's recorder.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, email: &Email) -> Result<(), String>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sending,
    Sent,
    Failed,
}

words!(OutboxState {
    Pending => "pending",
    Sending => "sending",
    Sent => "sent",
    Failed => "failed",
});

/// A message in the outbox as stored: sealed until delivered, then purged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: Uuid,
    pub subject: Option<Uuid>,
    /// What caused it (`notice:course_update`, …): no PD.
    pub kind: String,
    pub message_id: String,
    pub sealed: Option<Vec<u8>>,
    pub state: OutboxState,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
}

/// What one delivery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub sent: u64,
    pub retried: u64,
    pub failed: u64,
}

/// How long a claim lasts before another worker may take the message over.
pub const LEASE: SignedDuration = SignedDuration::from_mins(5);
/// Waits between attempts; after the last, the message is marked failed for staff to see.
const BACKOFF_MINUTES: [i64; 6] = [1, 5, 30, 120, 720, 1440];

fn place(id: &str) -> Place<'_> {
    Place {
        subject: Uuid::nil(),
        table: "outbox",
        column: "sealed",
        row: id,
    }
}

impl Vintrova {
    /// Keep the language `subject` asked to be written in: one of the policy's locales.
    pub async fn set_language(&self, subject: Uuid, locale: &str) -> Result<()> {
        let locale = self.known_locale(locale)?;
        self.require_subject(subject).await?;
        self.store()
            .set_language(subject, &locale, self.now())
            .await?;
        Ok(())
    }

    /// `locale` if the site speaks it.
    pub fn known_locale(&self, locale: &str) -> Result<String, InvalidInput> {
        let locale = locale.trim();
        let locales = &self.policy().locales;
        if !locales.iter().any(|l| l == locale) {
            return Err(InvalidInput::one(
                "locale",
                "is not a language the site speaks",
                format!("one of {}", locales.join(", ")),
            ));
        }
        Ok(locale.to_string())
    }

    /// The language to write to `subject` in: the one they chose, or the policy's default.
    pub(crate) async fn language_of(&self, subject: Uuid) -> Result<String> {
        Ok(self
            .store()
            .language(subject)
            .await?
            .unwrap_or_else(|| self.policy().default_locale.clone()))
    }

    /// Mail the data protection service (the policy's contact address) once per `message_id`:
    /// reminders and the audit head. `false` when that message was queued already.
    pub(crate) async fn tell_the_service(
        &self,
        message_id: String,
        kind: &str,
        title: &str,
        body: &str,
    ) -> Result<bool> {
        let to = self.policy().contact.email.clone();
        let entry = self.outbox_entry_as(Uuid::now_v7(), message_id, None, kind, &to, title, body);
        Ok(self.store().enqueue(&entry).await?)
    }

    /// A message ready to be written with the change that causes it.
    pub(crate) fn outbox_entry(
        &self,
        subject: Option<Uuid>,
        kind: &str,
        to: &str,
        title: &str,
        body: &str,
    ) -> OutboxEntry {
        let id = Uuid::now_v7();
        self.outbox_entry_as(
            id,
            format!("<{id}@vintrova.outbox>"),
            subject,
            kind,
            to,
            title,
            body,
        )
    }

    /// A message with a Message-ID the caller chose: the same event always makes the same
    /// message, and the outbox keeps one message per Message-ID.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn outbox_entry_as(
        &self,
        id: Uuid,
        message_id: String,
        subject: Option<Uuid>,
        kind: &str,
        to: &str,
        title: &str,
        body: &str,
    ) -> OutboxEntry {
        let email = Email {
            message_id,
            to: to.to_string(),
            subject: title.to_string(),
            body: body.to_string(),
            attachment: None,
        };
        self.outbox_message(id, subject, kind, &email)
    }

    /// A message sealed as it is, attachment and all.
    pub(crate) fn outbox_message(
        &self,
        id: Uuid,
        subject: Option<Uuid>,
        kind: &str,
        email: &Email,
    ) -> OutboxEntry {
        let plaintext = serde_json::to_vec(email).expect("an email serializes");
        OutboxEntry {
            id,
            subject,
            kind: kind.to_string(),
            sealed: Some(vintrova_vault::seal(
                self.vault().outbox(),
                &place(&id.to_string()),
                &plaintext,
            )),
            message_id: email.message_id.clone(),
            state: OutboxState::Pending,
            attempts: 0,
            next_attempt_at: self.now(),
            created_at: self.now(),
        }
    }

    /// Claim what is due, send it, and record the outcome. Safe to run on several servers at
    /// once: each message is claimed by one, under a lease.
    pub async fn deliver(&self, transport: &dyn Transport, limit: i64) -> Result<Delivery> {
        let claimed = self.claim_outbox(limit).await?;
        let mut report = Delivery::default();
        for entry in claimed {
            let outcome = match self.open_message(&entry) {
                Ok(email) => transport.send(&email).await,
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(()) => {
                    // Cut short here, the claim's lease runs out and the message goes again
                    // with the same Message-ID: once, or again as the same message.
                    crate::crash::point(crate::crash::OUTBOX_SENT);
                    self.store()
                        .finish_outbox(
                            entry.id,
                            OutboxState::Sent,
                            entry.attempts + 1,
                            self.now(),
                            true,
                        )
                        .await?;
                    report.sent += 1;
                }
                Err(reason) => {
                    let attempts = entry.attempts + 1;
                    let (state, wait) = match BACKOFF_MINUTES.get(attempts as usize - 1) {
                        Some(minutes) => {
                            (OutboxState::Pending, SignedDuration::from_mins(*minutes))
                        }
                        None => (OutboxState::Failed, SignedDuration::ZERO),
                    };
                    // The reason may name the address (SMTP errors do): log only its length.
                    tracing::warn!(message = %entry.id, attempts, reason_len = reason.len(), "delivery failed");
                    let next = self
                        .now()
                        .checked_add(wait)
                        .map_err(|e| CoreError::Internal(e.to_string()))?;
                    self.store()
                        .finish_outbox(entry.id, state, attempts, next, false)
                        .await?;
                    if state == OutboxState::Failed {
                        report.failed += 1;
                    } else {
                        report.retried += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    /// Claim up to `limit` due messages for this worker (the first half of a delivery).
    pub async fn claim_outbox(&self, limit: i64) -> Result<Vec<OutboxEntry>> {
        let now = self.now();
        let lease = now
            .checked_add(LEASE)
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        Ok(self.store().claim_outbox(now, lease, limit).await?)
    }

    /// Unseal a claimed message.
    pub fn open_message(&self, entry: &OutboxEntry) -> Result<Email> {
        let unreadable =
            || CoreError::Internal(format!("outbox message {} does not open", entry.id));
        let sealed = entry.sealed.as_deref().ok_or_else(unreadable)?;
        let plaintext =
            vintrova_vault::open(self.vault().outbox(), &place(&entry.id.to_string()), sealed)
                .ok_or_else(unreadable)?;
        serde_json::from_slice(&plaintext).map_err(|_| unreadable())
    }
}
