//! The mailbox as an intake: letters to the data protection service's address (the policy's
//! channel for rights), read by `serve` over IMAP, wait in the inbox until staff say what each
//! asks — which right, or that it is not a request. A letter's 30 days count from its arrival at
//! the mailbox, not from when staff get to it; classified, it becomes a held letter exactly as
//! one entered by hand (the code goes to its sender, keeping the letter's id).
//!
//! The sender, subject and text are sealed under the outbox key; a letter is found again only by
//! a keyed digest of its Message-ID, which is what makes two servers reading one mailbox make
//! one letter.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::intake::LetterReceived;
use super::{AnswerChannel, held_place};
use crate::audit::Action;
use crate::rights::{RightKind, deadline};
use crate::values::InvalidInput;
use crate::{Actor, CoreError, Result, Vintrova, names};

/// A message as the mailbox gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrivedMail {
    pub message_id: String,
    /// When the mail server received it (IMAP's INTERNALDATE).
    pub received_at: Timestamp,
    pub from: String,
    pub subject: String,
    pub body: String,
}

/// What is sealed of a letter in the inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Sealed {
    from: String,
    subject: String,
    body: String,
}

/// A letter in the inbox as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRow {
    pub id: Uuid,
    /// Keyed digest of the Message-ID: one row per message, whichever server read it.
    pub digest: Vec<u8>,
    pub sealed: Vec<u8>,
    pub locale: String,
    pub received_at: Timestamp,
}

/// A letter waiting to be classified, as the queue lists it: never who wrote or what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxItem {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    /// The language it was written in, to answer in.
    pub locale: String,
    /// The 30 days counted from its arrival.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due_on: Date,
}

/// A letter opened for classification (the opening is audited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboxLetter {
    pub item: InboxItem,
    pub from: String,
    pub subject: String,
    pub body: String,
}

/// The language a letter is written in: Kazakh by its own letters, Russian by Cyrillic, English
/// by Latin — the one of `locales` that fits, else `default`.
pub fn detect_language(text: &str, locales: &[String], default: &str) -> String {
    const KAZAKH: &str = "әғқңөұүһіӘҒҚҢӨҰҮҺІ";
    let (mut kazakh, mut cyrillic, mut latin) = (0, 0, 0);
    for c in text.chars() {
        if KAZAKH.contains(c) {
            kazakh += 1;
        } else if ('\u{0400}'..='\u{04FF}').contains(&c) {
            cyrillic += 1;
        } else if c.is_ascii_alphabetic() {
            latin += 1;
        }
    }
    let guess = if kazakh > 0 && kazakh * 50 >= cyrillic {
        "kk"
    } else if cyrillic > latin {
        "ru"
    } else if latin > 0 {
        "en"
    } else {
        default
    };
    match locales.iter().any(|l| l == guess) {
        true => guess.to_string(),
        false => default.to_string(),
    }
}

