//! Subjects and their data, end to end: collect, read for a purpose, copy, erase — each
//! through the data map, the vault, the purpose gate and the audit log.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;
use vintrova_policy::Policy;
use vintrova_vault::{Vault, VaultError};

use crate::accounts::PasswordCost;
use crate::appender::Appender;
use crate::audit::{Action, AuditDraft, ChainBreak, ChainSealer};
use crate::clock::Clock;
use crate::datamap::DataMap;
use crate::gate::{self, Refusal};
use crate::journal::ErasureJournal;
use crate::store::{ChainHead, Store, StoreError, SubjectRecord};
use crate::values::{self, FieldValue, InvalidInput};
use crate::workdays::WorkCalendar;

/// Who acts: written to the audit log as is. Never a person's name or email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    name: String,
    /// Why a person opened the data, in their own declaration (staff name one on every
    /// access, R7.7); the audit log keeps it on every entry the access writes.
    stated_purpose: Option<String>,
}

impl Actor {
    /// Whether this is the staff member `id` acting (`staff:<role>:<id>`).
    pub fn is_staff(&self, id: Uuid) -> bool {
        self.name.starts_with("staff:") && self.name.ends_with(&format!(":{id}"))
    }

    /// `kind:id`, e.g. `cli:operator`, `api:token-3`, `system:retention`.
    pub fn new(kind: &str, id: &str) -> Self {
        Actor {
            name: format!("{kind}:{id}"),
            stated_purpose: None,
        }
    }

    /// The same actor acting for `purpose` (checked by whoever builds it).
    pub fn for_purpose(self, purpose: &str) -> Self {
        Actor {
            stated_purpose: Some(purpose.to_string()),
            ..self
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn stated_purpose(&self) -> Option<&str> {
        self.stated_purpose.as_deref()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    #[error("subject {0} is unknown: it never existed or was erased")]
    UnknownSubject(Uuid),
    #[error("refused by the purpose gate: {0}")]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Store(StoreError),
    #[error(
        "the stored value of field `{field}` of subject {subject} does not decrypt: it was altered or moved in the database; restore it from a backup"
    )]
    Unreadable { subject: Uuid, field: String },
    #[error(transparent)]
    Auth(#[from] crate::accounts::AuthError),
    #[error("access denied: {0}")]
    Denied(#[from] crate::staff::AccessDenied),
    #[error("disclosure refused: {0}")]
    Disclosure(#[from] crate::disclosures::DisclosureRefusal),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("{0}")]
    Provider(String),
    #[error(transparent)]
    Verification(#[from] crate::requests::VerificationError),
    #[error("the link has expired or never existed; ask for a new copy")]
    Gone,
    #[error("the audit log does not verify: {0}")]
    Tampered(#[from] ChainBreak),
    #[error(
        "{0}. Personal data is not served until an operator looks into it and accepts the break on the record: `vintrova audit accept --reason …`"
    )]
    AuditBroken(crate::audit::TailBreak),
    #[error(
        "policy {version} lacks what Vintrova relies on: {missing}; put them back in the policy file"
    )]
    PolicyLacks { version: String, missing: String },
}

/// Refuse a policy that lacks a name the code relies on.
/// What a store write returns: the chain's new head, with or without a result of its own —
/// or nothing at all, when the write found nothing left to do.
pub(crate) trait Written {
    type Out;
    fn split(self) -> (Self::Out, Option<ChainHead>);
}

impl Written for ChainHead {
    type Out = ();
    fn split(self) -> ((), Option<ChainHead>) {
        ((), Some(self))
    }
}

impl<T> Written for (T, ChainHead) {
    type Out = T;
    fn split(self) -> (T, Option<ChainHead>) {
        (self.0, Some(self.1))
    }
}

impl Written for Option<ChainHead> {
    type Out = Option<()>;
    fn split(self) -> (Option<()>, Option<ChainHead>) {
        (self.as_ref().map(|_| ()), self)
    }
}

impl<T> Written for Option<(T, ChainHead)> {
    type Out = Option<T>;
    fn split(self) -> (Option<T>, Option<ChainHead>) {
        match self {
            Some((out, head)) => (Some(out), Some(head)),
            None => (None, None),
        }
    }
}

pub(crate) fn fits(policy: &Policy) -> Result<()> {
    let missing = crate::names::missing(policy);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CoreError::PolicyLacks {
            version: policy.version.clone(),
            missing: missing.join(", "),
        })
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownSubject(id) => CoreError::UnknownSubject(id),
            StoreError::ChainTail(brk) => {
                tracing::error!(
                    found = brk.found,
                    anchored = brk.anchored,
                    "the audit log lost its tail; appends refused"
                );
                CoreError::AuditBroken(brk)
            }
            StoreError::Taken(field) => CoreError::Invalid(crate::collect::taken(&field)),
            other => CoreError::Store(other),
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// The field notices, answers and receipts are sent to.
pub(crate) const ADDRESS: &str = crate::names::EMAIL;

/// The services over one policy, one store and one vault.
#[derive(Clone)]
pub struct Vintrova {
    pub(crate) policy: Arc<Policy>,
    pub(crate) map: DataMap,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) vault: Arc<Vault>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) password_cost: PasswordCost,
    pub(crate) decoy: std::sync::OnceLock<String>,
    pub(crate) journal: Option<Arc<dyn ErasureJournal>>,
    pub(crate) calendar: WorkCalendar,
    /// Purposes whose basis became consent in a published version (R10.1).
    pub(crate) renewals: gate::Renewals,
    /// The one way the audit chain grows and its head is made durable, with group commit.
    pub(crate) appender: Arc<Appender>,
}
impl Vintrova {
    /// The core over `policy`, which must hold every name the code relies on
    /// ([`crate::names`]); a policy without one is refused, naming each.
    pub fn new(
        policy: Arc<Policy>,
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        fits(&policy)?;
        let map = DataMap::from_policy(&policy);
        let appender = Arc::new(Appender::new(store.clone(), vault.clone()));
        Ok(Vintrova {
            policy,
            map,
            store,
            vault,
            clock,
            password_cost: PasswordCost::OWASP,
            decoy: std::sync::OnceLock::new(),
            journal: None,
            calendar: WorkCalendar::kazakhstan(),
            renewals: gate::Renewals::default(),
            appender,
        })
    }

