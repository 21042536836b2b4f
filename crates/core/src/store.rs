//! The storage port: what the services need from a database, in their own words. SQLite and
//! PostgreSQL implement it in their own crates; one story suite checks both.
//!
//! Every call that changes personal data takes the audit entry that records it and appends
//! it in the same transaction, so a change and its audit entry exist together or not at all.

use jiff::Timestamp;
use uuid::Uuid;

use crate::accounts::{AccountRecord, ResetRecord, SessionRecord};
use crate::audit::{AuditDraft, AuditRecord, ChainSealer};
use crate::consent::ConsentEvent;
use crate::events::{EventKind, EventRecord};
use crate::gate::BasisEvent;
use crate::holds::HoldEvent;
use crate::learning::Offering;
use crate::ledger::LedgerEntry;
use crate::notifications::Notice;
use crate::outbox::{OutboxEntry, OutboxState};
use crate::records::{Record, RecordKind};
use crate::requests::mailbox::InboxRow;
use crate::requests::{CodeRecord, DownloadRecord, LetterRecord, Request};
use crate::rights::RightKind;
use crate::staff::{StaffLookup, StaffRecord, StaffSessionRecord};

/// A value as stored: sealed by the subject's key of its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedValue {
    pub field: String,
    pub key_class: String,
    pub sealed: Vec<u8>,
    pub source: String,
    pub collected_at: Timestamp,
}

/// One observation of an event-stored category (a visit, an interaction): its fields sealed
/// together as one JSON object by the subject's key of the category's class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedEvent {
    pub id: Uuid,
    pub category: String,
    pub key_class: String,
    pub sealed: Vec<u8>,
    pub source: String,
    pub collected_at: Timestamp,
    /// The record (an order) the event belongs to, if any.
    pub record: Option<Uuid>,
}

/// An event as an erasure plans it: its class and category, and — for a class whose rule a law
/// counts from the event (see [`SubjectStore::event_heads`]) — its moment and record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventHead {
    pub category: String,
    pub key_class: String,
    pub collected_at: Option<Timestamp>,
    pub record: Option<Uuid>,
}

/// Everything a new subject arrives with, stored in one transaction.
#[derive(Debug, Clone)]
pub struct NewSubject {
    pub subject: SubjectRecord,
    pub values: Vec<SealedValue>,
    pub index: Vec<IndexEntry>,
    pub events: Vec<SealedEvent>,
    pub bases: Vec<BasisEvent>,
    pub consents: Vec<ConsentEvent>,
}

/// A blind index entry: the keyed digest of one field's normalized value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub field: String,
    pub digest: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectRecord {
    pub id: Uuid,
    pub created_at: Timestamp,
}

/// What to delete of a subject in an erasure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasurePlan {
    /// Key classes whose values, events and records go.
    pub classes: Vec<String>,
    /// Categories whose values and events go from classes kept for other categories (their
    /// key stays for what is kept).
    pub categories: Vec<String>,
    /// The contract's end, recorded with a partial erasure when one is in force. A partial
    /// erasure (not `whole_subject`) also closes the account and ends every session: what is
    /// kept is kept for the law or a hold, not for a relationship.
    pub contract_ended: Option<BasisEvent>,
    /// Nothing is kept: the subject, its basis events and its index go too.
    pub whole_subject: bool,
    pub receipt: Option<Receipted>,
}

/// A signed erasure receipt as the server keeps it: its hash, never its text or whose it was.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReceiptRecord {
    pub id: Uuid,
    pub digest: Vec<u8>,
    /// `request` or `retention`.
    pub cause: String,
    pub issued_at: Timestamp,
}

/// A receipt's record and, when the person has a channel, the message that carries it: written
/// in the erasure's own transaction, so there is never an erasure without its receipt or a
/// receipt for an erasure that did not happen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipted {
    pub record: ReceiptRecord,
    pub message: Option<OutboxEntry>,
}

/// What an erasure deleted: counts, never values.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasureCounts {
    pub values: u64,
    pub events: u64,
    pub index_entries: u64,
    pub basis_events: u64,
    pub consent_events: u64,
    pub sessions: u64,
    /// Orders, enrollments, tickets.
    pub records: u64,
    pub notices: u64,
    pub messages: u64,
    pub requests: u64,
}

