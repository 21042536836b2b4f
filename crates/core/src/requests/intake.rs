//! Intake: requests that come by letter — from an address, held apart from people until its code
//! comes back, or from a person the letter names by id — and the codes that prove them.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::claims::Claim;
use super::{
    AnswerChannel, CODE_ATTEMPTS, CodeRecord, Request, RequestState, VerificationError,
    code_digest, held_place, new_code,
};
use crate::audit::Action;
use crate::letters::Letter as Written;
use crate::names;
use crate::rights::{RightKind, deadline};
use crate::values::{InvalidInput, Refused};
use crate::{Actor, Collection, CoreError, Result, Vintrova};

/// A letter from an address not yet proven, as stored until its code comes back: what it asks,
/// sealed under the outbox key (address, right, description, channel), and its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LetterRecord {
    pub id: Uuid,
    pub sealed: Vec<u8>,
    pub code: CodeRecord,
    pub received_at: Timestamp,
}

/// What a letter asks, as sealed in its record.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Letter {
    email: String,
    right: RightKind,
    description: String,
    channel: AnswerChannel,
    /// The language it was written in, when staff said: its writer's from then on.
    #[serde(default)]
    locale: Option<String>,
}

/// What a held record carries until its code comes back: a letter, or the registration of an
/// address a letter-writer already holds. Told apart by their fields, so letters sealed before
/// claims existed still open as letters.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Held {
    Letter(Letter),
    Claim(Claim),
}

/// The answer to a letter: the same for every address — no person's id, nothing that tells
/// a known address from an unknown one. The request keeps this id once the code comes back.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LetterReceived {
    pub id: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub right: RightKind,
    pub state: RequestState,
    pub channel: AnswerChannel,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due_on: Date,
}

/// When a letter arrived, as staff write it (RFC 3339 with its offset): for the API and the CLI.
pub fn arrival_time(raw: &str) -> Result<Timestamp, InvalidInput> {
    raw.trim().parse().map_err(|_| {
        InvalidInput::one(
            "received_at",
            "is not a time with its offset",
            "RFC 3339, such as 2026-11-27T09:30:00+05:00",
        )
    })
}

/// A letter still held, as staff see it: no address, no description.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LetterWaiting {
    #[serde(flatten)]
    pub letter: LetterReceived,
    /// Its code ran out unanswered: the next sweep removes it.
    pub code_expired: bool,
}

impl Vintrova {
    /// A request that came by letter from an address, entered by staff. It is held as a letter,
    /// apart from people: a code goes to the address, and only when it comes back does the
    /// letter become a request — of whoever holds the address, or of a new person who then
    /// holds it. Until then nothing about anyone is stored, a letter never blocks a later
    /// registration, and an unproven letter goes when its code expires. The work done and the
    /// answer are the same for every address, known or not.
    pub async fn request_by_email(
        &self,
        actor: &Actor,
        email: &str,
        right: RightKind,
        description: &str,
        channel: AnswerChannel,
    ) -> Result<LetterReceived> {
        self.letter_received(actor, email, right, description, channel, (None, None))
            .await
    }

    /// [`Vintrova::request_by_email`] for a letter that arrived at `received` (staff enter it
    /// later; by default, now): the 30 days count from its arrival (R6.3), and the audit entry
    /// keeps both times.
    pub async fn letter_received(
        &self,
        actor: &Actor,
        email: &str,
        right: RightKind,
        description: &str,
        channel: AnswerChannel,
        (received, locale): (Option<Timestamp>, Option<&str>),
    ) -> Result<LetterReceived> {
        self.letter_received_as(
            Uuid::now_v7(),
            actor,
            (email, right),
            description,
            channel,
            (received, locale),
        )
        .await
    }