/// A request description from a letter: its subject and text, within the field's length.
fn description(subject: &str, body: &str) -> String {
    const MAX: usize = 5000;
    let text = match subject.trim() {
        "" => body.trim().to_string(),
        subject => format!("{subject}\n\n{}", body.trim()),
    };
    match text.char_indices().nth(MAX - 1) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

impl Vintrova {
    /// Put a letter from the mailbox in the inbox, with its arrival time; `None` when it is
    /// there already (read before, or by another server).
    pub async fn mail_arrived(&self, actor: &Actor, mail: &ArrivedMail) -> Result<Option<Uuid>> {
        let id = Uuid::now_v7();
        let policy = self.policy();
        let locale = detect_language(
            &format!("{} {}", mail.subject, mail.body),
            &policy.locales,
            &policy.default_locale,
        );
        let sealed = Sealed {
            from: mail.from.trim().to_string(),
            subject: mail.subject.clone(),
            body: mail.body.clone(),
        };
        let row = InboxRow {
            id,
            digest: self
                .vault()
                .blind_index()
                .digest("mail.message_id", mail.message_id.trim())
                .to_vec(),
            sealed: vintrova_vault::seal(
                self.vault().outbox(),
                &held_place("inbox", &id.to_string()),
                &serde_json::to_vec(&sealed).expect("a letter serializes"),
            ),
            locale,
            // A server clock behind the mail server's must not put the arrival in the future.
            received_at: mail.received_at.min(self.now()),
        };
        let audit = self.draft(
            actor,
            Action::ReceiveRequest,
            None,
            vec![names::CONTACT.into()],
            Some(format!("mail:{id}@received:{}", row.received_at)),
        );
        let written = self
            .audited(async |sealer| self.store().put_inbox(&row, &audit, sealer).await)
            .await?;
        Ok(written.map(|()| id))
    }

    /// The letters waiting to be classified, the oldest first.
    pub async fn inbox(&self) -> Result<Vec<InboxItem>> {
        Ok(self
            .store()
            .inbox()
            .await?
            .iter()
            .map(|row| self.item(row))
            .collect())
    }

    /// Open a letter to classify it: who wrote and what. Audited as a read of its contact data.
    pub async fn open_inbox_letter(&self, actor: &Actor, id: Uuid) -> Result<InboxLetter> {
        let row = self.inbox_row(id).await?;
        let sealed = self.open_inbox(&row)?;
        self.log(self.draft(
            actor,
            Action::Read,
            None,
            vec![names::CONTACT.into()],
            Some(format!("mail:{id}")),
        ))
        .await?;
        Ok(InboxLetter {
            item: self.item(&row),
            from: sealed.from,
            subject: sealed.subject,
            body: sealed.body,
        })
    }

    /// The letter asks for `right`: it becomes a held letter (same id), a code goes to its
    /// sender in the language it was written in, and its 30 days still count from its arrival.
    pub async fn classify_letter(
        &self,
        actor: &Actor,
        id: Uuid,
        right: RightKind,
    ) -> Result<LetterReceived> {
        let row = self.inbox_row(id).await?;
        let sealed = self.open_inbox(&row)?;
        self.letter_received_as(
            id,
            actor,
            (&sealed.from, right),
            &description(&sealed.subject, &sealed.body),
            AnswerChannel::Email,
            (Some(row.received_at), Some(&row.locale)),
        )
        .await
    }

    /// The letter asks for nothing Vintrova answers (spam, a question for support): it leaves
    /// the inbox, and the log says who decided.
    pub async fn dismiss_letter(&self, actor: &Actor, id: Uuid) -> Result<()> {
        let audit = self.draft(
            actor,
            Action::DismissLetter,
            None,
            vec![names::CONTACT.into()],
            Some(format!("mail:{id}")),
        );
        self.audited(async |sealer| self.store().dismiss_inbox(id, &audit, sealer).await)
            .await?
            .ok_or_else(|| unknown(id))
    }

    async fn inbox_row(&self, id: Uuid) -> Result<InboxRow> {
        self.store().inbox_row(id).await?.ok_or_else(|| unknown(id))
    }

    fn open_inbox(&self, row: &InboxRow) -> Result<Sealed> {
        vintrova_vault::open(
            self.vault().outbox(),
            &held_place("inbox", &row.id.to_string()),
            &row.sealed,
        )
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or_else(|| {
            CoreError::Internal(format!(
                "letter {} in the inbox does not open: it was altered or moved in the database",
                row.id
            ))
        })
    }

    fn item(&self, row: &InboxRow) -> InboxItem {
        InboxItem {
            id: row.id,
            received_at: row.received_at,
            locale: row.locale.clone(),
            due_on: deadline(row.received_at, &self.policy().zone()).due_on,
        }
    }
}

fn unknown(id: Uuid) -> CoreError {
    InvalidInput::one(
        "letter",
        format!("{id} is not a letter waiting in the inbox"),
        "a letter the inbox lists (another officer may have classified it)",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locales() -> Vec<String> {
        ["ru", "kk", "en"].map(String::from).to_vec()
    }

    #[test]
    fn a_letter_is_answered_in_the_language_it_was_written_in() {
        let guess = |text| detect_language(text, &locales(), "ru");
        assert_eq!(guess("Менің деректерімді жоюыңызды сұраймын"), "kk");
        assert_eq!(guess("Прошу удалить мои персональные данные"), "ru");
        assert_eq!(guess("Please delete my personal data"), "en");
        assert_eq!(guess("12345"), "ru", "nothing to go by: the default");
        assert_eq!(
            detect_language("Please delete my data", &["ru".into()], "ru"),
            "ru",
            "a language the site does not speak: the default"
        );
    }

    #[test]
    fn a_long_letter_is_cut_to_the_description_field() {
        let long = "д".repeat(6000);
        let cut = description("Тема", &long);
        assert_eq!(cut.chars().count(), 5000);
        assert!(cut.starts_with("Тема\n\n") && cut.ends_with('…'));
        assert_eq!(description("", " текст "), "текст");
    }
}
