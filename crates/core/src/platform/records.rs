//! Records: the platform's workflows about a person — orders, enrollments, support tickets —
//! stored one way. A record row keeps in clear only what its workflow and retention need: its
//! kind and state, a keyed digest to find it by (a payment reference, a course), and the time
//! its retention clock started (a course completed, a ticket closed). Everything personal about
//! it is sealed in events that point at it.

use crate::words::words;
use jiff::Timestamp;
use uuid::Uuid;

use crate::audit::AuditDraft;
use crate::store::SealedEvent;
use crate::{Result, Vintrova};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    Order,
    Enrollment,
    Ticket,
}

impl RecordKind {
    /// The key class its sealed events are kept under; erasing that class ends the record.
    pub fn key_class(self) -> &'static str {
        match self {
            RecordKind::Order => "financial",
            RecordKind::Enrollment => "learning",
            RecordKind::Ticket => "support",
        }
    }
}

words!(RecordKind {
    Order => "order",
    Enrollment => "enrollment",
    Ticket => "ticket",
});

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: Uuid,
    pub subject: Uuid,
    pub kind: RecordKind,
    pub state: String,
    pub digest: Option<Vec<u8>>,
    /// When its retention clock started, once it has.
    pub anchored_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A typed workflow over records of one kind.
pub trait RecordView: Sized {
    const KIND: RecordKind;
    fn from_record(record: Record) -> Option<Self>;
    fn into_record(self) -> Record;
}

impl Vintrova {
    pub(crate) async fn insert_record<T: RecordView>(
        &self,
        view: T,
        events: &[SealedEvent],
        audit: &AuditDraft,
    ) -> Result<T> {
        let record = view.into_record();
        self.audited(async |sealer| {
            self.store()
                .insert_record(&record, events, audit, sealer)
                .await
        })
        .await?;
        Ok(T::from_record(record).expect("a record converts back into the view it came from"))
    }

    /// Move a record to its next state, appending its events, in one transaction.
    pub(crate) async fn advance_record<T: RecordView>(
        &self,
        view: T,
        events: &[SealedEvent],
        audit: &AuditDraft,
    ) -> Result<T> {
        let mut record = view.into_record();
        record.updated_at = audit.at;
        self.audited(async |sealer| {
            self.store()
                .advance_record(&record, events, audit, sealer)
                .await
        })
        .await?;
        Ok(T::from_record(record).expect("a record converts back into the view it came from"))
    }

    pub async fn record<T: RecordView>(&self, id: Uuid) -> Result<Option<T>> {
        Ok(self
            .store()
            .record(id)
            .await?
            .filter(|r| r.kind == T::KIND)
            .and_then(T::from_record))
    }

    /// A person's records of one kind, oldest first.
    pub async fn records<T: RecordView>(&self, subject: Uuid) -> Result<Vec<T>> {
        Ok(self
            .store()
            .records(subject)
            .await?
            .into_iter()
            .filter(|r| r.kind == T::KIND)
            .filter_map(T::from_record)
            .collect())
    }

    pub(crate) async fn records_by_digest<T: RecordView>(&self, digest: &[u8]) -> Result<Vec<T>> {
        Ok(self
            .store()
            .records_by_digest(T::KIND, digest)
            .await?
            .into_iter()
            .filter_map(T::from_record)
            .collect())
    }
}
