//! Append-only ledgers of the practice's own records — staff paperwork, incidents, audits and
//! risk assessments. An entry is written once, with the audit entry that records it, and never
//! rewritten; each concept folds its book's entries into its current picture.

use jiff::Timestamp;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::audit::Action;
use crate::events::Event;
use crate::{Actor, CoreError, Result, Vintrova};

/// One entry: which book, which thing in it, when, by whom, and what (a JSON document whose
/// shape the book's concept owns).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub book: String,
    pub entity: Uuid,
    pub at: Timestamp,
    pub actor: String,
    pub body: serde_json::Value,
}

impl LedgerEntry {
    /// The body in its concept's shape; a body that no longer parses is a damaged store.
    pub fn body<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.body.clone()).map_err(|e| {
            CoreError::Internal(format!(
                "ledger `{}` entry for {} does not parse ({e}); restore the database from a backup",
                self.book, self.entity
            ))
        })
    }
}

impl Vintrova {
    /// Append `body` to `book` for `entity`, with its audit entry (`action`, touching
    /// `categories`; no subject's data is in a ledger), in one transaction.
    pub(crate) async fn append_ledger<T: Serialize>(
        &self,
        actor: &Actor,
        place: (&str, Uuid),
        body: &T,
        action: Action,
        categories: Vec<String>,
    ) -> Result<LedgerEntry> {
        self.append_ledger_telling(actor, place, body, (action, None), categories)
            .await
    }

    /// [`Self::append_ledger`] for an entry the platform is told of (`told`).
    pub(crate) async fn append_ledger_telling<T: Serialize>(
        &self,
        actor: &Actor,
        (book, entity): (&str, Uuid),
        body: &T,
        (action, told): (Action, Option<Event>),
        categories: Vec<String>,
    ) -> Result<LedgerEntry> {
        let entry = LedgerEntry {
            book: book.to_string(),
            entity,
            at: self.now(),
            actor: actor.as_str().to_string(),
            body: serde_json::to_value(body)
                .map_err(|e| CoreError::Internal(format!("ledger body: {e}")))?,
        };
        let mut audit = self.draft(actor, action, None, categories, None);
        audit.event = told;
        self.audited(async |sealer| self.store().append_ledger(&entry, &audit, sealer).await)
            .await?;
        Ok(entry)
    }

    /// Every entry of `book` (for one entity, or all), oldest first.
    pub(crate) async fn ledger(
        &self,
        book: &str,
        entity: Option<Uuid>,
    ) -> Result<Vec<LedgerEntry>> {
        Ok(self.store().ledger(book, entity).await?)
    }
}
