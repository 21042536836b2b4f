//! Rights requests (R6.1–R6.3): received from the signed-in person or entered by staff from a
//! letter to info@vintrova.com, verified before anything is disclosed or changed, answered
//! within 30 days, fulfilled through the same services everything else uses.
//!
//! A request row keeps in clear what the queue needs — the right, the state, the channels and
//! the clock; its description and answer are sealed events. A letter's sender proves control of
//! the address with a one-time code sent there; the answer to staff is the same whether or not
//! the address is known, and so is the work: an unknown address becomes a requester of its own.

use crate::events::{Event, EventKind};
use crate::names;
use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::audit::Action;
use crate::consent::{Channel, ConsentAction};
use crate::gate::{BasisEventKind, Duty, RightClaim, Use};
use crate::outbox::OutboxEntry;
use crate::rights::{RightKind, deadline};
use crate::values::{FieldValue, InvalidInput, Refused};
use crate::words::words;
use crate::{AccessCopy, Actor, CoreError, ErasureReceipt, Result, Vintrova};

mod claims;
mod downloads;
mod intake;
pub mod mailbox;
mod reminders;
pub mod rights;
use crate::letters::Letter;
pub use claims::AddressToProve;
pub use downloads::{DOWNLOAD_VALID, Download, DownloadRecord, StoredCopy};
pub use intake::{LetterReceived, LetterRecord, LetterWaiting, arrival_time};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    AwaitingVerification,
    Verified,
    Completed,
    Rejected,
    /// The person took the request back before it was answered.
    Withdrawn,
}

words!(RequestState {
    AwaitingVerification => "awaiting_verification",
    Verified => "verified",
    Completed => "completed",
    Rejected => "rejected",
    Withdrawn => "withdrawn",
});

/// How the person wants the answer (R6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AnswerChannel {
    Email,
    Cabinet,
    Post,
}

words!(AnswerChannel {
    Email => "email",
    Cabinet => "cabinet",
    Post => "post",
});

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Request {
    pub id: Uuid,
    pub subject: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub right: RightKind,
    pub state: RequestState,
    pub channel: AnswerChannel,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Date))]
    pub due_on: Date,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub overdue_from: Timestamp,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub closed_at: Option<Timestamp>,
}

/// A one-time code as stored: its digest, when it stops working, how often it was tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub request: Uuid,
    pub digest: Vec<u8>,
    pub expires_at: Timestamp,
    pub attempts: i64,
}

/// How long a verification code works, and how often it may be tried.
pub const CODE_VALID: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);
pub const CODE_ATTEMPTS: i64 = 5;

/// An open request as the queue shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Queued {
    pub request: Request,
    /// Calendar days left in Almaty; negative once overdue.
    pub days_left: i64,
    pub due_soon: bool,
    pub overdue: bool,
}

/// `found`, when it is in one of `states`; otherwise a refusal saying it is closed or elsewhere.
fn in_step(found: Request, states: &[RequestState]) -> Result<Request> {
    if states.contains(&found.state) {
        return Ok(found);
    }
    Err(InvalidInput::coded(
        "request",
        Refused::new(
            "request_closed",
            format!("is {}", found.state.as_str()),
            "a request in that step",
        ),
    )
    .into())
}

/// Who asked a request and what they wrote, as the officer answering it reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requester {
    pub name: String,
    pub email: String,
    pub description: String,
    /// The answer given, once refused (the reason) — empty before.
    pub answer: String,
}

/// Requests with this many days or fewer left are flagged for staff.
pub const REMIND_DAYS: i64 = 7;

/// Days before the deadline staff are reminded, unless configured otherwise.
pub const DEFAULT_REMINDERS: [i64; 3] = [7, 3, 1];

/// What fulfilling a request asks for; each matches one right.
#[derive(Debug, Clone)]
pub enum Fulfilment {
    Information,
    Access,
    Rectification(Vec<FieldValue>),
    Erasure,
    Restriction,
    /// Withdraw the consent to one purpose, or to every purpose when none is named.
    ConsentWithdrawal(Option<String>),
    MarketingObjection,
}