    /// [`Vintrova::letter_received`] under a given id: a letter from the mailbox keeps its id,
    /// and holding it takes it out of the inbox in the same transaction.
    pub(super) async fn letter_received_as(
        &self,
        id: Uuid,
        actor: &Actor,
        (email, right): (&str, RightKind),
        description: &str,
        channel: AnswerChannel,
        (received, locale): (Option<Timestamp>, Option<&str>),
    ) -> Result<LetterReceived> {
        let received_at = self.arrival(received)?;
        let locale = locale.map(|l| self.known_locale(l)).transpose()?;
        let values = self.parse_json(&json!({"contact": {"email": email}}))?;
        let email = values[0].index_form.clone().unwrap_or_default();
        // Checked now, so a refused letter stores nothing.
        self.parse_json(&json!({"contact": {"request_description": description}}))?;
        let letter = Letter {
            email,
            right,
            description: description.to_string(),
            channel,
            locale,
        };
        let audit = self.draft(
            actor,
            Action::ReceiveRequest,
            None,
            vec![names::CONTACT.into()],
            Some(format!("letter:{id}@received:{received_at}")),
        );
        let held = Held::Letter(letter);
        self.hold(
            id,
            (&held, None),
            received_at,
            |code| Written::RequestCode { code },
            &audit,
        )
        .await?;
        let Held::Letter(letter) = held else {
            unreachable!("held as a letter")
        };
        Ok(self.received(id, &letter, received_at))
    }

