//! Subjects and their data, end to end: collect, read for a purpose, copy, erase — each
//! through the data map, the vault, the purpose gate and the audit log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;
use vintrova_policy::{LegalBasis, Policy};
use vintrova_vault::{Place, SubjectKeys, Vault, VaultError};

use crate::accounts::PasswordCost;
use crate::audit::{Action, AuditDraft, ChainBreak, ChainSealer, ChainVerifier};
use crate::clock::Clock;
use crate::consent::{self, Channel, ConsentAction, ConsentEvent};
use crate::datamap::{DataMap, SEALED_EVENTS, SEALED_VALUES};
use crate::gate::{self, BasisEvent, BasisEventKind, Grant, Refusal, RightClaim, Use};
use crate::journal::ErasureJournal;
use crate::outbox::{Attachment, Email};
use crate::receipts::{self, ErasureCause, KeptPart, ReceiptBody, SignedReceipt};
use crate::retention::{self, RetentionNote};
use crate::store::{
    ChainHead, ErasureCounts, ErasurePlan, IndexEntry, NewSubject, ReceiptRecord, Receipted,
    SealedEvent, SealedValue, Store, StoreError, SubjectRecord,
};
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
        "policy {version} lacks what Vintrova relies on: {missing}; put them back in the policy file"
    )]
    PolicyLacks { version: String, missing: String },
}

/// Refuse a policy that lacks a name the code relies on.
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
            other => CoreError::Store(other),
        }
    }
}

pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// How a new subject's data arrived and the bases it arrived with.
#[derive(Debug, Clone)]
pub struct Collection {
    /// A source of the policy (`registration_form`, `staff_entry`, …) (R4).
    pub source: String,
    /// Contracts, objections, restrictions in force from the start.
    pub bases: Vec<(BasisEventKind, Option<String>)>,
    /// Purposes the person consented to with this collection, and where.
    pub consents: Vec<String>,
    pub channel: Channel,
    /// Kept to answer the person's own request (R6.2), a legal obligation: not collected on
    /// consent, so not refused for want of one — and opened only to answer it.
    pub for_request: bool,
}

impl Collection {
    /// Data arriving with nothing but its source.
    pub fn from(source: &str) -> Self {
        Collection {
            source: source.to_string(),
            bases: vec![],
            consents: vec![],
            channel: Channel::StaffWrittenRequest,
            for_request: false,
        }
    }
}

/// A decrypted value with everything a person may ask about it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeldValue {
    pub field: String,
    pub category: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: Value,
    /// The basis the category is collected on (R3.2).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "consent"))]
    pub legal_basis: LegalBasis,
    pub purposes: Vec<PurposeUse>,
    pub source: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub collected_at: Timestamp,
    pub retention: RetentionNote,
    /// For event-stored categories: the event the value belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurposeUse {
    pub purpose: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "consent"))]
    pub legal_basis: LegalBasis,
}

/// A full copy of what is held on a subject (R6.1, access).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Export {
    pub subject: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub exported_at: Timestamp,
    pub policy_version: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    pub values: Vec<HeldValue>,
    pub bases: Vec<BasisEvent>,
    /// The consent ledger, every event as it was recorded.
    pub consents: Vec<ConsentEvent>,
}

/// What one purpose may see of a subject.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurposeView {
    pub subject: Uuid,
    pub purpose: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: BTreeMap<String, Value>,
    /// Events the purpose may see, oldest first, each as field → value.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub events: Vec<BTreeMap<String, Value>>,
    /// What the purpose uses but may not open now, and the rule: a category whose own basis
    /// does not hold, a confidential field without its consent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<gate::Withheld>,
}

/// Something an erasure kept because a law requires it, and until when.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kept {
    pub key_class: String,
    pub rule: String,
    pub fields: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub until: Timestamp,
}

/// The receipt of an erasure: what went, what stayed and why. Counts, never values.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasureReceipt {
    pub subject: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub erased_at: Timestamp,
    pub key_classes_destroyed: Vec<String>,
    pub keys_destroyed: u64,
    pub deleted: ErasureCounts,
    pub kept: Vec<Kept>,
    /// True when nothing is left: the subject is unknown from now on.
    pub subject_removed: bool,
    /// The person's signed receipt (the server keeps only its hash).
    pub signed: SignedReceipt,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    pub entries: i64,
}

/// The field notices, answers and receipts are sent to.
pub(crate) const ADDRESS: &str = crate::names::EMAIL;

/// Audit entries read per page when the chain is verified.
const VERIFY_PAGE: i64 = 5_000;