impl Fulfilment {
    /// The fulfilment that answers `right`: rectification with the `corrections` it needs, a
    /// consent withdrawal for `purpose` (every purpose when none is named). The one mapping
    /// the API, the console and the command line answer a request with.
    pub fn of(
        right: RightKind,
        corrections: Option<Vec<FieldValue>>,
        purpose: Option<String>,
    ) -> Result<Fulfilment, InvalidInput> {
        Ok(match right {
            RightKind::Information => Fulfilment::Information,
            RightKind::Access => Fulfilment::Access,
            RightKind::Rectification => {
                Fulfilment::Rectification(corrections.ok_or_else(|| {
                    InvalidInput::one(
                        "data",
                        "a rectification needs the corrected values",
                        "the fields to correct, as {\"contact\": {…}}",
                    )
                })?)
            }
            RightKind::Erasure => Fulfilment::Erasure,
            RightKind::Restriction => Fulfilment::Restriction,
            RightKind::ConsentWithdrawal => Fulfilment::ConsentWithdrawal(purpose),
            RightKind::MarketingObjection => Fulfilment::MarketingObjection,
        })
    }

    fn right(&self) -> RightKind {
        match self {
            Fulfilment::Information => RightKind::Information,
            Fulfilment::Access => RightKind::Access,
            Fulfilment::Rectification(_) => RightKind::Rectification,
            Fulfilment::Erasure => RightKind::Erasure,
            Fulfilment::Restriction => RightKind::Restriction,
            Fulfilment::ConsentWithdrawal(_) => RightKind::ConsentWithdrawal,
            Fulfilment::MarketingObjection => RightKind::MarketingObjection,
        }
    }
}

/// What processing applies to the person (R6.1 information).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Information {
    pub categories: Vec<CategoryInformation>,
    /// Every disclosure of the person's data: to whom, where, which categories, why, when.
    pub disclosures: Vec<crate::disclosures::Disclosure>,
    /// Who touched the person's data: roles, categories, purposes, times.
    pub who_looked: Vec<crate::transparency::Access>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryInformation {
    pub category: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub legal_basis: vintrova_policy::LegalBasis,
    pub purposes: Vec<String>,
    pub recipients: Vec<String>,
    /// Countries outside Kazakhstan the recipients are in.
    pub transfers: Vec<String>,
    pub retention_rule: String,
    pub retention_term: String,
}

/// The answer to a fulfilled request.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "right", rename_all = "snake_case")]
pub enum Answer {
    Information(Information),
    Access {
        /// The copy itself: kept out of the answer's JSON, which carries the link — the API
        /// adds it only when asked (`?copy=true`).
        #[serde(skip)]
        copy: Box<AccessCopy>,
        /// The same copy, to download as JSON or as a readable page, until the link expires.
        download: Download,
    },
    Rectification,
    Erasure(ErasureReceipt),
    Restriction,
    ConsentWithdrawal {
        withdrawn: Vec<String>,
    },
    MarketingObjection,
}

/// Where something sealed under the outbox key lies — a copy behind a download link, a letter
/// waiting for its code: bound to its table and row, so it opens nowhere else.
fn held_place<'a>(table: &'a str, row: &'a str) -> vintrova_vault::Place<'a> {
    vintrova_vault::Place {
        subject: Uuid::nil(),
        table,
        column: "sealed",
        row,
    }
}

/// Why a verification failed; the same words whatever the reason behind them, but the count.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerificationError {
    #[error("the code is not right; {0} attempt(s) left")]
    WrongCode(i64),
    #[error("the code has expired or was tried too often; ask for a new one")]
    Spent,
}

fn code_digest(vintrova: &Vintrova, request: Uuid, code: &str) -> Vec<u8> {
    vintrova
        .vault()
        .blind_index()
        .digest("request.code", &format!("{request}:{}", code.trim()))
        .to_vec()
}

fn six_digits() -> Result<String> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes)
        .map_err(|e| CoreError::Internal(format!("no randomness for a code: {e}")))?;
    Ok(format!("{:06}", u32::from_le_bytes(bytes) % 1_000_000))
}

