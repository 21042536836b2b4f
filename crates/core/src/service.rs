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

use crate::audit::{Action, AuditDraft, ChainBreak, ChainSealer, ChainVerifier};
use crate::clock::Clock;
use crate::datamap::{DataMap, SEALED_VALUES};
use crate::gate::{self, BasisEvent, BasisEventKind, Grant, Refusal, Right, Use};
use crate::retention::{self, RetentionNote};
use crate::store::{
    ChainHead, ErasureCounts, ErasurePlan, IndexEntry, SealedValue, Store, StoreError,
    SubjectRecord,
};
use crate::values::{self, FieldValue, InvalidInput};

/// Who acts: written to the audit log as is. Never a person's name or email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// `kind:id`, e.g. `cli:operator`, `api:token-3`, `system:retention`.
    pub fn new(kind: &str, id: &str) -> Self {
        Actor(format!("{kind}:{id}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    #[error("the audit log does not verify: {0}")]
    Tampered(#[from] ChainBreak),
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
    pub bases: Vec<(BasisEventKind, Option<String>)>,
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
}

/// What one purpose may see of a subject.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurposeView {
    pub subject: Uuid,
    pub purpose: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: BTreeMap<String, Value>,
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
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditReport {
    pub entries: i64,
}

/// The services over one policy, one store and one vault.
pub struct Vintrova {
    policy: Arc<Policy>,
    map: DataMap,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    clock: Arc<dyn Clock>,
}

impl Vintrova {
    pub fn new(
        policy: Arc<Policy>,
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let map = DataMap::from_policy(&policy);
        Vintrova {
            policy,
            map,
            store,
            vault,
            clock,
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn data_map(&self) -> &DataMap {
        &self.map
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// Parse a JSON document of field values against the data map.
    pub fn parse(&self, bytes: &[u8]) -> Result<Vec<FieldValue>, InvalidInput> {
        values::parse_document(&self.policy, bytes)
    }

    pub fn parse_json(&self, json: &Value) -> Result<Vec<FieldValue>, InvalidInput> {
        values::parse_value(&self.policy, json)
    }

    fn draft(
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
        }
    }

    fn sealer(&self) -> ChainSealer<'_> {
        ChainSealer::new(self.vault.chain())
    }

    async fn anchor(&self, head: ChainHead) -> Result<()> {
        self.vault
            .key_store()
            .advance_chain_anchor(head.0, &head.1)
            .await
            .map_err(VaultError::from)?;
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
        Ok(())
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
            (true, Some(p)) if self.policy.purpose(p).is_none() => {
                let known: Vec<&str> = self
                    .policy
                    .purposes
                    .iter()
                    .map(|p| p.key.as_str())
                    .collect();
                Err(InvalidInput::one(
                    "purpose",
                    format!("`{p}` is not a purpose of the policy"),
                    format!("one of {}", known.join(", ")),
                ))
            }
            (true, Some(p))
                if kind == BasisEventKind::ConsentGranted
                    && self
                        .policy
                        .purpose(p)
                        .is_some_and(|p| p.legal_basis != LegalBasis::Consent) =>
            {
                Err(InvalidInput::one(
                    "purpose",
                    format!("`{p}` does not rest on consent, so a consent to it means nothing"),
                    "a purpose whose legal basis is consent",
                ))
            }
            _ => Ok(()),
        }
    }

    /// Seal values with the subject's keys (creating the classes it lacks) and build their index.
    async fn seal(
        &self,
        subject: Uuid,
        values: &[FieldValue],
        source: &str,
    ) -> Result<(Vec<SealedValue>, Vec<IndexEntry>)> {
        let now = self.clock.now();
        let classes: BTreeSet<&str> = values
            .iter()
            .map(|v| self.entry(&v.field).key_class.as_str())
            .collect();
        let keys = self
            .vault
            .subject_keys_creating(subject, &classes.into_iter().collect::<Vec<_>>())
            .await?;
        let mut sealed = Vec::with_capacity(values.len());
        let mut index = Vec::new();
        for v in values {
            let entry = self.entry(&v.field);
            let key = keys
                .class(&entry.key_class)
                .expect("subject_keys_creating returns every class asked for");
            let plaintext = serde_json::to_vec(&v.value).expect("a JSON value serializes");
            sealed.push(SealedValue {
                field: v.field.clone(),
                key_class: entry.key_class.clone(),
                sealed: vintrova_vault::seal(key, &place(subject, &v.field), &plaintext),
                source: source.to_string(),
                collected_at: now,
            });
            if let Some(form) = &v.index_form {
                index.push(IndexEntry {
                    field: v.field.clone(),
                    digest: self.vault.blind_index().digest(&v.field, form).to_vec(),
                });
            }
        }
        Ok((sealed, index))
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
        let (sealed, index) = self.seal(id, &values, &collection.source).await?;
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
        let audit = self.draft(
            actor,
            Action::Create,
            Some(id),
            categories_of(&values),
            None,
        );
        let record = SubjectRecord {
            id,
            created_at: now,
        };
        match self
            .store
            .insert_subject(&record, &sealed, &index, &bases, &audit, &self.sealer())
            .await
        {
            Ok(head) => {
                self.anchor(head).await?;
                Ok(id)
            }
            Err(e) => {
                // The keys made for this subject seal nothing now; do not leave them behind.
                let classes: Vec<String> = sealed.iter().map(|s| s.key_class.clone()).collect();
                if let Err(cleanup) = self.vault.destroy(id, &classes).await {
                    tracing::warn!(subject = %id, error = %cleanup, "could not remove the keys of a subject whose insert failed");
                }
                Err(e.into())
            }
        }
    }

    /// Correct or add values of an existing subject (rectification).
    pub async fn update_subject(
        &self,
        actor: &Actor,
        id: Uuid,
        values: Vec<FieldValue>,
        source: &str,
    ) -> Result<()> {
        self.check_collection(&Collection {
            source: source.to_string(),
            bases: vec![],
        })?;
        self.require_subject(id).await?;
        let (sealed, index) = self.seal(id, &values, source).await?;
        let audit = self.draft(
            actor,
            Action::Update,
            Some(id),
            categories_of(&values),
            None,
        );
        let head = self
            .store
            .upsert_values(id, &sealed, &index, &audit, &self.sealer())
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

    async fn require_subject(&self, id: Uuid) -> Result<SubjectRecord> {
        self.store
            .subject(id)
            .await?
            .ok_or(CoreError::UnknownSubject(id))
    }

    /// Ask the gate for a grant.
    pub async fn authorize(&self, id: Uuid, use_: Use) -> Result<Grant> {
        self.require_subject(id).await?;
        let events = self.store.basis_events(id).await?;
        gate::decide(&self.policy, id, &events, use_).map_err(|refusal| {
            tracing::info!(subject = %id, rule = %refusal, "purpose gate refused");
            CoreError::Refused(refusal)
        })
    }

    /// Open the values a grant allows. The only place a sealed value is decrypted.
    async fn open(&self, grant: &Grant) -> Result<Vec<(SealedValue, Value)>> {
        let subject = grant.subject();
        let keys: SubjectKeys = self.vault.subject_keys(subject).await?;
        let mut opened = Vec::new();
        for stored in self.store.values(subject).await? {
            let Some(entry) = self.map.entry(&stored.field) else {
                // A field the policy no longer declares: not readable for any purpose.
                continue;
            };
            if !grant.allows(&entry.category) {
                continue;
            }
            // A destroyed class's key is gone: its values are unreadable by design.
            let Some(key) = keys.class(&stored.key_class) else {
                continue;
            };
            let unreadable = || CoreError::Unreadable {
                subject,
                field: stored.field.clone(),
            };
            let plaintext =
                vintrova_vault::open(key, &place(subject, &stored.field), &stored.sealed)
                    .ok_or_else(unreadable)?;
            let value = serde_json::from_slice(&plaintext).map_err(|_| unreadable())?;
            opened.push((stored, value));
        }
        Ok(opened)
    }

    /// Read what a purpose may see of a subject (R3.3).
    pub async fn read(&self, actor: &Actor, id: Uuid, purpose: &str) -> Result<PurposeView> {
        let grant = self
            .authorize(id, Use::Purpose(purpose.to_string()))
            .await?;
        let opened = self.open(&grant).await?;
        let categories = opened
            .iter()
            .map(|(s, _)| self.entry(&s.field).category.clone())
            .collect();
        let audit = self.draft(
            actor,
            Action::Read,
            Some(id),
            categories,
            Some(grant.use_().label()),
        );
        let head = self.store.append_audit(&audit, &self.sealer()).await?;
        self.anchor(head).await?;
        Ok(PurposeView {
            subject: id,
            purpose: purpose.to_string(),
            values: opened.into_iter().map(|(s, v)| (s.field, v)).collect(),
        })
    }

    /// A full copy of everything held on the subject, each value with why and until when.
    pub async fn export(&self, actor: &Actor, id: Uuid) -> Result<Export> {
        let record = self.require_subject(id).await?;
        let grant = self.authorize(id, Use::Right(Right::Access)).await?;
        let opened = self.open(&grant).await?;
        let values: Vec<HeldValue> = opened
            .into_iter()
            .map(|(s, v)| self.describe(s, v))
            .collect();
        let bases = self.store.basis_events(id).await?;
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
        })
    }

    fn describe(&self, stored: SealedValue, value: Value) -> HeldValue {
        let entry = self.entry(&stored.field);
        let category = self
            .policy
            .category(&entry.category)
            .expect("mapped category");
        let rule = self.policy.retention_of(category);
        HeldValue {
            field: stored.field,
            category: category.key.clone(),
            value,
            legal_basis: category.legal_basis,
            purposes: self
                .policy
                .purposes_using(&category.key)
                .map(|p| PurposeUse {
                    purpose: p.key.clone(),
                    legal_basis: p.legal_basis,
                })
                .collect(),
            source: stored.source,
            collected_at: stored.collected_at,
            retention: retention::note(&self.policy, rule, stored.collected_at),
        }
    }

    /// Erase a subject: destroy the keys of every class the law lets go, then delete their
    /// rows and index entries, leaving no trace of the values in the database files. What a
    /// law requires to keep stays, and the receipt says what, why and until when.
    pub async fn erase(&self, actor: &Actor, id: Uuid) -> Result<ErasureReceipt> {
        self.require_subject(id).await?;
        let now = self.clock.now();
        let stored = self.store.values(id).await?;
        let mut kept: BTreeMap<String, Kept> = BTreeMap::new();
        for value in &stored {
            let Some(entry) = self.map.entry(&value.field) else {
                continue;
            };
            let rule = self
                .policy
                .retention_rule(&entry.retention)
                .expect("mapped rule");
            let Some(until) = retention::due(&self.policy, rule, value.collected_at) else {
                continue;
            };
            if rule.required_by_law && until > now {
                let k = kept.entry(value.key_class.clone()).or_insert_with(|| Kept {
                    key_class: value.key_class.clone(),
                    rule: rule.key.clone(),
                    fields: vec![],
                    until,
                });
                k.until = k.until.max(until);
                if !k.fields.contains(&value.field) {
                    k.fields.push(value.field.clone());
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
        classes.extend(stored.iter().map(|v| v.key_class.clone()));
        let classes: Vec<String> = classes
            .into_iter()
            .filter(|c| !kept.contains_key(c))
            .collect();
        let categories = stored
            .iter()
            .filter(|v| classes.contains(&v.key_class))
            .filter_map(|v| self.map.entry(&v.field).map(|e| e.category.clone()))
            .collect();
        let plan = ErasurePlan {
            classes: classes.clone(),
            whole_subject: kept.is_empty(),
        };
        // Keys first: from this moment every copy of these values, in any backup, is noise.
        let keys_destroyed = self.vault.destroy(id, &classes).await?;
        let audit = self.draft(
            actor,
            Action::Erase,
            Some(id),
            categories,
            Some(Use::Right(Right::Erasure).label()),
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
        })
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
        let anchor = self
            .vault
            .key_store()
            .chain_anchor()
            .await
            .map_err(VaultError::from)?;
        let mut verifier = ChainVerifier::new(self.vault.chain(), anchor);
        let mut after = 0;
        loop {
            let page = self.store.audit_page(after, 1000).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for record in &page {
                verifier.feed(record)?;
            }
        }
        Ok(AuditReport {
            entries: verifier.finish()?,
        })
    }

    /// Record a key rotation in the audit log.
    pub async fn audit_key_rotation(&self, actor: &Actor) -> Result<()> {
        let audit = self.draft(actor, Action::RotateKeys, None, vec![], None);
        let head = self.store.append_audit(&audit, &self.sealer()).await?;
        self.anchor(head).await
    }
}

fn categories_of(values: &[FieldValue]) -> Vec<String> {
    values.iter().map(|v| v.category.clone()).collect()
}

fn place(subject: Uuid, field: &str) -> Place<'_> {
    Place {
        subject,
        table: SEALED_VALUES.table,
        column: SEALED_VALUES.column,
        row: field,
    }
}
