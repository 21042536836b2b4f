//! Erasure on request: keys first, then rows; what a law keeps stays, and the person gets a
//! signed receipt of both.
//!
//! An erasure is an intent carried to its end. What it will do — the classes, what is kept,
//! the signed receipt, the audit entry — is decided first and recorded durably (beside the
//! journal entry) before any key is destroyed; the rows, the receipt and the entry then go in
//! one transaction that also ends the intent. A crash in between leaves an intent, never a
//! half-erased person: the person reads as erased meanwhile, and whoever runs next (the same
//! command, `serve` at start and every hour, the sweep, a restore) carries out that same
//! intent — one erasure, one receipt, one audit entry, however many try at once.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::audit::Action;
use crate::audit::AuditDraft;
use crate::crash;
use crate::events::{Event, EventKind};
use crate::gate::{BasisEvent, BasisEventKind};
use crate::holds::Hold;
use crate::letters::Letter;
use crate::outbox::{Attachment, Email};
use crate::receipts::{self, ErasureCause, KeptPart, ReceiptBody, SignedReceipt};
use crate::retention::{self};
use crate::store::{ErasureCounts, ErasurePlan, ReceiptRecord, Receipted};
use crate::{Actor, CoreError, Result, Vintrova};

/// Something an erasure kept because a law requires it or a legal hold binds it, and until
/// when (`null` for a hold with no end yet).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kept {
    pub key_class: String,
    /// The retention rule that keeps it, or `hold:<reference>` for a legal hold.
    pub rule: String,
    pub fields: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub until: Option<Timestamp>,
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

/// Something held, as an erasure plans it: (key class, category, field, collected, record) —
/// the moment and record only where a law's clock runs on them.
type HeldPart = (String, String, String, Option<Timestamp>, Option<Uuid>);

/// An erasure decided but not yet carried out.
struct Plan {
    now: Timestamp,
    classes: Vec<String>,
    loose: BTreeSet<String>,
    categories: BTreeSet<String>,
    kept: BTreeMap<String, Kept>,
    kept_parts: Vec<KeptPart>,
}

/// What an erasure would destroy and keep: categories and rules, never a value.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErasurePreview {
    /// The categories that would go.
    pub erased: Vec<String>,
    /// What a law or a legal hold keeps, and until when.
    pub kept: Vec<KeptPart>,
}