/// A new one-time code for `request` (a request or a held letter) and its record as stored:
/// its digest, its full time from now, no tries yet.
fn new_code(vintrova: &Vintrova, request: Uuid) -> Result<(String, CodeRecord)> {
    let code = six_digits()?;
    let record = CodeRecord {
        request,
        digest: code_digest(vintrova, request, &code),
        expires_at: vintrova
            .now()
            .checked_add(CODE_VALID)
            .map_err(|e| CoreError::Internal(e.to_string()))?,
        attempts: 0,
    };
    Ok((code, record))
}

impl Vintrova {
    /// A request received at `received_at`, its deadline counted from then.
    fn new_request(
        &self,
        id: Uuid,
        subject: Uuid,
        (right, channel): (RightKind, AnswerChannel),
        state: RequestState,
        received_at: Timestamp,
    ) -> Request {
        let clock = deadline(received_at, &self.policy().zone());
        Request {
            id,
            subject,
            right,
            state,
            channel,
            received_at,
            due_on: clock.due_on,
            overdue_from: clock.overdue_from,
            closed_at: None,
        }
    }

    async fn description_events(
        &self,
        subject: Uuid,
        request: Uuid,
        description: &str,
        source: &str,
    ) -> Result<Vec<crate::store::SealedEvent>> {
        let values = self.parse_json(&json!({"contact": {"request_description": description}}))?;
        Ok(self
            .seal(subject, &values, source, Some(request))
            .await?
            .events)
    }

    /// A request from the signed-in person: the session is the verification.
    pub async fn request_in_cabinet(
        &self,
        actor: &Actor,
        session: &str,
        right: RightKind,
        description: &str,
        channel: AnswerChannel,
    ) -> Result<Request> {
        let subject = self.session(session).await?;
        if let Some(open) = self.store().open_request(subject, right).await? {
            return Ok(open);
        }
        let request = self.new_request(
            Uuid::now_v7(),
            subject,
            (right, channel),
            RequestState::Verified,
            self.now(),
        );
        let events = self
            .description_events(subject, request.id, description, names::CABINET)
            .await?;
        let audit = self.draft(
            actor,
            Action::ReceiveRequest,
            Some(subject),
            vec![names::CONTACT.into()],
            Some(Use::Duty(Duty::RequestAnswer(request.id)).label()),
        );
        // The acknowledgement says when the answer is due; it goes with the request.
        let ack = match self.address_of(&request).await? {
            Some(to) => {
                let (title, body) = Letter::Received {
                    right: request.right,
                    due: request.due_on,
                }
                .write(&self.language_of(subject).await?);
                Some(self.outbox_entry(
                    Some(subject),
                    "request:acknowledgement",
                    &to,
                    &title,
                    &body,
                ))
            }
            None => None,
        };
        self.audited(async |sealer| {
            self.store()
                .insert_request(&request, &events, None, ack.as_ref(), &audit, sealer)
                .await
        })
        .await?;
        Ok(request)
    }

    /// The address on record, read for answering the person's own request (a legal obligation,
    /// so it holds under a restriction too); the request's data stays closed.
    async fn address_of(&self, request: &Request) -> Result<Option<String>> {
        let grant = self
            .authorize(request.subject, Use::Duty(Duty::RequestAnswer(request.id)))
            .await?;
        self.address(&grant).await
    }

    /// The message telling the person their request was handled, by email or in the cabinet
    /// (a letter then says where the answer waits); on paper, staff post the answer. The answer
    /// itself (a copy, a receipt) is in the cabinet or behind its link.
    fn answer_entry(
        &self,
        request: &Request,
        (to, locale): (Option<String>, &str),
        refused: Option<&str>,
    ) -> Option<OutboxEntry> {
        let to = to.filter(|_| request.channel != AnswerChannel::Post)?;
        let right = request.right;
        let (title, body) = match refused {
            Some(reason) => Letter::Refused { right, reason },
            None => Letter::Fulfilled { right },
        }
        .write(locale);
        let message_id = format!("<answer-{}@vintrova.outbox>", request.id);
        Some(self.outbox_entry_as(
            Uuid::now_v7(),
            message_id,
            Some(request.subject),
            "request:answer",
            &to,
            &title,
            &body,
        ))
    }