    /// Record every erasure, and every person the sweep removes, in `journal` first, so a
    /// restored backup can erase them again.
    pub fn with_erasure_journal(mut self, journal: Arc<dyn ErasureJournal>) -> Self {
        self.journal = Some(journal);
        self
    }

    pub(crate) fn journal_erasure(&self, subjects: &[Uuid]) -> Result<()> {
        if let Some(journal) = &self.journal {
            journal.record(subjects).map_err(|e| {
                CoreError::Internal(format!(
                    "cannot write the erasure journal ({e}); nothing was erased, fix the data directory and try again"
                ))
            })?;
        }
        Ok(())
    }

    /// Count working days on `calendar` (Kazakhstan's by default; decrees come from
    /// configuration).
    pub fn with_calendar(mut self, calendar: WorkCalendar) -> Self {
        self.calendar = calendar;
        self
    }

    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    /// Hash passwords at `cost` (tests use [`PasswordCost::TEST`]).
    pub fn with_password_cost(mut self, cost: PasswordCost) -> Self {
        self.password_cost = cost;
        self
    }

    pub(crate) fn decoy_hash(&self) -> String {
        self.decoy
            .get_or_init(|| crate::accounts::decoy_hash(self.password_cost))
            .clone()
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn data_map(&self) -> &DataMap {
        &self.map
    }

    /// The store: core's own, lent to nobody (the web and the binary use the operations of
    /// `crate::operations`).
    pub(crate) fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Append an entry that records an act with no write of its own, and anchor the head: it
    /// joins the appender's next batch, and returns once that batch is durable.
    pub(crate) async fn log(&self, draft: AuditDraft) -> Result<()> {
        self.appender.append(draft).await
    }

    /// Parse a JSON document of field values against the data map.
    pub fn parse(&self, bytes: &[u8]) -> Result<Vec<FieldValue>, InvalidInput> {
        values::parse_document(&self.policy, bytes)
    }

    pub fn parse_json(&self, json: &Value) -> Result<Vec<FieldValue>, InvalidInput> {
        values::parse_value(&self.policy, json)
    }

    pub(crate) fn draft(
        &self,
        actor: &Actor,
        action: Action,
        subject: Option<Uuid>,
        categories: Vec<String>,
        purpose: Option<String>,
    ) -> AuditDraft {
        let mut categories = categories;
        categories.sort();
        categories.dedup();
        AuditDraft {
            at: self.clock.now(),
            actor: actor.as_str().to_string(),
            action: action.as_str().to_string(),
            subject,
            categories,
            purpose,
            stated_purpose: actor.stated_purpose.clone(),
            event: None,
        }
    }

    /// The sealer for the next append: it links entries, and refuses a tail short of the
    /// head this server knows durable.
    pub(crate) async fn sealer(&self) -> Result<ChainSealer<'_>> {
        self.appender.sealer().await
    }

    /// Make a head a write committed durable (with whatever else the appender's turn holds).
    pub(crate) async fn anchor(&self, head: ChainHead) -> Result<()> {
        self.appender.anchor(head).await
    }

    /// Forget the durable head, so the next append reads it from the anchors again.
    pub(crate) fn reload_durable_head(&self) {
        self.appender.reload();
    }

    /// Make a change through the store with its audit entry in the same transaction (`write`
    /// gets the sealer that links the entry into the chain), then anchor the chain's new head:
    /// the one way a change and its entry are written.
    pub(crate) async fn audited<W: Written>(
        &self,
        write: impl AsyncFnOnce(&ChainSealer<'_>) -> Result<W, StoreError>,
    ) -> Result<W::Out> {
        let sealer = self.sealer().await?;
        let (out, head) = match write(&sealer).await {
            Ok(written) => written.split(),
            Err(e) => {
                // What this server knew may be stale (another server pruned the whole log):
                // the next append reads the anchors and the checkpoint again.
                if matches!(e, StoreError::ChainTail(_)) {
                    self.reload_durable_head();
                }
                return Err(e.into());
            }
        };
        // Writers hand the appender their head: one anchor and one sync for all at once.
        if let Some(head) = head {
            self.anchor(head).await?;
        }
        Ok(out)
    }

    pub(crate) async fn require_subject(&self, id: Uuid) -> Result<SubjectRecord> {
        self.store
            .subject(id)
            .await?
            .ok_or(CoreError::UnknownSubject(id))
    }
}
