//! Erasure on request: keys first, then rows; what a law keeps stays, and the person gets a
//! signed receipt of both.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use crate::audit::Action;
use crate::outbox::{Attachment, Email};
use crate::receipts::{self, ErasureCause, KeptPart, ReceiptBody, SignedReceipt};
use crate::retention::{self};
use crate::store::{ErasureCounts, ErasurePlan, ReceiptRecord, Receipted};
use crate::{Actor, Result, Vintrova};

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
        let deleted = self
            .audited(async |sealer| self.store.erase(id, &plan, &audit, sealer).await)
            .await?;
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
}