    /// Close a request with its events and its answer, in one transaction.
    async fn close_request(
        &self,
        actor: &Actor,
        closed: &Request,
        events: &[crate::store::SealedEvent],
        message: Option<&OutboxEntry>,
    ) -> Result<()> {
        let audit = self
            .draft(
                actor,
                Action::CloseRequest,
                Some(closed.subject),
                vec![names::CONTACT.into()],
                None,
            )
            .telling(Event::about(
                EventKind::RequestAnswered,
                closed.subject,
                serde_json::json!({
                    "request": closed.id,
                    "right": closed.right.as_str(),
                    "outcome": closed.state.as_str(),
                }),
            ));
        self.audited(async |sealer| {
            self.store()
                .update_request(closed, events, message, &audit, sealer)
                .await
        })
        .await
    }

    async fn require_request(&self, id: Uuid, states: &[RequestState]) -> Result<Request> {
        let found = self.store().request(id).await?.ok_or_else(|| {
            InvalidInput::coded(
                "request",
                Refused::new(
                    "unknown_record",
                    "not a request of ours",
                    "the id the request was given",
                ),
            )
        })?;
        in_step(found, states)
    }

    /// The last hundred answered, refused or withdrawn requests, the most recent first.
    pub async fn closed_requests(&self) -> Result<Vec<Request>> {
        Ok(self.store().closed_requests().await?)
    }

