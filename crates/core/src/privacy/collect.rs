//! Collecting a person's data: checked against the policy, the consents it needs and the
//! bases of automatic collection, sealed with the person's keys, stored with its audit entry.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;
use vintrova_policy::LegalBasis;

use crate::audit::Action;
use crate::consent::{Channel, ConsentAction, ConsentEvent};
use crate::datamap::SEALED_EVENTS;
use crate::events::{Event, EventKind};
use crate::gate::{self, BasisEvent, BasisEventKind, Use};
use crate::names;
use crate::reading::{event_place, value_place};
use crate::store::{IndexEntry, NewSubject, SealedEvent, SealedValue, SubjectRecord};
use crate::values::{FieldValue, InvalidInput};
use crate::{Actor, CoreError, Result, Vintrova};
use serde_json::json;

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

fn categories_of(values: &[FieldValue]) -> Vec<String> {
    values.iter().map(|v| v.category.clone()).collect()
}

/// What `seal` produces for the store.
#[derive(Default)]
pub(crate) struct Sealed {
    pub(crate) values: Vec<SealedValue>,
    pub(crate) index: Vec<IndexEntry>,
    pub(crate) events: Vec<SealedEvent>,
}

impl Vintrova {
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

    /// One address, one person: an email address another person holds is refused — at
    /// registration, on any new person, and in every rectification — with one answer. A unique
    /// index in the store closes the race between this check and the write.
    pub(crate) async fn check_address_free(
        &self,
        subject: Option<Uuid>,
        values: &[FieldValue],
    ) -> Result<()> {
        let Some(form) = values
            .iter()
            .find(|v| v.field == names::EMAIL)
            .and_then(|v| v.index_form.as_deref())
        else {
            return Ok(());
        };
        if self
            .address_holder(form)
            .await?
            .is_some_and(|holder| Some(holder) != subject)
        {
            return Err(taken(names::EMAIL).into());
        }
        Ok(())
    }

    /// Who holds an email address (in its canonical form): one person at most, by the store's
    /// unique index; a person being erased holds nothing.
    pub(crate) async fn address_holder(&self, form: &str) -> Result<Option<Uuid>> {
        let digest = self.vault().blind_index().digest(names::EMAIL, form);
        Ok(self
            .store()
            .find_by_index(names::EMAIL, &digest)
            .await?
            .first()
            .copied())
    }

    /// Store a new subject's data (R2.2: only declared fields, already checked).
    pub async fn add_subject(
        &self,
        actor: &Actor,
        values: Vec<FieldValue>,
        collection: Collection,
    ) -> Result<Uuid> {
        let new = self.new_subject(&values, collection).await?;
        let id = new.subject.id;
        let audit = self.draft(
            actor,
            Action::Create,
            Some(id),
            categories_of(&values),
            None,
        );
        let inserted = self
            .audited(async |sealer| self.store.insert_subject(&new, &audit, sealer).await)
            .await;
        if inserted.is_err() {
            self.forget_keys(id).await;
        }
        inserted?;
        self.tell_of_transfers_ahead(actor, id, &categories_of(&values))
            .await?;
        Ok(id)
    }

    /// A new person's data as it will be stored, checked and sealed (their keys are made):
    /// for `add_subject`, and for a proven letter that brings a new person with its request.
    pub(crate) async fn new_subject(
        &self,
        values: &[FieldValue],
        collection: Collection,
    ) -> Result<NewSubject> {
        self.check_collection(&collection)?;
        self.check_address_free(None, values).await?;
        self.sealed_subject(Uuid::now_v7(), values, collection)
            .await
    }

    /// A person's data as it will be stored under `id`, checked and sealed: a new person's, or
    /// the registration of one known so far only by a letter, joining what they already have.
    pub(crate) async fn sealed_subject(
        &self,
        id: Uuid,
        values: &[FieldValue],
        collection: Collection,
    ) -> Result<NewSubject> {
        let (bases, consents) = self.checked_events(id, values, &collection)?;
        let sealed = self.seal(id, values, &collection.source, None).await?;
        Ok(NewSubject {
            subject: SubjectRecord {
                id,
                created_at: self.clock.now(),
            },
            values: sealed.values,
            index: sealed.index,
            events: sealed.events,
            bases,
            consents,
        })
    }

    /// The bases and consents a collection brings for `id`, once its values are checked against
    /// them: what may be collected, and on which basis each event-stored value arrives.
    pub(crate) fn checked_events(
        &self,
        id: Uuid,
        values: &[FieldValue],
        collection: &Collection,
    ) -> Result<(Vec<BasisEvent>, Vec<ConsentEvent>)> {
        self.check_collection(collection)?;
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
            self.check_may_collect(values, &bases, &consents)?;
        }
        self.check_event_basis(id, values, &bases, &consents)?;
        Ok((bases, consents))
    }

    /// The keys made for a person whose insert failed seal nothing: do not leave them behind.
    pub(crate) async fn forget_keys(&self, id: Uuid) {
        let classes: Vec<String> = self
            .map
            .key_classes()
            .into_iter()
            .map(str::to_string)
            .collect();
        if let Err(cleanup) = self.vault.destroy(id, &classes).await {
            tracing::warn!(subject = %id, error = %cleanup, "could not remove the keys of a subject whose insert failed");
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
        self.audited(async |sealer| {
            self.store()
                .insert_events(id, &sealed.events, &audit, sealer)
                .await
        })
        .await?;
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
        self.check_address_free(Some(id), &values).await?;
        self.check_may_collect(
            &values,
            &self.store.basis_events(id).await?,
            &self.store.consents(id).await?,
        )?;
        let sealed = self.seal(id, &values, source, None).await?;
        let fields: Vec<&str> = values.iter().map(|v| v.field.as_str()).collect();
        let audit = self
            .draft(
                actor,
                Action::Update,
                Some(id),
                categories_of(&values),
                None,
            )
            .telling(Event::about(
                EventKind::SubjectRectified,
                id,
                json!({ "fields": fields, "source": source }),
            ));
        self.audited(async |sealer| {
            self.store()
                .upsert_values(id, &sealed.values, &sealed.index, &audit, sealer)
                .await
        })
        .await
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
        let told = match kind {
            BasisEventKind::Objected => Some(EventKind::ObjectionSet),
            BasisEventKind::ObjectionWithdrawn => Some(EventKind::ObjectionLifted),
            BasisEventKind::Restricted => Some(EventKind::RestrictionSet),
            BasisEventKind::RestrictionLifted => Some(EventKind::RestrictionLifted),
            BasisEventKind::ContractStarted | BasisEventKind::ContractEnded => None,
        };
        let mut audit = self.draft(actor, Action::RecordBasis, Some(id), vec![], purpose);
        if let Some(told) = told {
            let data = json!({ "purpose": event.purpose, "channel": channel });
            audit = audit.telling(Event::about(told, id, data));
        }
        self.audited(async |sealer| {
            self.store()
                .append_basis_event(id, &event, &audit, sealer)
                .await
        })
        .await
    }
}

/// The one answer to a value another person holds (an email address), wherever it is given.
pub(crate) fn taken(field: &str) -> InvalidInput {
    InvalidInput::coded(
        field,
        crate::values::Refused::new(
            "taken",
            "cannot be used: another account holds it",
            "another email address, or sign in with this one",
        ),
    )
}