/// The services over one policy, one store and one vault.
pub struct Vintrova {
    policy: Arc<Policy>,
    map: DataMap,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    clock: Arc<dyn Clock>,
    pub(crate) password_cost: PasswordCost,
    decoy: std::sync::OnceLock<String>,
    journal: Option<Arc<dyn ErasureJournal>>,
    calendar: WorkCalendar,
    /// Purposes whose basis became consent in a published version (R10.1).
    renewals: gate::Renewals,
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
        })
    }

    /// Record every erasure, and every person the sweep removes, in `journal` first, so a
    /// restored backup can erase them again.
    pub fn with_erasure_journal(mut self, journal: Arc<dyn ErasureJournal>) -> Self {
        self.journal = Some(journal);
        self
    }

    pub(crate) fn journal_erasure(&self, subject: Uuid) -> Result<()> {
        if let Some(journal) = &self.journal {
            journal.record(subject).map_err(|e| {
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

    /// Append an entry that records an act with no write of its own, and anchor the head.
    pub(crate) async fn log(&self, draft: AuditDraft) -> Result<()> {
        let head = self.store.append_audit(&draft, &self.sealer()).await?;
        self.anchor(head).await
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
        }
    }

    pub(crate) fn sealer(&self) -> ChainSealer<'_> {
        ChainSealer::new(self.vault.chain())
    }

    pub(crate) async fn anchor(&self, head: ChainHead) -> Result<()> {
        self.vault.anchor(head.0, &head.1).await?;
        Ok(())
    }

    fn check_collection(&self, collection: &Collection) -> Result<(), InvalidInput> {
        if self.policy.source(&collection.source).is_none() {
            let known: Vec<&str> = self.policy.sources.iter().map(|s| s.key.as_str()).collect();
            return Err(InvalidInput::one(
                "source",
                format!("`{}` is not a source of the policy", collection.source),
                format!("one of {}", known.join(", ")),
            ));
        }
        for (kind, purpose) in &collection.bases {
            self.check_basis(*kind, purpose.as_deref())?;
        }
        for purpose in &collection.consents {
            self.check_consent_purpose(purpose)?;
        }
        Ok(())
    }

    fn unknown_purpose(&self, purpose: &str) -> InvalidInput {
        let known: Vec<&str> = self
            .policy
            .purposes
            .iter()
            .map(|p| p.key.as_str())
            .collect();
        InvalidInput::one(
            "purpose",
            format!("`{purpose}` is not a purpose of the policy"),
            format!("one of {}", known.join(", ")),
        )
    }

    pub(crate) fn check_consent_purpose(&self, purpose: &str) -> Result<(), InvalidInput> {
        if self.policy.is_consent_key(purpose) {
            return Ok(());
        }
        let mut known: Vec<&str> = self
            .policy
            .purposes
            .iter()
            .filter(|p| p.legal_basis == LegalBasis::Consent)
            .map(|p| p.key.as_str())
            .collect();
        known.extend(self.policy.consents.iter().map(|c| c.key.as_str()));
        let wrong = match self.policy.purpose(purpose) {
            Some(_) => {
                format!("`{purpose}` does not rest on consent, so a consent to it means nothing")
            }
            None => format!("`{purpose}` is not a consent of the policy"),
        };
        Err(InvalidInput::one(
            "purpose",
            wrong,
            format!("one of {}", known.join(", ")),
        ))
    }

    fn check_basis(&self, kind: BasisEventKind, purpose: Option<&str>) -> Result<(), InvalidInput> {
        match (kind.needs_purpose(), purpose) {
            (true, None) => Err(InvalidInput::one(
                "purpose",
                format!(
                    "`{}` concerns one purpose and none was named",
                    kind.as_str()
                ),
                "a purpose of the policy",
            )),
            (false, Some(_)) => Err(InvalidInput::one(
                "purpose",
                format!(
                    "`{}` concerns the whole relationship, not one purpose",
                    kind.as_str()
                ),
                "no purpose",
            )),
            (true, Some(p)) if self.policy.purpose(p).is_none() => Err(self.unknown_purpose(p)),
            _ => Ok(()),
        }
    }

    /// Seal values with the subject's keys (creating the classes it lacks): profile fields one
    /// row each with their blind index, event-stored categories one event per category.
    pub(crate) async fn seal(
        &self,
        subject: Uuid,
        values: &[FieldValue],
        source: &str,
        record: Option<Uuid>,
    ) -> Result<Sealed> {
        self.seal_groups(subject, &[values], source, record).await
    }

    /// [`Vintrova::seal`] for several groups at once (a history being imported): the keys
    /// are read once, and each group's event-stored categories make events of their own.
    pub(crate) async fn seal_groups(
        &self,
        subject: Uuid,
        groups: &[&[FieldValue]],
        source: &str,
        record: Option<Uuid>,
    ) -> Result<Sealed> {
        let now = self.clock.now();
        let classes: BTreeSet<&str> = groups
            .iter()
            .flat_map(|g| g.iter())
            .map(|v| self.entry(&v.field).key_class.as_str())
            .collect();
        let keys = self
            .vault
            .subject_keys_creating(subject, &classes.into_iter().collect::<Vec<_>>())
            .await?;
        let key_of = |class: &str| {
            keys.class(class)
                .expect("subject_keys_creating returns every class asked for")
                .clone()
        };
        let mut out = Sealed::default();
        for values in groups {
            self.seal_group(subject, values, source, record, now, &key_of, &mut out);
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn seal_group(
        &self,
        subject: Uuid,
        values: &[FieldValue],
        source: &str,
        record: Option<Uuid>,
        now: Timestamp,
        key_of: &dyn Fn(&str) -> vintrova_vault::DataKey,
        out: &mut Sealed,
    ) {
        let mut events: BTreeMap<(&str, &str), serde_json::Map<String, Value>> = BTreeMap::new();
        for v in values {
            let entry = self.entry(&v.field);
            if entry.location == SEALED_EVENTS {
                events
                    .entry((v.category.as_str(), entry.key_class.as_str()))
                    .or_default()
                    .insert(v.field.clone(), v.value.clone());
                continue;
            }
            let plaintext = serde_json::to_vec(&v.value).expect("a JSON value serializes");
            out.values.push(SealedValue {
                field: v.field.clone(),
                key_class: entry.key_class.clone(),
                sealed: vintrova_vault::seal(
                    &key_of(&entry.key_class),
                    &value_place(subject, &v.field),
                    &plaintext,
                ),
                source: source.to_string(),
                collected_at: now,
            });
            if let Some(form) = &v.index_form {
                out.index.push(IndexEntry {
                    field: v.field.clone(),
                    digest: self.vault.blind_index().digest(&v.field, form).to_vec(),
                });
            }
        }
        for ((category, class), fields) in events {
            let class = class.to_string();
            let id = Uuid::now_v7();
            let plaintext = serde_json::to_vec(&fields).expect("a JSON object serializes");
            out.events.push(SealedEvent {
                id,
                category: category.to_string(),
                sealed: vintrova_vault::seal(
                    &key_of(&class),
                    &event_place(subject, &id.to_string()),
                    &plaintext,
                ),
                key_class: class,
                source: source.to_string(),
                collected_at: now,
                record,
            });
        }
    }

    /// Categories stored as events may arrive only while a purpose that uses them has a basis
    /// that holds (R4.2: analytics only after cookie consent). Refuses with the first purpose's
    /// reason when none holds.
    fn check_event_basis(
        &self,
        id: Uuid,
        values: &[FieldValue],
        bases: &[BasisEvent],
        consents: &[ConsentEvent],
    ) -> Result<()> {
        let categories: BTreeSet<&str> = values
            .iter()
            .filter(|v| self.entry(&v.field).location == SEALED_EVENTS)
            .map(|v| v.category.as_str())
            .collect();
        for category in categories {
            let mut refusal = None;
            let held = self.policy.purposes_using(category).any(|p| {
                match self.decide(id, Use::Purpose(p.key.clone()), bases, consents) {
                    Ok(_) => true,
                    Err(r) => {
                        refusal.get_or_insert(r);
                        false
                    }
                }
            });
            if !held {
                return Err(refusal.expect("a mapped category has a purpose"));
            }
        }
        Ok(())
    }

    /// Refuse values the person has not consented to give: a category on consent without its
    /// consent, a confidential field without its own (R2.3, R3.2).
    fn check_may_collect<'a>(
        &self,
        values: impl IntoIterator<Item = &'a FieldValue>,
        bases: &[BasisEvent],
        consents: &[ConsentEvent],
    ) -> Result<()> {
        gate::may_collect(
            &self.policy,
            gate::Ledgers { bases, consents },
            values
                .into_iter()
                .map(|v| (v.category.as_str(), v.field.as_str())),
        )
        .map_err(|refusal| {
            tracing::info!(rule = %refusal.rule(), "collection refused");
            CoreError::Refused(refusal)
        })
    }

    fn entry(&self, field: &str) -> &crate::datamap::MapEntry {
        self.map
            .entry(field)
            .expect("values were checked against the same policy the data map was built from")
    }

    /// Store a new subject's data (R2.2: only declared fields, already checked).
    pub async fn add_subject(
        &self,
        actor: &Actor,
        values: Vec<FieldValue>,
        collection: Collection,
    ) -> Result<Uuid> {
        self.check_collection(&collection)?;
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let bases: Vec<BasisEvent> = collection
            .bases
            .iter()
            .map(|(kind, purpose)| BasisEvent {
                kind: *kind,
                purpose: purpose.clone(),
                channel: collection.source.clone(),
                at: now,
            })
            .collect();
        let consents: Vec<ConsentEvent> = collection
            .consents
            .iter()
            .map(|purpose| {
                self.consent_event(purpose, ConsentAction::Granted, collection.channel, None)
            })
            .collect();
        if !collection.for_request {
            self.check_may_collect(&values, &bases, &consents)?;
        }
        self.check_event_basis(id, &values, &bases, &consents)?;
        let sealed = self.seal(id, &values, &collection.source, None).await?;
        let audit = self.draft(
            actor,
            Action::Create,
            Some(id),
            categories_of(&values),
            None,
        );
        let new = NewSubject {
            subject: SubjectRecord {
                id,
                created_at: now,
            },
            values: sealed.values,
            index: sealed.index,
            events: sealed.events,
            bases,
            consents,
        };
        match self
            .store
            .insert_subject(&new, &audit, &self.sealer())
            .await
        {
            Ok(head) => {
                self.anchor(head).await?;
                Ok(id)
            }
            Err(e) => {
                // The keys made for this subject seal nothing now; do not leave them behind.
                let classes: Vec<String> = self
                    .map
                    .key_classes()
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                if let Err(cleanup) = self.vault.destroy(id, &classes).await {
                    tracing::warn!(subject = %id, error = %cleanup, "could not remove the keys of a subject whose insert failed");
                }
                Err(e.into())
            }
        }
    }

    /// Record observations of event-stored categories (visits, interactions) for `purpose`,
    /// which must use their categories and have a basis that holds now; otherwise nothing is
    /// stored and the refusal says why.
    pub async fn record_events(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: &str,
        values: Vec<FieldValue>,
        source: &str,
    ) -> Result<Vec<Uuid>> {
        self.import_events(actor, id, purpose, vec![values], source)
            .await
    }

    /// Record many events of one person at once — a history brought over from another system —
    /// checked like one, in one transaction with one audit entry.
    pub async fn import_events(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: &str,
        groups: Vec<Vec<FieldValue>>,
        source: &str,
    ) -> Result<Vec<Uuid>> {
        self.check_collection(&Collection::from(source))?;
        let values: Vec<&FieldValue> = groups.iter().flatten().collect();
        if let Some(v) = values
            .iter()
            .find(|v| self.entry(&v.field).location != SEALED_EVENTS)
        {
            return Err(InvalidInput::one(
                v.field.clone(),
                "not recorded as events; profile data is stored and corrected through the subject",
                "fields of an event-stored category (technical, usage)",
            )
            .into());
        }
        self.require_subject(id).await?;
        let bases = self.store.basis_events(id).await?;
        let consents = self.store.consents(id).await?;
        self.decide(id, Use::Purpose(purpose.to_string()), &bases, &consents)?;
        let uses = |category: &str| {
            self.policy
                .purpose(purpose)
                .is_some_and(|p| p.categories.iter().any(|c| c == category))
        };
        if let Some(v) = values.iter().find(|v| !uses(&v.category)) {
            return Err(InvalidInput::one(
                v.field.clone(),
                format!("purpose `{purpose}` does not use category `{}`", v.category),
                "fields of the categories the purpose uses",
            )
            .into());
        }
        self.check_may_collect(values.iter().copied(), &bases, &consents)?;
        let slices: Vec<&[FieldValue]> = groups.iter().map(Vec::as_slice).collect();
        let sealed = self.seal_groups(id, &slices, source, None).await?;
        let audit = self.draft(
            actor,
            Action::Create,
            Some(id),
            values.iter().map(|v| v.category.clone()).collect(),
            Some(purpose.to_string()),
        );
        let head = self
            .store
            .insert_events(id, &sealed.events, &audit, &self.sealer())
            .await?;
        self.anchor(head).await?;
        Ok(sealed.events.iter().map(|e| e.id).collect())
    }

    /// Correct or add values of an existing subject (rectification).
    pub async fn update_subject(
        &self,
        actor: &Actor,
        id: Uuid,
        values: Vec<FieldValue>,
        source: &str,
    ) -> Result<()> {
        self.check_collection(&Collection::from(source))?;
        if let Some(v) = values
            .iter()
            .find(|v| self.entry(&v.field).location == SEALED_EVENTS)
        {
            return Err(InvalidInput::one(
                v.field.clone(),
                "recorded as events, which are never rewritten",
                "profile fields; events arrive through record_events",
            )
            .into());
        }
        self.require_subject(id).await?;
        self.check_may_collect(
            &values,
            &self.store.basis_events(id).await?,
            &self.store.consents(id).await?,
        )?;
        let sealed = self.seal(id, &values, source, None).await?;
        let audit = self.draft(
            actor,
            Action::Update,
            Some(id),
            categories_of(&values),
            None,
        );
        let head = self
            .store
            .upsert_values(id, &sealed.values, &sealed.index, &audit, &self.sealer())
            .await?;
        self.anchor(head).await
    }

    /// Record a basis event (consent, contract, objection, restriction) for a subject.
    pub async fn record_basis(
        &self,
        actor: &Actor,
        id: Uuid,
        kind: BasisEventKind,
        purpose: Option<String>,
        channel: &str,
    ) -> Result<()> {
        self.check_basis(kind, purpose.as_deref())?;
        self.require_subject(id).await?;
        let event = BasisEvent {
            kind,
            purpose: purpose.clone(),
            channel: channel.to_string(),
            at: self.clock.now(),
        };
        let audit = self.draft(actor, Action::RecordBasis, Some(id), vec![], purpose);
        let head = self
            .store
            .append_basis_event(id, &event, &audit, &self.sealer())
            .await?;
        self.anchor(head).await
    }

    pub(crate) async fn require_subject(&self, id: Uuid) -> Result<SubjectRecord> {
        self.store
            .subject(id)
            .await?
            .ok_or(CoreError::UnknownSubject(id))
    }

    /// Ask the gate for a grant.
    pub(crate) async fn authorize(&self, id: Uuid, use_: Use) -> Result<Grant> {
        self.require_subject(id).await?;
        let bases = self.store.basis_events(id).await?;
        let consents = self.store.consents(id).await?;
        self.decide(id, use_, &bases, &consents)
    }

    /// The gate's decision on ledgers already read.
    pub(crate) fn decide(
        &self,
        id: Uuid,
        use_: Use,
        bases: &[BasisEvent],
        consents: &[ConsentEvent],
    ) -> Result<Grant> {
        gate::decide(
            &self.policy,
            &self.renewals,
            id,
            gate::Ledgers { bases, consents },
            use_,
        )
        .map_err(|refusal| {
            tracing::info!(subject = %id, rule = %refusal, "purpose gate refused");
            CoreError::Refused(refusal)
        })
    }

    /// Switch to the newest published policy version whose day has come, and note which
    /// purposes moved onto consent on the way (their older consents no longer count).
    pub async fn with_published_policy(self) -> Result<Self> {
        let today = self.now().to_zoned_datetime(self.policy.zone()).date();
        let in_force: Vec<crate::versions::PublishedVersion> = self
            .policy_versions()
            .await?
            .into_iter()
            .filter(|v| v.effective <= today)
            .collect();
        let mut renewals = gate::Renewals::default();
        for (i, version) in in_force.iter().enumerate() {
            let diff = vintrova_policy::PolicyDiff {
                changes: version.changes.clone(),
                ..Default::default()
            };
            for purpose in diff.now_on_consent() {
                let since: Vec<String> = in_force[i..].iter().map(|v| v.version.clone()).collect();
                renewals.insert(purpose, version.version.clone(), since);
            }
        }
        let mut app = self;
        if let Some(latest) = in_force.last()
            && latest.version != app.policy.version
        {
            let policy = vintrova_policy::load(&latest.text).map_err(|e| {
                CoreError::Internal(format!(
                    "published policy {} does not load ({e}); restore it from a backup",
                    latest.version
                ))
            })?;
            fits(&policy)?;
            tracing::info!(version = %policy.version, "the published policy is in force");
            app.map = DataMap::from_policy(&policy);
            app.policy = Arc::new(policy);
        }
        app.renewals = renewals;
        Ok(app)
    }

    /// Open the values and events a grant allows. The only place a sealed value is decrypted.
    /// The address a grant reaches: the person's email, when the grant covers contact data and
    /// one is on record.
    pub(crate) async fn address(&self, grant: &Grant) -> Result<Option<String>> {
        Ok(self
            .open(grant)
            .await?
            .into_iter()
            .find(|o| o.field == ADDRESS)
            .and_then(|o| o.value.as_str().map(str::to_string)))
    }

    pub(crate) async fn open(&self, grant: &Grant) -> Result<Vec<Opened>> {
        Ok(self.open_noting_closed(grant).await?.0)
    }

    /// [`Vintrova::open`], and what is held that the grant kept closed: fields as
    /// `category.field`, event-stored categories by their key.
    async fn open_noting_closed(&self, grant: &Grant) -> Result<(Vec<Opened>, BTreeSet<String>)> {
        let mut closed = BTreeSet::new();
        let subject = grant.subject();
        let keys: SubjectKeys = self.vault.subject_keys(subject).await?;
        let unreadable = |field: &str| CoreError::Unreadable {
            subject,
            field: field.to_string(),
        };
        let mut opened = Vec::new();
        for stored in self.store.values(subject).await? {
            // A field the policy no longer declares is not readable for any purpose; a
            // destroyed class's key is gone, and its values with it.
            let Some(entry) = self.map.entry(&stored.field) else {
                continue;
            };
            let Some(key) = keys.class(&stored.key_class) else {
                continue;
            };
            if !grant.allows_field(&entry.category, &stored.field) {
                closed.insert(stored.field);
                continue;
            }
            let plaintext =
                vintrova_vault::open(key, &value_place(subject, &stored.field), &stored.sealed)
                    .ok_or_else(|| unreadable(&stored.field))?;
            opened.push(Opened {
                value: serde_json::from_slice(&plaintext).map_err(|_| unreadable(&stored.field))?,
                category: entry.category.clone(),
                field: stored.field,
                source: stored.source,
                collected_at: stored.collected_at,
                event: None,
                record: None,
                key_class: stored.key_class.clone(),
            });
        }
        // Events are read only for a use that may see an event-stored category: a profile
        // read costs one query less.
        let wants_events = self
            .map
            .entries()
            .iter()
            .any(|e| e.location == SEALED_EVENTS && grant.allows(&e.category));
        let events = if wants_events {
            self.store.events(subject).await?
        } else {
            vec![]
        };
        for stored in events {
            let Some(key) = keys.class(&stored.key_class) else {
                continue;
            };
            if !grant.allows(&stored.category) {
                closed.insert(stored.category);
                continue;
            }
            let plaintext = vintrova_vault::open(
                key,
                &event_place(subject, &stored.id.to_string()),
                &stored.sealed,
            )
            .ok_or_else(|| unreadable(&stored.category))?;
            let fields: BTreeMap<String, Value> =
                serde_json::from_slice(&plaintext).map_err(|_| unreadable(&stored.category))?;
            for (field, value) in fields {
                if !grant.allows_field(&stored.category, &field) {
                    closed.insert(field);
                    continue;
                }
                opened.push(Opened {
                    field,
                    category: stored.category.clone(),
                    value,
                    source: stored.source.clone(),
                    collected_at: stored.collected_at,
                    event: Some(stored.id),
                    record: stored.record,
                    key_class: stored.key_class.clone(),
                });
            }
        }
        Ok((opened, closed))
    }

    /// Read what a purpose may see of a subject (R3.3).
    pub async fn read(&self, actor: &Actor, id: Uuid, purpose: &str) -> Result<PurposeView> {
        self.read_for(actor, id, Use::Purpose(purpose.to_string()))
            .await
    }

    /// Read what `use_` may see of a subject; the view is labelled with the use granted.
    pub(crate) async fn read_for(&self, actor: &Actor, id: Uuid, use_: Use) -> Result<PurposeView> {
        let purpose = use_.label();
        let grant = self.authorize(id, use_).await?;
        let (opened, closed) = self.open_noting_closed(&grant).await?;
        // Withheld is what is held and stayed closed, not every field the policy declares.
        let withheld = grant
            .withheld()
            .iter()
            .filter(|w| {
                closed.contains(&w.what)
                    || closed
                        .iter()
                        .any(|c| c.split_once('.').is_some_and(|(cat, _)| cat == w.what))
            })
            .cloned()
            .collect();
        let categories = opened.iter().map(|o| o.category.clone()).collect();
        let audit = self.draft(
            actor,
            Action::Read,
            Some(id),
            categories,
            Some(grant.use_().label()),
        );
        let head = self.store.append_audit(&audit, &self.sealer()).await?;
        self.anchor(head).await?;
        let mut values = BTreeMap::new();
        let mut events: BTreeMap<Uuid, BTreeMap<String, Value>> = BTreeMap::new();
        for o in opened {
            match o.event {
                None => {
                    values.insert(o.field, o.value);
                }
                Some(event) => {
                    events.entry(event).or_default().insert(o.field, o.value);
                }
            }
        }
        Ok(PurposeView {
            withheld,
            subject: id,
            purpose,
            values,
            // UUID v7 ids sort by time: oldest first.
            events: events.into_values().collect(),
        })
    }

    /// The signed-in person's own full copy: the session is the claim.
    pub async fn own_copy(&self, actor: &Actor, session: &str) -> Result<Export> {
        let subject = self.session(session).await?;
        self.export(actor, subject, RightClaim::own_session(subject))
            .await
    }

    /// A full copy of `subject` for anyone but the person: the answer to the person's
    /// verified request `request` (access, information or rectification), and nothing else;
    /// without one it is refused (`no_access_request`).
    pub async fn copy_for_request(
        &self,
        actor: &Actor,
        subject: Uuid,
        request: Option<Uuid>,
    ) -> Result<Export> {
        let claim = self.claim_of_request(subject, request).await?;
        self.export(actor, subject, claim).await
    }

    /// The claim `request` gives on `subject`'s data, if it is theirs and verified.
    pub(crate) async fn claim_of_request(
        &self,
        subject: Uuid,
        request: Option<Uuid>,
    ) -> Result<RightClaim> {
        self.require_subject(subject).await?;
        let Some(request) = request else {
            return Err(Refusal::NoAccessRequest.into());
        };
        let found = self.store.request(request).await?.ok_or_else(|| {
            InvalidInput::one(
                "request",
                "not a request of ours",
                "the id of the person's verified request",
            )
        })?;
        if found.subject != subject {
            return Err(Refusal::NotTheirClaim.into());
        }
        Ok(RightClaim::of_request(&found)?)
    }

    /// A full copy of everything held on the subject, each value with why and until when.
    pub(crate) async fn export(
        &self,
        actor: &Actor,
        id: Uuid,
        claim: RightClaim,
    ) -> Result<Export> {
        let record = self.require_subject(id).await?;
        // Each ledger once: the gate, the retention anchors and the copy all read them.
        let bases = self.store.basis_events(id).await?;
        let consents = self.store.consents(id).await?;
        let grant = self.decide(id, Use::Right(claim), &bases, &consents)?;
        let anchors = retention::Anchors::of(
            &bases,
            &consents,
            &self.store.records(id).await?,
            &self.store.requests_of(id).await?,
        );
        let values: Vec<HeldValue> = self
            .open(&grant)
            .await?
            .into_iter()
            .map(|o| self.describe(o, &anchors))
            .collect();
        let categories = values.iter().map(|v| v.category.clone()).collect();
        let audit = self.draft(
            actor,
            Action::Export,
            Some(id),
            categories,
            Some(grant.use_().label()),
        );
        let head = self.store.append_audit(&audit, &self.sealer()).await?;
        self.anchor(head).await?;
        Ok(Export {
            subject: id,
            exported_at: self.clock.now(),
            policy_version: self.policy.version.clone(),
            created_at: record.created_at,
            values,
            bases,
            consents,
        })
    }

    /// When this person's retention clocks started, as far as they have.
    pub async fn anchors(&self, id: Uuid) -> Result<retention::Anchors> {
        Ok(retention::Anchors::of(
            &self.store.basis_events(id).await?,
            &self.store.consents(id).await?,
            &self.store.records(id).await?,
            &self.store.requests_of(id).await?,
        ))
    }

    fn describe(&self, o: Opened, anchors: &retention::Anchors) -> HeldValue {
        let category = self.policy.category(&o.category).expect("mapped category");
        let rule = self
            .policy
            .rule_of_class(&o.key_class)
            .unwrap_or_else(|| self.policy.retention_of(category));
        HeldValue {
            field: o.field,
            category: category.key.clone(),
            value: o.value,
            legal_basis: category.legal_basis,
            purposes: self
                .policy
                .purposes_using(&category.key)
                .map(|p| PurposeUse {
                    purpose: p.key.clone(),
                    legal_basis: p.legal_basis,
                })
                .collect(),
            source: o.source,
            collected_at: o.collected_at,
            retention: retention::note(&self.policy, rule, o.collected_at, o.record, anchors),
            event: o.event,
        }
    }

    /// Erase a subject: destroy the keys of every class the law lets go, then delete their
    /// rows, events and index entries, leaving no trace of the values in the database files.
    /// What a law requires to keep stays, and the receipt says what, why and until when.
    pub async fn erase(&self, actor: &Actor, id: Uuid) -> Result<ErasureReceipt> {
        self.erase_for(actor, id, None, None).await
    }

    /// Erase, and send the signed receipt to `to` with the erasure itself.
    /// `request` is the person's request the erasure answers, when it answers one.
    pub(crate) async fn erase_for(
        &self,
        actor: &Actor,
        id: Uuid,
        to: Option<String>,
        request: Option<Uuid>,
    ) -> Result<ErasureReceipt> {
        self.require_subject(id).await?;
        let anchors = self.anchors(id).await?;
        let now = self.clock.now();
        // (key class, category, field, collected, record) of everything held.
        let mut held: Vec<(String, String, String, Timestamp, Option<Uuid>)> = Vec::new();
        for v in self.store.values(id).await? {
            if let Some(entry) = self.map.entry(&v.field) {
                held.push((
                    v.key_class,
                    entry.category.clone(),
                    v.field,
                    v.collected_at,
                    None,
                ));
            }
        }
        for e in self.store.events(id).await? {
            held.push((
                e.key_class,
                e.category.clone(),
                e.category,
                e.collected_at,
                e.record,
            ));
        }
        let mut kept: BTreeMap<String, Kept> = BTreeMap::new();
        for (class, _, field, collected_at, record) in &held {
            let Some(rule) = self.policy.rule_of_class(class) else {
                continue;
            };
            let Some(until) = retention::due(&self.policy, rule, *collected_at, *record, &anchors)
            else {
                continue;
            };
            if rule.required_by_law && until > now {
                let k = kept.entry(class.clone()).or_insert_with(|| Kept {
                    key_class: class.clone(),
                    rule: rule.key.clone(),
                    fields: vec![],
                    until,
                });
                k.until = k.until.max(until);
                if !k.fields.contains(field) {
                    k.fields.push(field.clone());
                }
            }
        }
        let mut classes: BTreeSet<String> = self
            .vault
            .subject_keys(id)
            .await?
            .classes()
            .map(str::to_string)
            .collect();
        classes.extend(held.iter().map(|h| h.0.clone()));
        let classes: Vec<String> = classes
            .into_iter()
            .filter(|c| !kept.contains_key(c))
            .collect();
        let categories: BTreeSet<String> = held
            .iter()
            .filter(|h| classes.contains(&h.0))
            .map(|h| h.1.clone())
            .collect();
        let kept_parts = kept
            .values()
            .map(|k| KeptPart {
                categories: held
                    .iter()
                    .filter(|h| h.0 == k.key_class)
                    .map(|h| h.1.clone())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                rule: k.rule.clone(),
                until: Some(k.until),
            })
            .collect();
        let signed = self.sign_receipt(ErasureCause::Request, &categories, kept_parts);
        let plan = ErasurePlan {
            classes: classes.clone(),
            whole_subject: kept.is_empty(),
            receipt: Some(self.receipted(&signed, ErasureCause::Request, to)),
        };
        self.journal_erasure(id)?;
        // Keys first: from this moment every copy of these values, in any backup, is noise.
        let keys_destroyed = self.vault.destroy(id, &classes).await?;
        let audit = self.draft(
            actor,
            Action::Erase,
            Some(id),
            categories.into_iter().collect(),
            Some(match request {
                Some(r) => format!("right:erasure@request:{r}"),
                None => "erasure".to_string(),
            }),
        );
        let (deleted, head) = self.store.erase(id, &plan, &audit, &self.sealer()).await?;
        self.anchor(head).await?;
        Ok(ErasureReceipt {
            subject: id,
            erased_at: now,
            key_classes_destroyed: classes,
            keys_destroyed,
            deleted,
            kept: kept.into_values().collect(),
            subject_removed: plan.whole_subject,
            signed,
        })
    }

    /// A receipt of `destroyed` and `kept`, signed now.
    pub(crate) fn sign_receipt(
        &self,
        cause: ErasureCause,
        destroyed: &BTreeSet<String>,
        kept: Vec<KeptPart>,
    ) -> SignedReceipt {
        let key = self.vault.signing();
        receipts::sign(
            &ReceiptBody {
                format: receipts::FORMAT.into(),
                receipt: Uuid::now_v7(),
                issuer: self.policy.operator.name.clone(),
                cause,
                erased_at: self.clock.now(),
                destroyed: destroyed.iter().cloned().collect(),
                kept,
                signing_key: key.public().fingerprint(),
            },
            key,
        )
    }

    /// The receipt's hash to keep and, with an address, the message that carries it.
    pub(crate) fn receipted(
        &self,
        signed: &SignedReceipt,
        cause: ErasureCause,
        to: Option<String>,
    ) -> Receipted {
        let locale = &self.policy.default_locale;
        let message = to.map(|to| {
            let (title, text) = receipts::message(locale, cause);
            let email = Email {
                message_id: format!("<receipt-{}@vintrova.outbox>", signed.id),
                to,
                subject: title.into(),
                body: format!("{text}\n\n{}", receipts::explanation(locale)),
                attachment: Some(Attachment {
                    file_name: signed.file_name(),
                    text: signed.text.clone(),
                }),
            };
            self.outbox_message(Uuid::now_v7(), None, "erasure:receipt", &email)
        });
        Receipted {
            record: ReceiptRecord {
                id: signed.id,
                digest: signed.digest(),
                cause: cause.as_str().into(),
                issued_at: self.clock.now(),
            },
            message,
        }
    }

    /// The receipt with this text, if this server issued it (the server keeps only hashes).
    pub async fn issued_receipt(&self, text: &str) -> Result<Option<ReceiptRecord>> {
        Ok(self.store.receipt(&receipts::digest(text)).await?)
    }

    fn consent_event(
        &self,
        purpose: &str,
        action: ConsentAction,
        channel: Channel,
        evidence: Option<&str>,
    ) -> ConsentEvent {
        ConsentEvent {
            purpose: purpose.to_string(),
            action,
            policy_version: self.policy.version.clone(),
            channel,
            evidence: evidence.map(|e| {
                self.vault
                    .blind_index()
                    .digest("consent.evidence", e)
                    .to_vec()
            }),
            terms: consent::terms(&self.policy, purpose),
            at: self.clock.now(),
        }
    }

    /// Grant or withdraw a consent; withdrawing is as easy as granting and stops the next use
    /// at once. `evidence` (what the person submitted) is kept only as a keyed digest.
    pub async fn record_consent(
        &self,
        actor: &Actor,
        id: Uuid,
        purpose: &str,
        action: ConsentAction,
        channel: Channel,
        evidence: Option<&str>,
    ) -> Result<ConsentEvent> {
        self.check_consent_purpose(purpose)?;
        self.require_subject(id).await?;
        let event = self.consent_event(purpose, action, channel, evidence);
        let audit = self.draft(
            actor,
            Action::RecordConsent,
            Some(id),
            vec![],
            Some(purpose.to_string()),
        );
        let head = self
            .store
            .append_consent(id, &event, &audit, &self.sealer())
            .await?;
        self.anchor(head).await?;
        // A consent the account cannot do without (contact data): withdrawn, the service ends
        // as closing the account ends it, as its text told the person before they gave it.
        if action == ConsentAction::Withdrawn
            && self
                .policy
                .consent_term(purpose)
                .is_some_and(|term| term.required)
        {
            self.end_service(actor, id).await?;
        }
        Ok(event)
    }

    /// Whether `evidence` is what a recorded consent event was given with.
    pub fn evidence_matches(&self, event: &ConsentEvent, evidence: &str) -> bool {
        event.evidence.as_deref()
            == Some(
                self.vault
                    .blind_index()
                    .digest("consent.evidence", evidence)
                    .as_slice(),
            )
    }

    /// Find subjects by an indexed field (email, phone) without storing or logging the value.
    pub async fn find(&self, actor: &Actor, field: &str, raw: &str) -> Result<Vec<Uuid>> {
        let indexed: Vec<String> = self
            .policy
            .categories
            .iter()
            .flat_map(|c| {
                c.fields
                    .iter()
                    .filter(|f| f.blind_index)
                    .map(move |f| format!("{}.{}", c.key, f.key))
            })
            .collect();
        let Some((category, _)) = self.policy.field(field).filter(|(_, f)| f.blind_index) else {
            return Err(InvalidInput::one(
                "field",
                format!(
                    "`{field}` has no blind index; subjects can be found only by an indexed field"
                ),
                format!("one of the indexed fields ({})", indexed.join(", ")),
            )
            .into());
        };
        let mut doc = serde_json::Map::new();
        let (cat, key) = field
            .split_once('.')
            .expect("a declared field has a category");
        doc.insert(cat.into(), serde_json::json!({ key: raw }));
        let parsed = values::parse_value(&self.policy, &Value::Object(doc))?;
        let form = parsed[0]
            .index_form
            .as_deref()
            .expect("indexed field has an index form");
        let digest = self.vault.blind_index().digest(field, form);
        let found = self.store.find_by_index(field, &digest).await?;
        for id in &found {
            let audit = self.draft(
                actor,
                Action::Find,
                Some(*id),
                vec![category.key.clone()],
                None,
            );
            let head = self.store.append_audit(&audit, &self.sealer()).await?;
            self.anchor(head).await?;
        }
        Ok(found)
    }

    /// Walk the whole audit chain; `Err(Tampered)` names the first entry that does not verify.
    pub async fn verify_audit(&self) -> Result<AuditReport> {
        let anchors = self.vault.anchors().await?;
        let checkpoint = self
            .vault
            .key_store()
            .chain_checkpoint()
            .await
            .map_err(VaultError::from)?;
        let after = checkpoint.as_ref().map_or(0, |c| c.0 - 1);
        let mut verifier = ChainVerifier::new(self.vault.chain(), anchors, checkpoint);
        let mut page = self.store.audit_page(after, VERIFY_PAGE).await?;
        // The next page is read while this one is checked: the database and the hashing
        // overlap instead of taking turns.
        while let Some(last) = page.last() {
            let (next, checked) =
                tokio::join!(self.store.audit_page(last.seq, VERIFY_PAGE), async {
                    page.iter().try_for_each(|record| verifier.feed(record))
                });
            checked?;
            page = next?;
        }
        Ok(AuditReport {
            entries: verifier.finish()?,
        })
    }
}

fn categories_of(values: &[FieldValue]) -> Vec<String> {
    values.iter().map(|v| v.category.clone()).collect()
}

fn value_place(subject: Uuid, field: &str) -> Place<'_> {
    Place {
        subject,
        table: SEALED_VALUES.table,
        column: SEALED_VALUES.column,
        row: field,
    }
}

fn event_place(subject: Uuid, event: &str) -> Place<'_> {
    Place {
        subject,
        table: SEALED_EVENTS.table,
        column: SEALED_EVENTS.column,
        row: event,
    }
}

/// What `seal` produces for the store.
#[derive(Default)]
pub(crate) struct Sealed {
    pub(crate) values: Vec<SealedValue>,
    pub(crate) index: Vec<IndexEntry>,
    pub(crate) events: Vec<SealedEvent>,
}

/// One decrypted value, from a profile row or an event.
pub(crate) struct Opened {
    pub(crate) field: String,
    pub(crate) category: String,
    pub(crate) value: Value,
    pub(crate) source: String,
    pub(crate) collected_at: Timestamp,
    pub(crate) event: Option<Uuid>,
    /// The record (an order, an enrollment, a ticket) an event belongs to.
    pub(crate) record: Option<Uuid>,
    pub(crate) key_class: String,
}