/// A stored value's place and age, without its content: what the sweep decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueMeta {
    pub field: String,
    pub key_class: String,
    pub collected_at: Timestamp,
}

/// A stored event's place and age, without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventMeta {
    pub id: Uuid,
    pub category: String,
    pub key_class: String,
    pub collected_at: Timestamp,
    pub record: Option<Uuid>,
}

/// Everything the retention sweep needs to know of one person, and nothing it may not: no
/// sealed byte, no index digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub subject: Uuid,
    pub values: Vec<ValueMeta>,
    pub events: Vec<EventMeta>,
    pub records: Vec<Record>,
    pub requests: Vec<Request>,
    pub bases: Vec<BasisEvent>,
    pub consents: Vec<ConsentEvent>,
    pub account: Option<AccountRecord>,
    /// Events a dropped month took, not yet in the person's audit entry and receipt.
    pub dropped: Vec<Dropped>,
}

/// Events of one category and key class that left with their month's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub category: String,
    pub key_class: String,
    pub events: u64,
}

/// What keeps a month of events from leaving whole: an event of a class not in `due` (not yet
/// due, or due on a date the month alone does not tell), of a person in `people` or of a
/// category in `categories` (a legal hold's).
#[derive(Debug, Clone, Copy)]
pub struct WholeMonth<'a> {
    pub due: &'a [String],
    pub people: &'a [Uuid],
    pub categories: &'a [String],
}

/// What the sweep deletes of one person in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expiry {
    pub subject: Uuid,
    /// Profile fields, with their blind index entries.
    pub fields: Vec<String>,
    pub events: Vec<Uuid>,
    /// Orders, enrollments, tickets.
    pub records: Vec<Uuid>,
    pub requests: Vec<Uuid>,
    /// Nothing is left: the subject and everything about the relationship go too.
    pub whole_subject: bool,
    /// What dropped months took of the person is now accounted for: its notes go.
    pub dropped: bool,
    /// The receipt of a removal, written with it.
    pub receipt: Option<Receipted>,
}

/// Rows that outlived their use, removed by the sweep: counts of each.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Leftovers {
    /// Sessions past their expiry.
    pub sessions: u64,
    /// Password reset tokens used or past their hour.
    pub password_resets: u64,
    /// Copies behind download links past their seven days.
    pub downloads: u64,
    /// Delivered or abandoned messages (already emptied) older than the logs term.
    pub outbox: u64,
    /// Records of notices sent, older than the logs term.
    pub notices: u64,
    /// Letters whose writer never sent the code back before it expired.
    pub letters: u64,
}

/// The sequence number and hash of an appended audit entry, for the key store's anchor.
pub type ChainHead = (i64, Vec<u8>);

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("subject {0} is unknown: it never existed or was erased")]
    UnknownSubject(Uuid),
    #[error("subject {0} exists already")]
    DuplicateSubject(Uuid),
    #[error("the database is unavailable or failed ({0}); check that it is running and reachable")]
    Backend(String),
    #[error(transparent)]
    ChainTail(#[from] crate::audit::TailBreak),
    /// A value only one person may hold (an email address) is held by another.
    #[error("the value of `{0}` is held by another person")]
    Taken(String),
}