    /// Who asked and what they wrote, for the officer answering request `id`: read under the
    /// duty to answer it (its contact data, nothing more) and audited as that read. Opens only
    /// once the request is verified — before, anyone could have written in someone's name.
    pub async fn requester(&self, actor: &Actor, id: Uuid) -> Result<Requester> {
        let request = self
            .require_request(
                id,
                &[
                    RequestState::Verified,
                    RequestState::Completed,
                    RequestState::Rejected,
                    RequestState::Withdrawn,
                ],
            )
            .await?;
        let grant = self
            .authorize(request.subject, Use::Duty(Duty::RequestAnswer(id)))
            .await?;
        let opened = self.open(&grant).await?;
        self.log(self.draft(
            actor,
            Action::Read,
            Some(request.subject),
            vec![names::CONTACT.into()],
            Some(grant.use_().label()),
        ))
        .await?;
        // A description or an answer belongs to its request; a name to the person.
        let value = |field: &str| {
            opened
                .iter()
                .filter(|o| o.field.rsplit('.').next() == Some(field))
                .filter(|o| o.record.is_none_or(|r| r == id))
                .filter_map(|o| o.value.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        Ok(Requester {
            name: format!("{} {}", value("first_name"), value("last_name"))
                .trim()
                .to_string(),
            email: value("email"),
            description: value("request_description"),
            answer: value("request_answer"),
        })
    }

    /// One of the signed-in person's own requests (another's reads as unknown).
    pub async fn own_request(&self, session: &str, id: Uuid) -> Result<Request> {
        let subject = self.session(session).await?;
        match self.store().request(id).await? {
            Some(request) if request.subject == subject => Ok(request),
            _ => Err(InvalidInput::coded(
                "request",
                Refused::new(
                    "unknown_record",
                    "not a request of yours",
                    "the id of one of your requests",
                ),
            )
            .into()),
        }
    }

    /// The person takes back a request not yet answered: it closes as withdrawn, audited, and
    /// nothing more is done for it.
    pub async fn withdraw_request(
        &self,
        actor: &Actor,
        session: &str,
        id: Uuid,
    ) -> Result<Request> {
        let found = in_step(
            self.own_request(session, id).await?,
            &[RequestState::AwaitingVerification, RequestState::Verified],
        )?;
        let withdrawn = Request {
            state: RequestState::Withdrawn,
            closed_at: Some(self.now()),
            ..found
        };
        self.close_request(actor, &withdrawn, &[], None).await?;
        Ok(withdrawn)
    }

    /// Open requests by deadline, the most urgent first, with the days each has left.
    /// A person's own requests, for their cabinet: rights, states and deadlines, no content.
    pub async fn requests_of(&self, subject: Uuid) -> Result<Vec<Request>> {
        Ok(self.store().requests_of(subject).await?)
    }

    pub async fn request_queue(&self) -> Result<Vec<Queued>> {
        let zone = self.policy().zone();
        let now = self.now();
        Ok(self
            .store()
            .open_requests()
            .await?
            .into_iter()
            .map(|request| {
                let clock = crate::rights::Deadline {
                    due_on: request.due_on,
                    overdue_from: request.overdue_from,
                };
                let days_left = crate::rights::days_left(&clock, now, &zone);
                Queued {
                    overdue: now >= request.overdue_from,
                    due_soon: (0..=REMIND_DAYS).contains(&days_left),
                    days_left,
                    request,
                }
            })
            .collect())
    }

    /// Fulfil a verified request through the same services everything else uses, and close it.
    pub async fn fulfil(
        &self,
        actor: &Actor,
        request: Uuid,
        fulfilment: Fulfilment,
    ) -> Result<Answer> {
        let found = self
            .require_request(request, &[RequestState::Verified])
            .await?;
        if fulfilment.right() != found.right {
            return Err(InvalidInput::one(
                "fulfilment",
                format!(
                    "answers `{}`, the request asks for `{}`",
                    fulfilment.right().as_str(),
                    found.right.as_str()
                ),
                "the fulfilment of the right requested",
            )
            .into());
        }
        let subject = found.subject;
        let found_for_answer = found.clone();
        let address = self.address_of(&found).await?;
        // The close and its answer are written together. An erasure takes the request with it,
        // so it is closed first; every other right is closed once its work is done.
        let is_erasure = matches!(fulfilment, Fulfilment::Erasure);
        // Access answers with its download link instead (see issue_download), erasure with its
        // signed receipt — by email unless the person asked for post, since the cabinet goes
        // with the erasure; by post, staff print the receipt the answer carries.
        let receipt_to = address
            .clone()
            .filter(|_| is_erasure && found.channel != AnswerChannel::Post);
        // An emailed access request is answered by its download link (issue_download); a
        // cabinet one by a letter saying the answer waits there.
        let by_link =
            matches!(fulfilment, Fulfilment::Access) && found.channel == AnswerChannel::Email;
        let message = if by_link || is_erasure {
            None
        } else {
            let locale = self.language_of(found.subject).await?;
            self.answer_entry(&found, (address, &locale), None)
        };
        let closed = Request {
            state: RequestState::Completed,
            closed_at: Some(self.now()),
            ..found
        };
        if is_erasure {
            self.close_request(actor, &closed, &[], message.as_ref())
                .await?;
        }
        let answer = match fulfilment {
            Fulfilment::Information => Answer::Information(
                self.answer_information(actor, subject, RightClaim::of_request(&found_for_answer)?)
                    .await?,
            ),
            Fulfilment::Access => {
                let claim = RightClaim::of_request(&found_for_answer)?;
                let copy = self.export_copy(actor, subject, claim).await?;
                let download = self.issue_download(&found_for_answer, &copy).await?;
                Answer::Access {
                    copy: Box::new(copy),
                    download,
                }
            }
            Fulfilment::Rectification(values) => {
                self.update_subject(actor, subject, values, names::STAFF_ENTRY)
                    .await?;
                Answer::Rectification
            }
            Fulfilment::Erasure => Answer::Erasure(
                self.erase_for(actor, subject, receipt_to, Some(found_for_answer.id))
                    .await?,
            ),
            Fulfilment::Restriction => {
                self.record_basis(
                    actor,
                    subject,
                    BasisEventKind::Restricted,
                    None,
                    names::STAFF_ENTRY,
                )
                .await?;
                Answer::Restriction
            }
            Fulfilment::ConsentWithdrawal(purpose) => {
                let current = crate::consent::current(&self.store().consents(subject).await?);
                let mut withdrawn = Vec::new();
                // Without a name, every consent to a purpose; a consent to data (contact,
                // phone) goes only when named, since withdrawing it can end the service.
                for (p, action) in current {
                    let named = match &purpose {
                        Some(only) => *only == p,
                        None => self.policy().purpose(&p).is_some(),
                    };
                    if action == ConsentAction::Granted && named {
                        self.record_consent(
                            actor,
                            subject,
                            &p,
                            ConsentAction::Withdrawn,
                            Channel::StaffWrittenRequest,
                            None,
                        )
                        .await?;
                        withdrawn.push(p);
                    }
                }
                Answer::ConsentWithdrawal { withdrawn }
            }
            Fulfilment::MarketingObjection => {
                self.record_basis(
                    actor,
                    subject,
                    BasisEventKind::Objected,
                    Some(crate::notifications::PURPOSE.into()),
                    names::STAFF_ENTRY,
                )
                .await?;
                Answer::MarketingObjection
            }
        };
        if !is_erasure {
            self.close_request(actor, &closed, &[], message.as_ref())
                .await?;
        }
        Ok(answer)
    }

    /// Reject a request, with the reason the person will read (sealed, never logged).
    pub async fn reject_request(
        &self,
        actor: &Actor,
        request: Uuid,
        reason: &str,
    ) -> Result<Request> {
        let found = self
            .require_request(
                request,
                &[RequestState::AwaitingVerification, RequestState::Verified],
            )
            .await?;
        let values = self.parse_json(&json!({"contact": {"request_answer": reason}}))?;
        let events = self
            .seal(found.subject, &values, names::STAFF_ENTRY, Some(request))
            .await?
            .events;
        let address = self.address_of(&found).await?;
        let rejected = Request {
            state: RequestState::Rejected,
            closed_at: Some(self.now()),
            ..found
        };
        let locale = self.language_of(rejected.subject).await?;
        let message = self.answer_entry(&rejected, (address, &locale), Some(reason));
        self.close_request(actor, &rejected, &events, message.as_ref())
            .await?;
        Ok(rejected)
    }

    /// Which categories, purposes, bases, recipients, transfers and retention apply to a
    /// person, answering their verified request `request`.
    pub async fn information(
        &self,
        actor: &Actor,
        subject: Uuid,
        request: Option<Uuid>,
    ) -> Result<Information> {
        let claim = self.claim_of_request(subject, request).await?;
        self.answer_information(actor, subject, claim).await
    }

    /// What processing applies to the signed-in person, as of now: the page their answered
    /// information request shows. The session is the claim, as for their own copy.
    pub async fn own_information(&self, actor: &Actor, session: &str) -> Result<Information> {
        let subject = self.session(session).await?;
        self.answer_information(actor, subject, RightClaim::own_session(subject))
            .await
    }

    async fn answer_information(
        &self,
        actor: &Actor,
        subject: Uuid,
        claim: RightClaim,
    ) -> Result<Information> {
        let export = self.export(actor, subject, claim).await?;
        let mut held: Vec<&str> = export.values.iter().map(|v| v.category.as_str()).collect();
        held.sort();
        held.dedup();
        let policy = self.policy();
        let categories = held
            .into_iter()
            .filter_map(|key| policy.category(key))
            .map(|c| {
                let purposes: Vec<String> = policy
                    .purposes_using(&c.key)
                    .map(|p| p.key.clone())
                    .collect();
                let recipients: Vec<&vintrova_policy::Recipient> = policy
                    .recipients
                    .iter()
                    .filter(|r| {
                        r.categories.contains(&c.key)
                            && r.purposes.iter().any(|p| purposes.contains(p))
                    })
                    .collect();
                let mut transfers: Vec<String> = recipients
                    .iter()
                    .flat_map(|r| r.countries.iter())
                    .filter(|country| **country != policy.operator.country)
                    .cloned()
                    .collect();
                transfers.sort();
                transfers.dedup();
                let rule = policy.retention_of(c);
                CategoryInformation {
                    category: c.key.clone(),
                    legal_basis: c.legal_basis,
                    purposes,
                    recipients: recipients.iter().map(|r| r.key.clone()).collect(),
                    transfers,
                    retention_rule: rule.key.clone(),
                    retention_term: rule.term.clone(),
                }
            })
            .collect();
        Ok(Information {
            categories,
            disclosures: self.disclosures(Some(subject)).await?,
            // The copy read who looked already (until just before its own entry).
            who_looked: export.accesses,
        })
    }
}
