//! Reading: the gate's decision on the ledgers, the one place values are decrypted, and what a
//! purpose, a duty or a right may see — a view, or the person's full copy.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use vintrova_policy::LegalBasis;
use vintrova_vault::{Place, SubjectKeys};

use crate::audit::Action;
use crate::consent::ConsentEvent;
use crate::copy::{AccessCopy, COPY_FORMAT, CategoryHeld, EntryKey, Gatherer, RetentionTerms};
use crate::datamap::{DataMap, SEALED_EVENTS, SEALED_VALUES};
use crate::gate::{self, BasisEvent, Grant, Refusal, RightClaim, Use};
use crate::retention::{self, RetentionNote};
use crate::service::{ADDRESS, fits};
use crate::store::SealedEvent;
use crate::values::{self, InvalidInput};
use crate::{Actor, CoreError, Result, Vintrova};

/// A decrypted value with everything a person may ask about it.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The record the value belongs to (the request a description was written for, the order
    /// a payment paid), when it belongs to one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<Uuid>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurposeUse {
    pub purpose: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "consent"))]
    pub legal_basis: LegalBasis,
}

/// A full copy of what is held on a subject (R6.1, access). Read back from its stored JSON to
/// be shown as a page; copies stored before a field existed read it as empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The person's rights requests, each with its clock and state (never a description: that
    /// is among the values, where the person wrote it).
    #[serde(default)]
    pub requests: Vec<crate::requests::Request>,
    /// Who looked at the data, from the audit log, as the privacy center shows it.
    #[serde(default)]
    pub accesses: Vec<crate::transparency::Access>,
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

pub(crate) fn value_place(subject: Uuid, field: &str) -> Place<'_> {
    Place {
        subject,
        table: SEALED_VALUES.table,
        column: SEALED_VALUES.column,
        row: field,
    }
}

pub(crate) fn event_place(subject: Uuid, event: &str) -> Place<'_> {
    Place {
        subject,
        table: SEALED_EVENTS.table,
        column: SEALED_EVENTS.column,
        row: event,
    }
}

/// How far an opening goes: the profile alone (an address), or the events too.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    Profile,
    Everything,
}

/// Above this many events a person's history is opened on the blocking pool, a share per core.
const SIDE_BY_SIDE: usize = 1_000;