    /// Hold a letter or a claim apart from people: sealed under the outbox key, with a code sent
    /// to its address (`message` writes it; for a claim, as mail of the person who holds the
    /// address) in the same transaction. Returns when the code ends.
    pub(super) async fn hold(
        &self,
        id: Uuid,
        (held, holder): (&Held, Option<Uuid>),
        received_at: Timestamp,
        letter: for<'c> fn(&'c str) -> Written<'c>,
        audit: &crate::audit::AuditDraft,
    ) -> Result<Timestamp> {
        let (email, locale) = match held {
            Held::Letter(letter) => (&letter.email, letter.locale.as_deref()),
            Held::Claim(claim) => (&claim.email, None),
        };
        let locale = locale.unwrap_or(&self.policy().default_locale);
        let (code, code_record) = new_code(self, id)?;
        let row = id.to_string();
        let record = LetterRecord {
            id,
            sealed: vintrova_vault::seal(
                self.vault().outbox(),
                &held_place("letters", &row),
                &serde_json::to_vec(held).expect("a held record serializes"),
            ),
            code: code_record,
            received_at,
        };
        let (title, body) = letter(&code).write(locale);
        // A claim's code goes to someone we hold: their erasure takes it with them.
        let message = self.outbox_entry(holder, "request:verification", email, &title, &body);
        self.audited(async |sealer| {
            self.store()
                .insert_letter(&record, &message, audit, sealer)
                .await
        })
        .await?;
        Ok(record.code.expires_at)
    }

    /// How a held letter is described: the same whoever wrote it.
    fn received(&self, id: Uuid, letter: &Letter, received_at: Timestamp) -> LetterReceived {
        LetterReceived {
            id,
            right: letter.right,
            state: RequestState::AwaitingVerification,
            channel: letter.channel,
            received_at,
            due_on: deadline(received_at, &self.policy().zone()).due_on,
        }
    }

    /// The letters still held, for staff: what each asks and when its 30 days end — counted from
    /// its arrival, though it is nobody's request until its code comes back — and whether the
    /// code has run out (the sweep then removes it). Never the address or the description.
    pub async fn letters_waiting(&self) -> Result<Vec<LetterWaiting>> {
        let now = self.now();
        self.store()
            .letters()
            .await?
            .into_iter()
            .filter_map(|record| match self.open_held(&record) {
                Ok(Held::Letter(letter)) => Some(Ok(LetterWaiting {
                    letter: self.received(record.id, &letter, record.received_at),
                    code_expired: record.code.expires_at <= now,
                })),
                // A registration waiting for its code is not a letter to answer.
                Ok(Held::Claim(_)) => None,
                Err(e) => Some(Err(e)),
            })
            .collect()
    }

    pub(super) fn open_held(&self, record: &LetterRecord) -> Result<Held> {
        let plaintext = vintrova_vault::open(
            self.vault().outbox(),
            &held_place("letters", &record.id.to_string()),
            &record.sealed,
        )
        .ok_or_else(|| CoreError::Internal("a held record does not open".into()))?;
        serde_json::from_slice(&plaintext).map_err(|e| CoreError::Internal(e.to_string()))
    }

    /// The code of a letter came back: the letter becomes the request of whoever holds its
    /// address (merged into their open request for the same right, if they have one), or of a
    /// new person who holds it from now — in one transaction with the letter's end.
    async fn admit_letter(
        &self,
        actor: &Actor,
        record: LetterRecord,
        letter: Letter,
    ) -> Result<Request> {
        let values = self.parse_json(&json!({"contact": {"email": letter.email}}))?;
        let holder = self
            .address_holder(values[0].index_form.as_deref().unwrap_or_default())
            .await?;
        let person = match holder {
            Some(_) => None,
            None => Some(
                self.new_subject(
                    &values,
                    Collection {
                        for_request: true,
                        ..Collection::from(names::STAFF_ENTRY)
                    },
                )
                .await?,
            ),
        };
        let subject = holder.unwrap_or_else(|| person.as_ref().expect("a new person").subject.id);
        let open = match holder {
            Some(id) => self.store().open_request(id, letter.right).await?,
            None => None,
        };
        let request = open.clone().unwrap_or_else(|| {
            self.new_request(
                record.id,
                subject,
                (letter.right, letter.channel),
                RequestState::Verified,
                record.received_at,
            )
        });
        let events = match open {
            Some(_) => vec![],
            None => {
                self.description_events(
                    subject,
                    request.id,
                    &letter.description,
                    names::STAFF_ENTRY,
                )
                .await?
            }
        };
        let audit = self.draft(
            actor,
            Action::VerifyRequest,
            Some(subject),
            vec![names::CONTACT.into()],
            Some(format!("letter:{}", record.id)),
        );
        let filed = (request.id == record.id).then_some((&request, events.as_slice()));
        let admitted = self
            .audited(async |sealer| {
                self.store()
                    .admit_letter(record.id, person.as_ref(), filed, &audit, sealer)
                    .await
            })
            .await;
        if !matches!(admitted, Ok(Some(())))
            && let Some(new) = &person
        {
            self.forget_keys(new.subject.id).await;
        }
        match admitted? {
            Some(()) => {
                // The language of the letter is its writer's from now on.
                if let Some(locale) = &letter.locale {
                    self.set_language(subject, locale).await?;
                }
                Ok(request)
            }
            // Another verification admitted it a moment before: the code is spent.
            None => Err(CoreError::Verification(VerificationError::Spent)),
        }
    }

    /// A request by letter from a person known by id (their letter names their account), which
    /// arrived at `received` (by default, now): the code goes to the address on record, and
    /// nothing is disclosed or changed before it comes back.
    pub async fn request_for_subject(
        &self,
        actor: &Actor,
        subject: Uuid,
        (right, channel): (RightKind, AnswerChannel),
        description: &str,
        received: Option<Timestamp>,
    ) -> Result<Request> {
        self.require_subject(subject).await?;
        if let Some(open) = self.store().open_request(subject, right).await? {
            return Ok(open);
        }
        let request = self.new_request(
            Uuid::now_v7(),
            subject,
            (right, channel),
            RequestState::AwaitingVerification,
            self.arrival(received)?,
        );
        let form = self.address_of(&request).await?.ok_or_else(|| {
            InvalidInput::one(
                "subject",
                "has no email address on record to send the verification code to",
                "the address the letter came from, as `email`",
            )
        })?;
        let events = self
            .description_events(subject, request.id, description, names::STAFF_ENTRY)
            .await?;
        let (code, record) = new_code(self, request.id)?;
        let (title, body) =
            Written::RequestCode { code: &code }.write(&self.language_of(subject).await?);
        let message =
            self.outbox_entry(Some(subject), "request:verification", &form, &title, &body);
        let audit = self.draft(
            actor,
            Action::ReceiveRequest,
            Some(subject),
            vec![names::CONTACT.into()],
            None,
        );
        self.audited(async |sealer| {
            self.store()
                .insert_request(
                    &request,
                    &events,
                    Some(&record),
                    Some(&message),
                    &audit,
                    sealer,
                )
                .await
        })
        .await?;
        Ok(request)
    }

    /// Check a code the requester sent back.
    pub async fn verify_request(
        &self,
        actor: &Actor,
        request: Uuid,
        code: &str,
    ) -> Result<Request> {
        if self.store().request(request).await?.is_none()
            && let Some(record) = self.store().letter(request).await?
        {
            // A registration's code proves an address, not a request.
            let Held::Letter(letter) = self.open_held(&record)? else {
                return Err(CoreError::Verification(VerificationError::Spent));
            };
            self.check_code(Some(&record.code), code, true).await?;
            return self.admit_letter(actor, record, letter).await;
        }
        let found = self
            .require_request(request, &[RequestState::AwaitingVerification])
            .await?;
        let record = self.store().request_code(request).await?;
        self.check_code(record.as_ref(), code, false).await?;
        let verified = Request {
            state: RequestState::Verified,
            ..found
        };
        let audit = self.draft(
            actor,
            Action::VerifyRequest,
            Some(verified.subject),
            vec![],
            None,
        );
        self.audited(async |sealer| {
            self.store()
                .update_request(&verified, &[], None, &audit, sealer)
                .await
        })
        .await?;
        Ok(verified)
    }

    /// Send a new verification code for a request awaiting one, or for a held letter: the old
    /// code stops working, the new one has its full time and tries, and goes to the address the
    /// first went to (the address on record, or the letter's). Returns when the new one ends.
    pub async fn resend_code(&self, actor: &Actor, id: Uuid) -> Result<Timestamp> {
        let not_waiting = || {
            CoreError::from(InvalidInput::coded(
                "request",
                Refused::new(
                    "not_awaiting_code",
                    "no longer waits for a code",
                    "a request or letter still awaiting verification",
                ),
            ))
        };
        let (code, record) = new_code(self, id)?;
        let (subject, to, locale) = match self.store().request(id).await? {
            Some(request) if request.state == RequestState::AwaitingVerification => {
                let to = self.address_of(&request).await?.ok_or_else(not_waiting)?;
                let locale = self.language_of(request.subject).await?;
                (Some(request.subject), to, locale)
            }
            Some(_) => return Err(not_waiting()),
            None => {
                let letter = self.store().letter(id).await?.ok_or_else(not_waiting)?;
                // A registration's code is the registering person's to ask for again, not staff's.
                let Held::Letter(letter) = self.open_held(&letter)? else {
                    return Err(not_waiting());
                };
                let locale = letter
                    .locale
                    .unwrap_or_else(|| self.policy().default_locale.clone());
                (None, letter.email, locale)
            }
        };
        let (title, body) = Written::RequestCode { code: &code }.write(&locale);
        let message = self.outbox_entry(subject, "request:verification", &to, &title, &body);
        let audit = self.draft(actor, Action::ResendCode, subject, vec![], None);
        let renewed = self
            .audited(async |sealer| {
                self.store()
                    .renew_code(&record, subject, &message, &audit, sealer)
                    .await
            })
            .await?;
        match renewed {
            Some(_) => Ok(record.expires_at),
            None => Err(not_waiting()),
        }
    }

    /// A code sent back: spent when expired or tried too often, a wrong one counted (on the
    /// letter's record or the request's).
    pub(super) async fn check_code(
        &self,
        record: Option<&CodeRecord>,
        code: &str,
        letter: bool,
    ) -> Result<()> {
        let Some(record) =
            record.filter(|r| r.attempts < CODE_ATTEMPTS && r.expires_at > self.now())
        else {
            return Err(CoreError::Verification(VerificationError::Spent));
        };
        if record.digest != code_digest(self, record.request, code) {
            let attempts = if letter {
                self.store().count_letter_attempt(record.request).await?
            } else {
                self.store().count_code_attempt(record.request).await?
            };
            return Err(CoreError::Verification(VerificationError::WrongCode(
                (CODE_ATTEMPTS - attempts).max(0),
            )));
        }
        Ok(())
    }

    /// When a letter arrived: as staff say (never in the future), or now.
    fn arrival(&self, received: Option<Timestamp>) -> Result<Timestamp> {
        let now = self.now();
        match received {
            Some(at) if at > now => Err(InvalidInput::one(
                "received_at",
                "is in the future",
                "when the letter arrived, now or earlier",
            )
            .into()),
            Some(at) => Ok(at),
            None => Ok(now),
        }
    }
}