impl Vintrova {
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
        // An erasure decided before and cut short is carried to its end: the same erasure,
        // never a second one with a receipt of its own.
        if let Some(text) = self.store.erasure_intent(id).await? {
            return self.carry_out(id, Intent::parse(&text)?).await;
        }
        let Plan {
            now,
            classes,
            loose,
            categories,
            kept,
            kept_parts,
        } = self.plan(id).await?;
        let signed = self.sign_receipt(ErasureCause::Request, &categories, kept_parts);
        // Read before the erasure takes the person's choice with them.
        let locale = self.language_of(id).await?;
        let told = self.erased_event(id, &signed, ErasureCause::Request, kept.is_empty());
        let intent = Intent {
            decided_at: now,
            receipted: self.receipted(&signed, ErasureCause::Request, to.map(|to| (to, locale))),
            signed,
            classes,
            loose: loose.into_iter().collect(),
            ends_contract: self.contract_in_force(id).await?,
            kept: kept.into_values().collect(),
            audit: self
                .draft(
                    actor,
                    Action::Erase,
                    Some(id),
                    categories.into_iter().collect(),
                    Some(match request {
                        Some(r) => format!("right:erasure@request:{r}"),
                        None => "erasure".to_string(),
                    }),
                )
                .telling(told),
        };
        self.journal_erasure(&[id])?;
        if !self.store.begin_erasure(id, now, &intent.text()).await? {
            // Another erasure of this person was decided a moment before: carry out that one.
            return match self.store.erasure_intent(id).await? {
                Some(text) => self.carry_out(id, Intent::parse(&text)?).await,
                None => Err(CoreError::UnknownSubject(id)),
            };
        }
        crash::point(crash::ERASE_INTENT_RECORDED);
        self.carry_out(id, intent).await
    }

    /// What an erasure of `id` would do now: the classes whose keys go, the categories erased,
    /// and what a law or a legal hold keeps, and until when.
    async fn plan(&self, id: Uuid) -> Result<Plan> {
        self.require_subject(id).await?;
        let anchors = self.anchors(id).await?;
        let now = self.clock.now();
        let mut held: Vec<HeldPart> = Vec::new();
        for v in self.store.values(id).await? {
            if let Some(entry) = self.map.entry(&v.field) {
                held.push((
                    v.key_class,
                    entry.category.clone(),
                    v.field,
                    Some(v.collected_at),
                    None,
                ));
            }
        }
        // Events by class, category and record, each at its newest moment: every rule's clock
        // runs later from a later moment, so the newest event of a group says how long the
        // group is kept (ten thousand visits plan as one). Only a law's keeping reads moments:
        // the classes no law keeps come one row per category.
        let timed: Vec<String> = self
            .policy
            .retention_rules
            .iter()
            .filter(|rule| rule.required_by_law)
            .map(|rule| rule.key_class.clone())
            .collect();
        let mut newest: BTreeMap<(String, String, Option<Uuid>), Option<Timestamp>> =
            BTreeMap::new();
        for e in self.store.event_heads(id, &timed).await? {
            let at = newest
                .entry((e.key_class, e.category, e.record))
                .or_insert(e.collected_at);
            *at = (*at).max(e.collected_at);
        }
        for ((class, category, record), collected_at) in newest {
            held.push((class, category.clone(), category, collected_at, record));
        }
        // A legal hold in force binds erasure as it binds the sweep (R8.1): what it covers is
        // kept, and the receipt names the hold.
        let holds: Vec<Hold> = self
            .holds()
            .await?
            .into_iter()
            .filter(|h| h.in_force(now))
            .collect();
        let mut kept: BTreeMap<String, Kept> = BTreeMap::new();
        // The categories a reason keeps, by class: the rest of a kept class still goes.
        let mut kept_categories: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (class, category, field, collected_at, record) in &held {
            let by_law = self
                .policy
                .rule_of_class(class)
                .filter(|rule| rule.required_by_law)
                .and_then(|rule| {
                    let until =
                        retention::due(&self.policy, rule, (*collected_at)?, *record, &anchors)?;
                    (until > now).then(|| (rule.key.clone(), Some(until)))
                });
            let by_hold = holds
                .iter()
                .find(|h| h.covers(id, category, now))
                .map(|h| (format!("hold:{}", h.reference), h.until));
            // The longer reason names the keeping: a hold without an end outlasts any date.
            let reason = match (by_law, by_hold) {
                (Some(law), Some(hold))
                    if hold.1.is_some_and(|h| law.1.is_some_and(|l| h <= l)) =>
                {
                    Some(law)
                }
                (_, Some(hold)) => Some(hold),
                (law, None) => law,
            };
            let Some((rule, until)) = reason else {
                continue;
            };
            let k = kept.entry(class.clone()).or_insert_with(|| Kept {
                key_class: class.clone(),
                rule: rule.clone(),
                fields: vec![],
                until,
            });
            if k.until.is_some() && (until.is_none() || until > k.until) {
                k.until = until;
                k.rule = rule;
            }
            if !k.fields.contains(field) {
                k.fields.push(field.clone());
            }
            kept_categories
                .entry(class.clone())
                .or_default()
                .insert(category.clone());
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
        // Within a kept class, what no reason keeps goes: its rows, not the class's key.
        let loose: BTreeSet<String> = held
            .iter()
            .filter(|h| {
                kept_categories
                    .get(&h.0)
                    .is_some_and(|keep| !keep.contains(&h.1))
            })
            .map(|h| h.1.clone())
            .collect();
        let categories: BTreeSet<String> = held
            .iter()
            .filter(|h| classes.contains(&h.0))
            .map(|h| h.1.clone())
            .chain(loose.iter().cloned())
            .collect();
        let kept_parts: Vec<KeptPart> = kept
            .values()
            .map(|k| KeptPart {
                categories: kept_categories
                    .get(&k.key_class)
                    .map(|c| c.iter().cloned().collect())
                    .unwrap_or_default(),
                rule: k.rule.clone(),
                until: k.until,
            })
            .collect();
        Ok(Plan {
            now,
            classes,
            loose,
            categories,
            kept,
            kept_parts,
        })
    }

    /// What erasing `id` would destroy and what it would keep, by category and rule — no value —
    /// for the person to read before they confirm, and for the officer before they carry it out.
    pub async fn erasure_preview(&self, id: Uuid) -> Result<ErasurePreview> {
        let plan = self.plan(id).await?;
        Ok(ErasurePreview {
            erased: plan.categories.into_iter().collect(),
            kept: plan.kept_parts,
        })
    }

    /// Carry every erasure that was decided but cut short (a crash, a kill) to its end; the
    /// server runs this at start and every hour, the sweep and a restore before they begin.
    pub async fn finish_erasures(&self) -> Result<u64> {
        let mut finished = 0;
        for id in self.store.erasures_underway().await? {
            if let Some(text) = self.store.erasure_intent(id).await? {
                self.carry_out(id, Intent::parse(&text)?).await?;
                finished += 1;
            }
        }
        Ok(finished)
    }

    /// Keys first — from this moment every copy of these values, in any backup, is noise —
    /// then the rows, the receipt and the entry with the intent's end, in one transaction.
    /// Safe to repeat, and to run on two servers at once: destroying a destroyed key does
    /// nothing, and only the transaction that ends the intent deletes and records.
    async fn carry_out(&self, id: Uuid, intent: Intent) -> Result<ErasureReceipt> {
        let keys_destroyed = self.vault.destroy(id, &intent.classes).await?;
        crash::point(crash::ERASE_KEYS_DESTROYED);
        // What is kept is kept for the law or a hold, not for a relationship: that ends here.
        let contract_ended =
            (intent.ends_contract && !intent.kept.is_empty()).then(|| BasisEvent {
                kind: BasisEventKind::ContractEnded,
                purpose: None,
                channel: crate::names::STAFF_ENTRY.to_string(),
                at: intent.decided_at,
            });
        let plan = ErasurePlan {
            classes: intent.classes.clone(),
            categories: intent.loose.clone(),
            contract_ended,
            whole_subject: intent.kept.is_empty(),
            receipt: Some(intent.receipted.clone()),
        };
        let deleted = self
            .audited(async |sealer| self.store.erase(id, &plan, &intent.audit, sealer).await)
            .await?
            // Someone else ended it meanwhile: the same erasure, the same receipt.
            .unwrap_or_default();
        crash::point(crash::ERASE_DONE);
        Ok(ErasureReceipt {
            subject: id,
            erased_at: intent.decided_at,
            key_classes_destroyed: intent.classes,
            keys_destroyed,
            deleted,
            subject_removed: plan.whole_subject,
            kept: intent.kept,
            signed: intent.signed,
        })
    }

    /// Whether the person's contract is in force: its last start is not followed by an end.
    pub(crate) async fn contract_in_force(&self, id: Uuid) -> Result<bool> {
        Ok(self
            .store
            .basis_events(id)
            .await?
            .iter()
            .rev()
            .find_map(|e| match e.kind {
                BasisEventKind::ContractStarted => Some(true),
                BasisEventKind::ContractEnded => Some(false),
                _ => None,
            })
            .unwrap_or(false))
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
    /// What the platform is told of an erasure: whose, why, whether anything of the person
    /// stays (for the law or a hold), and the receipt's hash — the person holds the receipt.
    pub(crate) fn erased_event(
        &self,
        id: Uuid,
        signed: &SignedReceipt,
        cause: ErasureCause,
        whole: bool,
    ) -> Event {
        Event::about(
            EventKind::SubjectErased,
            id,
            serde_json::json!({
                "cause": cause.as_str(),
                "whole": whole,
                "receipt": { "id": signed.id, "sha256": hex::encode(signed.digest()) },
            }),
        )
    }

    pub(crate) fn receipted(
        &self,
        signed: &SignedReceipt,
        cause: ErasureCause,
        to: Option<(String, String)>,
    ) -> Receipted {
        let message = to.map(|(to, locale)| {
            let (title, body) = Letter::Erased { cause }.write(&locale);
            let email = Email {
                message_id: format!("<receipt-{}@vintrova.outbox>", signed.id),
                to,
                subject: title,
                body,
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
}

/// An erasure as decided, recorded before its first step: all that carrying it out needs.
/// Subject ids, key classes, categories and a sealed message — no value in clear.
#[derive(Debug, Serialize, Deserialize)]
struct Intent {
    decided_at: Timestamp,
    classes: Vec<String>,
    /// Categories deleted from classes that are kept for others.
    #[serde(default)]
    loose: Vec<String>,
    /// Something is kept: the contract ends with the erasure (when one is in force).
    #[serde(default)]
    ends_contract: bool,
    /// Empty when nothing is kept: the whole person goes.
    kept: Vec<Kept>,
    signed: SignedReceipt,
    receipted: Receipted,
    audit: AuditDraft,
}

impl Intent {
    fn text(&self) -> String {
        serde_json::to_string(self).expect("an erasure intent serializes")
    }

    fn parse(text: &str) -> Result<Intent> {
        serde_json::from_str(text).map_err(|e| {
            CoreError::Internal(format!(
                "an unfinished erasure's record does not read ({e}); it was altered in the database: restore the database from a backup, then run `vintrova subject erase` for that person again"
            ))
        })
    }
}