/// `events` decrypted and parsed, with what the grant kept closed of them: a long history on
/// the blocking pool in one share per core — opening ten thousand visits is most of a copy's
/// time, and would otherwise hold one of the server's workers for all of it.
async fn open_events(
    keys: Arc<SubjectKeys>,
    grant: &Grant,
    mut events: Vec<SealedEvent>,
) -> Result<(Vec<OpenedEvent>, BTreeSet<String>)> {
    if events.len() < SIDE_BY_SIDE {
        return open_share(&keys, grant, events);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_share = events.len().div_ceil(cores);
    let grant = Arc::new(grant.clone());
    let mut shares = vec![];
    while !events.is_empty() {
        let rest = events.split_off(per_share.min(events.len()));
        let share = std::mem::replace(&mut events, rest);
        let (keys, grant) = (keys.clone(), grant.clone());
        shares.push(tokio::task::spawn_blocking(move || {
            open_share(&keys, &grant, share)
        }));
    }
    let (mut opened, mut closed) = (Vec::new(), BTreeSet::new());
    // Awaited in order: the events stay in the order they were read.
    for share in shares {
        let (o, c) = share
            .await
            .map_err(|e| CoreError::Internal(format!("opening events stopped: {e}")))??;
        opened.extend(o);
        closed.extend(c);
    }
    Ok((opened, closed))
}

/// [`open_events`] for one share, on the thread it is given.
fn open_share(
    keys: &SubjectKeys,
    grant: &Grant,
    events: Vec<SealedEvent>,
) -> Result<(Vec<OpenedEvent>, BTreeSet<String>)> {
    let subject = grant.subject();
    let (mut opened, mut closed) = (Vec::with_capacity(events.len()), BTreeSet::new());
    for stored in events {
        let Some(key) = keys.class(&stored.key_class) else {
            continue;
        };
        if !grant.allows(&stored.category) {
            closed.insert(stored.category);
            continue;
        }
        let unreadable = || CoreError::Unreadable {
            subject,
            field: stored.category.clone(),
        };
        let plaintext = vintrova_vault::open(
            key,
            &event_place(subject, &stored.id.to_string()),
            &stored.sealed,
        )
        .ok_or_else(unreadable)?;
        let mut fields: BTreeMap<String, Value> =
            serde_json::from_slice(&plaintext).map_err(|_| unreadable())?;
        fields.retain(|field, _| {
            let open = grant.allows_field(&stored.category, field);
            if !open {
                closed.insert(field.clone());
            }
            open
        });
        opened.push(OpenedEvent {
            id: stored.id,
            category: stored.category,
            key_class: stored.key_class,
            source: stored.source,
            collected_at: stored.collected_at,
            record: stored.record,
            fields,
        });
    }
    Ok((opened, closed))
}

/// One decrypted event: the fields the grant opens, with where and when they came from.
pub(crate) struct OpenedEvent {
    pub(crate) id: Uuid,
    pub(crate) category: String,
    pub(crate) key_class: String,
    pub(crate) source: String,
    pub(crate) collected_at: Timestamp,
    pub(crate) record: Option<Uuid>,
    pub(crate) fields: BTreeMap<String, Value>,
}

impl OpenedEvent {
    /// Its values one by one, as a view lists them.
    fn into_values(self) -> impl Iterator<Item = Opened> {
        let OpenedEvent {
            id,
            category,
            key_class,
            source,
            collected_at,
            record,
            fields,
        } = self;
        fields.into_iter().map(move |(field, value)| Opened {
            field,
            category: category.clone(),
            value,
            source: source.clone(),
            collected_at,
            event: Some(id),
            record,
            key_class: key_class.clone(),
        })
    }
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

impl Vintrova {
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

    /// The server as it should be now, when a published version came into force since this
    /// one was made: the same stores, vault and audit appender under the new policy, data map
    /// and renewals — for a running server to swap in at the version's moment. `None` while
    /// this one's version is still the one in force.
    pub async fn in_force_now(&self) -> Result<Option<Self>> {
        let next = self.clone().with_published_policy().await?;
        Ok((next.policy.version != self.policy.version).then_some(next))
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
        // A purpose, or a category (by the consent it now rests on), that moved onto consent
        // counts only consents given under that version or a later one.
        let mut renewals = gate::Renewals::default();
        for (i, version) in in_force.iter().enumerate() {
            let diff = vintrova_policy::PolicyDiff {
                changes: version.changes.clone(),
                ..Default::default()
            };
            let consents = diff.now_on_consent().into_iter().chain(
                diff.categories_now_on_consent()
                    .into_iter()
                    .filter_map(|c| app.policy.category(&c).and_then(|c| c.consent.clone())),
            );
            for consent in consents {
                let since: Vec<String> = in_force[i..].iter().map(|v| v.version.clone()).collect();
                renewals.insert(consent, version.version.clone(), since);
            }
        }
        app.renewals = renewals;
        Ok(app)
    }

    /// Open the values and events a grant allows. The only place a sealed value is decrypted.
    /// The address a grant reaches: the person's email, when the grant covers contact data and
    /// one is on record.
    pub(crate) async fn address(&self, grant: &Grant) -> Result<Option<String>> {
        // The address is a profile value: a person's events (ten thousand visits) stay shut.
        Ok(self
            .open_noting_closed(grant, Reach::Profile)
            .await?
            .0
            .into_iter()
            .find(|o| o.field == ADDRESS)
            .and_then(|o| o.value.as_str().map(str::to_string)))
    }

    pub(crate) async fn open(&self, grant: &Grant) -> Result<Vec<Opened>> {
        Ok(self.open_noting_closed(grant, Reach::Everything).await?.0)
    }

    /// [`Vintrova::open`], and what is held that the grant kept closed: fields as
    /// `category.field`, event-stored categories by their key.
    async fn open_noting_closed(
        &self,
        grant: &Grant,
        reach: Reach,
    ) -> Result<(Vec<Opened>, BTreeSet<String>)> {
        let (mut opened, events, closed) = self.open_apart(grant, reach).await?;
        opened.extend(events.into_iter().flat_map(OpenedEvent::into_values));
        Ok((opened, closed))
    }

    /// What the grant opens — profile values one by one, events whole — and what it kept
    /// closed.
    async fn open_apart(
        &self,
        grant: &Grant,
        reach: Reach,
    ) -> Result<(Vec<Opened>, Vec<OpenedEvent>, BTreeSet<String>)> {
        let mut closed = BTreeSet::new();
        let subject = grant.subject();
        let keys = Arc::new(self.vault.subject_keys(subject).await?);
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
        let wants_events = reach == Reach::Everything
            && self
                .map
                .entries()
                .iter()
                .any(|e| e.location == SEALED_EVENTS && grant.allows(&e.category));
        let events = if wants_events {
            self.store.events(subject).await?
        } else {
            vec![]
        };
        let (events, events_closed) = open_events(keys, grant, events).await?;
        closed.extend(events_closed);
        Ok((opened, events, closed))
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
        let (opened, closed) = self.open_noting_closed(&grant, Reach::Everything).await?;
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
        self.log(audit).await?;
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
    ) -> Result<AccessCopy> {
        let claim = self.claim_of_request(subject, request).await?;
        self.export_copy(actor, subject, claim).await
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
        Ok(self.export_copy(actor, id, claim).await?.per_value())
    }

    /// The same copy grouped by category: each category's terms worked out once, each value's
    /// clock once per entry it came with (one per visit, not one per field).
    pub(crate) async fn export_copy(
        &self,
        actor: &Actor,
        id: Uuid,
        claim: RightClaim,
    ) -> Result<AccessCopy> {
        let record = self.require_subject(id).await?;
        // Each ledger once: the gate, the retention anchors and the copy all read them.
        let bases = self.store.basis_events(id).await?;
        let consents = self.store.consents(id).await?;
        let grant = self.decide(id, Use::Right(claim), &bases, &consents)?;
        let requests = self.store.requests_of(id).await?;
        let anchors =
            retention::Anchors::of(&bases, &consents, &self.store.records(id).await?, &requests);
        // Read before this copy's own entry is written: the copy says who looked until now.
        let accesses = self.who_looked(id).await?;
        let mut gathered = Gatherer::default();
        let (values, events, _) = self.open_apart(&grant, Reach::Everything).await?;
        let due = |category: &str, class: &str, key: &EntryKey| {
            let rule = self.rule_for(category, class);
            retention::due(&self.policy, rule, key.collected_at, key.record, &anchors)
        };
        for o in values {
            let block = gathered.block(&o.category, &o.key_class, || {
                self.terms(&o.category, &o.key_class)
            });
            let key = EntryKey {
                collected_at: o.collected_at,
                event: None,
                record: o.record,
                source: o.source,
            };
            gathered.put(block, key, o.field, o.value, |key| {
                due(&o.category, &o.key_class, key)
            });
        }
        // An event's fields are one entry: put whole, not field by field.
        for e in events {
            let block = gathered.block(&e.category, &e.key_class, || {
                self.terms(&e.category, &e.key_class)
            });
            let key = EntryKey {
                collected_at: e.collected_at,
                event: Some(e.id),
                record: e.record,
                source: e.source,
            };
            gathered.put_entry(block, key, e.fields, |key| {
                due(&e.category, &e.key_class, key)
            });
        }
        let categories = gathered.finish();
        let audit = self.draft(
            actor,
            Action::Export,
            Some(id),
            categories.iter().map(|c| c.category.clone()).collect(),
            Some(grant.use_().label()),
        );
        self.log(audit).await?;
        Ok(AccessCopy {
            format: COPY_FORMAT.into(),
            subject: id,
            exported_at: self.clock.now(),
            policy_version: self.policy.version.clone(),
            created_at: record.created_at,
            categories,
            bases,
            consents,
            requests,
            accesses,
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

    /// The retention rule a value of `category` sealed under key class `class` is kept by.
    fn rule_for(&self, category: &str, class: &str) -> &vintrova_policy::RetentionRule {
        let category = self.policy.category(category).expect("mapped category");
        self.policy
            .rule_of_class(class)
            .unwrap_or_else(|| self.policy.retention_of(category))
    }

    /// A category's terms in a copy: its basis, the purposes using it, the rule keeping it.
    fn terms(&self, category: &str, class: &str) -> CategoryHeld {
        let rule = self.rule_for(category, class);
        let category = self.policy.category(category).expect("mapped category");
        CategoryHeld {
            category: category.key.clone(),
            legal_basis: category.legal_basis,
            purposes: self
                .policy
                .purposes_using(&category.key)
                .map(|p| PurposeUse {
                    purpose: p.key.clone(),
                    legal_basis: p.legal_basis,
                })
                .collect(),
            retention: RetentionTerms {
                rule: rule.key.clone(),
                anchor: rule.anchor,
                term: rule.term.clone(),
                required_by_law: rule.required_by_law,
            },
            entries: vec![],
        }
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
            self.log(audit).await?;
        }
        Ok(found)
    }
}