/// A person's data: values, events, bases, consents, look-ups, erasure.
#[async_trait::async_trait]
pub trait SubjectStore: Send + Sync {
    async fn insert_subject(
        &self,
        new: &NewSubject,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;

    /// Insert or replace values (and the index entries of their fields) of an existing subject.
    async fn upsert_values(
        &self,
        subject: Uuid,
        values: &[SealedValue],
        index: &[IndexEntry],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;

    async fn append_basis_event(
        &self,
        subject: Uuid,
        event: &BasisEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;

    /// Append to the consent ledger.
    async fn append_consent(
        &self,
        subject: Uuid,
        event: &ConsentEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;

    async fn insert_events(
        &self,
        subject: Uuid,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;

    /// Keep the language a person asked to be written in (replacing an earlier choice).
    async fn set_language(&self, id: Uuid, locale: &str, at: Timestamp) -> Result<(), StoreError>;
    /// The language a person asked to be written in, if they chose one.
    async fn language(&self, id: Uuid) -> Result<Option<String>, StoreError>;
    async fn subject(&self, id: Uuid) -> Result<Option<SubjectRecord>, StoreError>;
    async fn values(&self, id: Uuid) -> Result<Vec<SealedValue>, StoreError>;
    async fn basis_events(&self, id: Uuid) -> Result<Vec<BasisEvent>, StoreError>;
    /// The consent ledger of a subject, oldest first.
    async fn consents(&self, id: Uuid) -> Result<Vec<ConsentEvent>, StoreError>;
    /// A subject's events, oldest first.
    async fn events(&self, id: Uuid) -> Result<Vec<SealedEvent>, StoreError>;
    /// What a subject's events are, without their sealed bodies: what an erasure plans from.
    /// Each event of a class in `timed` (a law keeps it, counting from its moment) with its
    /// moment and record; of every other class, one head per category, without either — ten
    /// thousand visits no law keeps plan as one row.
    async fn event_heads(&self, id: Uuid, timed: &[String]) -> Result<Vec<EventHead>, StoreError>;
    async fn find_by_index(&self, field: &str, digest: &[u8]) -> Result<Vec<Uuid>, StoreError>;

    /// Record that the subject's erasure was decided (`intent`, core's own text), before any
    /// step of it: `false` when one is underway already. The subject must exist.
    async fn begin_erasure(
        &self,
        id: Uuid,
        decided_at: Timestamp,
        intent: &str,
    ) -> Result<bool, StoreError>;
    /// The intent of an erasure of this subject that is underway, if one is.
    async fn erasure_intent(&self, id: Uuid) -> Result<Option<String>, StoreError>;
    /// The subjects whose erasure is underway, oldest decision first.
    async fn erasures_underway(&self) -> Result<Vec<Uuid>, StoreError>;
    /// End the subject's erasure: delete what the plan says, with its receipt and audit entry
    /// and the intent itself, in one transaction; then make sure no deleted byte survives in
    /// the database files (SQLite: secure delete and a WAL checkpoint). `None`, with nothing
    /// done, when no erasure of the subject is underway (another caller ended it).
    async fn erase(
        &self,
        id: Uuid,
        plan: &ErasurePlan,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<(ErasureCounts, ChainHead)>, StoreError>;

    /// The receipt with this hash, if this server issued it.
    async fn receipt(&self, digest: &[u8]) -> Result<Option<ReceiptRecord>, StoreError>;
    /// Subject ids in order, after `after`, at most `limit`: for work over everyone.
    async fn subject_ids(&self, after: Option<Uuid>, limit: i64) -> Result<Vec<Uuid>, StoreError>;
}

/// Accounts, sessions, password resets, idleness and the monthly digest.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync {
    async fn insert_account(
        &self,
        account: &AccountRecord,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn account(&self, subject: Uuid) -> Result<Option<AccountRecord>, StoreError>;
    /// Open the account of a person who held their address by a letter, in one transaction: the
    /// held claim goes, what they registered joins their data, the account opens. `None`, with
    /// nothing done, when the claim is gone (another confirmation took it).
    async fn open_claimed_account(
        &self,
        claim: Uuid,
        joining: &NewSubject,
        account: &AccountRecord,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError>;
    async fn set_password(
        &self,
        subject: Uuid,
        hash: &str,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn close_account(
        &self,
        subject: Uuid,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn session(&self, token_digest: &[u8]) -> Result<Option<SessionRecord>, StoreError>;
    /// A reset token, with the message that carries its link when the server mails it.
    async fn insert_reset(
        &self,
        reset: &ResetRecord,
        message: Option<&OutboxEntry>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn reset(&self, token_digest: &[u8]) -> Result<Option<ResetRecord>, StoreError>;
    /// Mark a reset token used; false when it already was.
    async fn use_reset(&self, token_digest: &[u8], at: Timestamp) -> Result<bool, StoreError>;
    /// End sessions: all of one subject's, or the one with this digest.
    async fn delete_sessions(
        &self,
        subject: Option<Uuid>,
        token_digest: Option<&[u8]>,
    ) -> Result<u64, StoreError>;
    /// Note that an unused account was warned; a sign-in clears it.
    async fn mark_idle_notice(&self, subject: Uuid, at: Timestamp) -> Result<(), StoreError>;
    /// Subscribe the person to the monthly digest of who looked at their data (`Some(since)`),
    /// or end it (`None`).
    async fn set_access_digest(
        &self,
        subject: Uuid,
        since: Option<Timestamp>,
    ) -> Result<(), StoreError>;
    /// Since when the person receives the digest; `None` when they do not.
    async fn access_digest(&self, subject: Uuid) -> Result<Option<Timestamp>, StoreError>;
    /// Subscribers with an open account whose digest for `month` (YYYY-MM) is not yet marked
    /// sent, in id order after `after`.
    async fn access_digests_due(
        &self,
        month: &str,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Uuid>, StoreError>;
    /// Note that the person's digest for `month` is queued.
    async fn mark_access_digest(&self, subject: Uuid, month: &str) -> Result<(), StoreError>;
}

/// Orders, enrollments, tickets, and the catalog they refer to.
#[async_trait::async_trait]
pub trait RecordStore: Send + Sync {
    /// A new record (order, enrollment, ticket) with its first events.
    async fn insert_record(
        &self,
        record: &Record,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    /// Move a record to its state, anchor and update time, appending its events, in one transaction.
    async fn advance_record(
        &self,
        record: &Record,
        events: &[SealedEvent],
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn record(&self, id: Uuid) -> Result<Option<Record>, StoreError>;
    /// A person's records of every kind, oldest first.
    async fn records(&self, subject: Uuid) -> Result<Vec<Record>, StoreError>;
    async fn records_by_digest(
        &self,
        kind: RecordKind,
        digest: &[u8],
    ) -> Result<Vec<Record>, StoreError>;
    /// Add or replace a catalog offering (no personal data).
    async fn put_offering(&self, offering: &Offering) -> Result<(), StoreError>;
    async fn offerings(&self) -> Result<Vec<Offering>, StoreError>;
}

/// Rights requests, their codes and the copies they answer with.
#[async_trait::async_trait]
pub trait RequestStore: Send + Sync {
    /// A new request with its description, and for a letter its code and the message carrying it.
    async fn insert_request(
        &self,
        request: &Request,
        events: &[SealedEvent],
        code: Option<&CodeRecord>,
        message: Option<&OutboxEntry>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    /// Move a request on (its state, its closing), appending its events and message.
    async fn update_request(
        &self,
        request: &Request,
        events: &[SealedEvent],
        message: Option<&OutboxEntry>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn request(&self, id: Uuid) -> Result<Option<Request>, StoreError>;
    /// The person's open request for a right, if any (duplicates merge into it).
    async fn open_request(
        &self,
        subject: Uuid,
        right: RightKind,
    ) -> Result<Option<Request>, StoreError>;
    /// Every open request, the most urgent first.
    async fn open_requests(&self) -> Result<Vec<Request>, StoreError>;
    /// The last hundred closed requests, the most recently closed first.
    async fn closed_requests(&self) -> Result<Vec<Request>, StoreError>;
    /// A person's requests, open and closed.
    async fn requests_of(&self, subject: Uuid) -> Result<Vec<Request>, StoreError>;
    async fn request_code(&self, request: Uuid) -> Result<Option<CodeRecord>, StoreError>;
    /// Count a wrong try; returns the tries so far.
    async fn count_code_attempt(&self, request: Uuid) -> Result<i64, StoreError>;
    /// A new code in place of the old one (its tries start again), with the message carrying
    /// it, for a request awaiting verification (`subject` its person) or a held letter (none).
    /// False, and nothing written, when there is no such request or letter any more.
    async fn renew_code(
        &self,
        code: &CodeRecord,
        subject: Option<Uuid>,
        message: &OutboxEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError>;
    /// A letter from an address not yet proven, with the message carrying its code: held apart
    /// from people until the code comes back.
    async fn insert_letter(
        &self,
        letter: &LetterRecord,
        message: &OutboxEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn letter(&self, id: Uuid) -> Result<Option<LetterRecord>, StoreError>;
    /// Every letter still held, the oldest first.
    async fn letters(&self) -> Result<Vec<LetterRecord>, StoreError>;
    /// Count a wrong try of a letter's code; returns the tries so far.
    async fn count_letter_attempt(&self, id: Uuid) -> Result<i64, StoreError>;
    /// Admit a proven letter, in one transaction: the letter goes, the person arrives if they
    /// are new, and the request with its description (none when it merged into an open one).
    /// `None`, with nothing done, when the letter is gone (another verification admitted it).
    async fn admit_letter(
        &self,
        letter: Uuid,
        person: Option<&NewSubject>,
        request: Option<(&Request, &[SealedEvent])>,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError>;
    /// Keep a copy for download, with the message that tells the person where it is.
    async fn insert_download(
        &self,
        download: &DownloadRecord,
        message: Option<&OutboxEntry>,
    ) -> Result<(), StoreError>;
    async fn download(&self, digest: &[u8]) -> Result<Option<DownloadRecord>, StoreError>;
    /// A person's copies waiting for download, oldest first.
    async fn downloads_of(&self, subject: Uuid) -> Result<Vec<DownloadRecord>, StoreError>;
}

/// Messages waiting to go out, and the notices each person was sent.
#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// A notice and its message, together or not at all.
    async fn insert_notice(
        &self,
        notice: &Notice,
        message: &OutboxEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    /// Put a message in the outbox on its own; false when one with its Message-ID is there.
    async fn enqueue(&self, message: &OutboxEntry) -> Result<bool, StoreError>;
    /// Claim due messages (and those whose worker's lease ran out) until `lease`.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: Timestamp,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError>;
    /// Record a delivery's outcome; `purge` drops the sealed message once delivered.
    async fn finish_outbox(
        &self,
        id: Uuid,
        state: OutboxState,
        attempts: i64,
        next_attempt_at: Timestamp,
        purge: bool,
    ) -> Result<(), StoreError>;
    /// How many messages are in each state.
    async fn outbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError>;
    async fn notices(&self, subject: Uuid) -> Result<Vec<Notice>, StoreError>;
}

/// Letters from the mailbox waiting to be classified.
#[async_trait::async_trait]
pub trait InboxStore: Send + Sync {
    /// Keep a letter, unless one with its digest is there; `None` then (nothing written).
    async fn put_inbox(
        &self,
        row: &InboxRow,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError>;
    /// Every letter waiting, the oldest first.
    async fn inbox(&self) -> Result<Vec<InboxRow>, StoreError>;
    async fn inbox_row(&self, id: Uuid) -> Result<Option<InboxRow>, StoreError>;
    /// Take a letter out of the inbox unanswered; `None` when it was not there.
    async fn dismiss_inbox(
        &self,
        id: Uuid,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError>;
}

/// A webhook endpoint as stored: its signing secrets sealed under the outbox key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRow {
    pub id: Uuid,
    pub url: String,
    /// The kinds it wants; `None` for every kind.
    pub kinds: Option<Vec<EventKind>>,
    pub secrets: Vec<u8>,
    pub created_at: Timestamp,
    /// Since when every attempt has failed.
    pub failing_since: Option<Timestamp>,
    pub disabled_at: Option<Timestamp>,
}

/// An event due at an endpoint, claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueEvent {
    pub endpoint: Uuid,
    pub event: EventRecord,
    /// Attempts made before this one.
    pub attempts: i64,
}

/// One attempt's outcome, as delivery records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub endpoint: Uuid,
    pub seq: i64,
    pub delivered: bool,
    pub attempts: i64,
    pub status: Option<u16>,
    /// What went wrong, in words with no value of a person (the receiver's status, a timeout).
    pub error: Option<String>,
    pub at: Timestamp,
    pub next_attempt_at: Timestamp,
}

/// One event's delivery to one endpoint, for inspection.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryRow {
    pub seq: i64,
    /// The `webhook-id` it is sent with.
    pub event: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub kind: EventKind,
    pub subject: Option<Uuid>,
    /// `pending` or `delivered`.
    pub state: String,
    pub attempts: i64,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub next_attempt_at: Timestamp,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub delivered_at: Option<Timestamp>,
}

/// The endpoints the platform is told through, and each event's delivery to them. Events
/// themselves are written by [`AuditStore`]'s appends, with the change they tell of.
#[async_trait::async_trait]
pub trait WebhookStore: Send + Sync {
    /// Add an endpoint, or change one (its secrets, its state), with the entry recording it.
    async fn put_endpoint(
        &self,
        endpoint: &EndpointRow,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn endpoint(&self, id: Uuid) -> Result<Option<EndpointRow>, StoreError>;
    /// Every endpoint, with how many deliveries wait and how many were made.
    async fn endpoints(&self) -> Result<Vec<(EndpointRow, i64, i64)>, StoreError>;
    /// Remove an endpoint and its deliveries; `None` when there was none.
    async fn remove_endpoint(
        &self,
        id: Uuid,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError>;
    /// Claim deliveries due at `now` at enabled endpoints until `lease` — for each endpoint
    /// and person only the oldest undelivered, so a person's events arrive in order.
    async fn claim_deliveries(
        &self,
        now: Timestamp,
        lease: Timestamp,
        limit: i64,
    ) -> Result<Vec<DueEvent>, StoreError>;
    /// Record an attempt; returns since when the endpoint has failed every attempt.
    async fn finish_delivery(
        &self,
        attempt: &AttemptRecord,
    ) -> Result<Option<Timestamp>, StoreError>;
    /// The latest deliveries to an endpoint, newest first.
    async fn deliveries(&self, endpoint: Uuid, limit: i64) -> Result<Vec<DeliveryRow>, StoreError>;
    /// The events of `subject`, oldest first (what a change left to tell).
    async fn events_of(&self, subject: Uuid) -> Result<Vec<EventRecord>, StoreError>;
    /// Delete events written before `before` that every endpoint has received.
    async fn prune_events(&self, before: Timestamp) -> Result<u64, StoreError>;
}

/// What the sweep reads and deletes, and the legal holds that stop it.
#[async_trait::async_trait]
pub trait RetentionStore: Send + Sync {
    /// What the sweep needs of the subjects after `after` (in id order), at most `limit`.
    async fn inventory(
        &self,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<Inventory>, StoreError>;
    /// Delete what each expiry names (several people's, each still there and not being
    /// erased), with the audit entries, in one transaction: all of it or none. Does not scrub:
    /// the sweep scrubs once at the end.
    async fn expire(
        &self,
        expiries: &[Expiry],
        audits: &[AuditDraft],
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    /// Make sure bytes of deleted rows do not survive in the database's files.
    async fn scrub(&self) -> Result<(), StoreError>;
    /// Count (and unless `count_only`, delete) the leftovers: sessions, resets and downloads
    /// expired at `now`; finished messages and notices from before `logs_cutoff`.
    async fn leftovers(
        &self,
        now: Timestamp,
        logs_cutoff: Timestamp,
        count_only: bool,
    ) -> Result<Leftovers, StoreError>;
    /// Append to the holds ledger.
    async fn append_hold(
        &self,
        event: &HoldEvent,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    async fn hold_events(&self) -> Result<Vec<HoldEvent>, StoreError>;
}

/// Events filed by month of collection, where the backend keeps them so (PostgreSQL), so that
/// a month whose every event fell due leaves whole. Where it does not (SQLite), there are no
/// months: every event leaves row by row. Months are calendar months of UTC, as events' times
/// are stored; a month is named by its first day.
#[async_trait::async_trait]
pub trait MonthStore: Send + Sync {
    /// Give `now`'s month and the next two a partition each, and a month whose events came
    /// before its partition one too where few enough wait to be moved; drop the tables of past
    /// months left empty.
    async fn file_months(&self, now: Timestamp) -> Result<(), StoreError>;
    /// Every month the sweep may weigh, oldest first: those filed, and those its filing will
    /// file.
    async fn event_months(&self) -> Result<Vec<jiff::civil::Date>, StoreError>;
    /// Whether the month has events and nothing in it keeps it (a dry run's question; changes
    /// nothing).
    async fn month_leaves_whole(
        &self,
        month: jiff::civil::Date,
        whole: WholeMonth<'_>,
    ) -> Result<bool, StoreError>;
    /// If the (filed) month has events and nothing in it keeps it, take its events whole,
    /// noting by person what they were (see [`Inventory::dropped`]) in the same transaction;
    /// the count of events taken. `None` when the month is kept, empty or not filed. The notes
    /// are the record: each person's audit entry is written from them, as the sweep writes one
    /// for rows it deletes itself.
    async fn drop_month(
        &self,
        month: jiff::civil::Date,
        whole: WholeMonth<'_>,
    ) -> Result<Option<u64>, StoreError>;
}

/// Leases that keep two servers from running one job at once.
#[async_trait::async_trait]
pub trait LeaseStore: Send + Sync {
    /// Take the lease `name` for `holder` until `until` if it is free at `now` (never held, given
    /// back, or run out — even by the same holder). True when taken.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Give a lease back early (only its holder can).
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}

/// Staff accounts and their sessions.
#[async_trait::async_trait]
pub trait StaffStore: Send + Sync {
    /// Every table and its columns as the database has them (for the data map check).
    /// Insert or replace a staff account; with `audit`, the change is logged in the same
    /// transaction and the new chain head returned.
    async fn put_staff(
        &self,
        staff: &StaffRecord,
        audit: Option<&AuditDraft>,
        sealer: &ChainSealer<'_>,
    ) -> Result<Option<ChainHead>, StoreError>;
    async fn find_staff(&self, by: StaffLookup<'_>) -> Result<Option<StaffRecord>, StoreError>;
    async fn all_staff(&self) -> Result<Vec<StaffRecord>, StoreError>;
    async fn insert_staff_session(&self, session: &StaffSessionRecord) -> Result<(), StoreError>;
    async fn staff_session(
        &self,
        token_digest: &[u8],
    ) -> Result<Option<StaffSessionRecord>, StoreError>;
    async fn touch_staff_session(
        &self,
        token_digest: &[u8],
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// End the sessions of one staff member, or one session.
    async fn delete_staff_sessions(
        &self,
        staff: Option<Uuid>,
        token_digest: Option<&[u8]>,
    ) -> Result<u64, StoreError>;
}

/// Append-only books: paperwork, incidents, assessments, disclosures, versions.
#[async_trait::async_trait]
pub trait LedgerStore: Send + Sync {
    /// Append to a ledger, with its audit entry, in one transaction.
    async fn append_ledger(
        &self,
        entry: &LedgerEntry,
        audit: &AuditDraft,
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;
    /// A book's entries (of one entity, or all), in the order they were appended.
    async fn ledger(
        &self,
        book: &str,
        entity: Option<Uuid>,
    ) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// The audit log: appends with no write of their own, pages, pruning.
#[async_trait::async_trait]
pub trait AuditStore: Send + Sync {
    /// Entries after `after` as their rows hold them, unparsed, at most `limit`: for verify.
    async fn audit_raw_page(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<crate::audit::RawAuditRow>, StoreError>;
    /// The log's last entry, (seq, hash), if any.
    async fn audit_tail(&self) -> Result<Option<ChainHead>, StoreError>;
    /// Append audit entries on their own (reads and exports change nothing else), in order,
    /// in one transaction: the appender's batch. Returns the new head.
    async fn append_audit(
        &self,
        entries: &[AuditDraft],
        sealer: &ChainSealer<'_>,
    ) -> Result<ChainHead, StoreError>;

    /// Audit entries with `seq > after`, in order, at most `limit`.
    async fn audit_page(&self, after: i64, limit: i64) -> Result<Vec<AuditRecord>, StoreError>;
    /// One person's audit entries, oldest first.
    async fn audit_of(&self, subject: Uuid) -> Result<Vec<AuditRecord>, StoreError>;
    /// Delete audit entries with `seq <= through` (after the key store recorded the cut), at
    /// most `limit` per call; returns how many went.
    async fn prune_audit(&self, through: i64, limit: i64) -> Result<u64, StoreError>;
}

/// The whole store: every port, and what the backend is. Core holds one and lends it to
/// nobody; each part of core reaches it through the port its concern needs.
#[async_trait::async_trait]
pub trait Store:
    SubjectStore
    + AccountStore
    + RecordStore
    + RequestStore
    + OutboxStore
    + RetentionStore
    + MonthStore
    + LeaseStore
    + StaffStore
    + LedgerStore
    + AuditStore
    + WebhookStore
    + InboxStore
{
    /// Which backend this is, for logs and benchmarks ("sqlite", "postgres").
    fn backend(&self) -> &'static str;
    /// How many writers gain from running side by side: one where the database takes one
    /// writer at a time (SQLite), more where it locks rows (PostgreSQL).
    fn parallel_writers(&self) -> usize;

    async fn schema(&self) -> Result<Vec<(String, Vec<String>)>, StoreError>;
}
