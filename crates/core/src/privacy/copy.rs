//! The access copy as a document (R6.1): each category's terms — its basis, the purposes using
//! it, its retention rule — said once, and beneath them the values, grouped by what they came
//! with (one registration, one visit, one order). This is what is stored behind a download
//! link, served by the API and read back for the page; the per-value shape (`Export`, every
//! value repeating its category's terms) stays for callers that ask for it.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;
use vintrova_policy::{LegalBasis, RetentionAnchor};

use crate::consent::ConsentEvent;
use crate::gate::BasisEvent;
use crate::reading::{Export, HeldValue, PurposeUse};
use crate::retention::RetentionNote;
use crate::{CoreError, Result};

/// Names the grouped shape in the document itself, so a reader never guesses.
pub const COPY_FORMAT: &str = "vintrova.copy/2";

/// A full copy of what is held on a person, grouped by category.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessCopy {
    /// Always `vintrova.copy/2`.
    pub format: String,
    pub subject: Uuid,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub exported_at: Timestamp,
    pub policy_version: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// One block per category and retention rule, in the order of their names.
    pub categories: Vec<CategoryHeld>,
    pub bases: Vec<BasisEvent>,
    /// The consent ledger, every event as it was recorded.
    pub consents: Vec<ConsentEvent>,
    /// The person's rights requests, each with its clock and state.
    pub requests: Vec<crate::requests::Request>,
    /// Who looked at the data, from the audit log.
    pub accesses: Vec<crate::transparency::Access>,
}

/// A category's terms, once, and what is held under them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryHeld {
    pub category: String,
    /// The basis the category is collected on (R3.2).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "consent"))]
    pub legal_basis: LegalBasis,
    pub purposes: Vec<PurposeUse>,
    pub retention: RetentionTerms,
    /// The values, oldest first; each entry what came together.
    pub entries: Vec<Entry>,
}

/// The retention rule a block's values are kept under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RetentionTerms {
    pub rule: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "collected"))]
    pub anchor: RetentionAnchor,
    /// ISO 8601 term after the anchor.
    pub term: String,
    pub required_by_law: bool,
}

/// Values collected together: when, from where, until when they are kept, and field → value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub collected_at: Timestamp,
    pub source: String,
    /// When these values will be deleted; absent while the clock has not started (for example
    /// while the person still uses the services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub delete_after: Option<Timestamp>,
    /// For event-stored categories: the event the values belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Uuid>,
    /// The record the values belong to (a request, an order), when they belong to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Uuid>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: BTreeMap<String, Value>,
}

/// What makes values one entry: the same moment, source, clock, event and record.
type EntryKey = (
    Timestamp,
    String,
    Option<Timestamp>,
    Option<Uuid>,
    Option<Uuid>,
);

/// A block being gathered: its terms, and its values with the key of the entry each joins.
type Gathering = (CategoryHeld, Vec<(EntryKey, String, Value)>);

impl AccessCopy {
    /// Group a per-value copy: the same values, each category's terms said once. The order is
    /// the data's own (names, then time), never the order a backend returned rows in.
    pub fn of(export: Export) -> AccessCopy {
        let mut blocks: BTreeMap<(String, String), Gathering> = BTreeMap::new();
        for v in export.values {
            let key = (v.category.clone(), v.retention.rule.clone());
            let (_, values) = blocks.entry(key).or_insert_with(|| {
                let block = CategoryHeld {
                    category: v.category.clone(),
                    legal_basis: v.legal_basis,
                    purposes: v.purposes.clone(),
                    retention: RetentionTerms {
                        rule: v.retention.rule.clone(),
                        anchor: v.retention.anchor,
                        term: v.retention.term.clone(),
                        required_by_law: v.retention.required_by_law,
                    },
                    entries: vec![],
                };
                (block, vec![])
            });
            let entry = (
                v.collected_at,
                v.source,
                v.retention.delete_after,
                v.event,
                v.record,
            );
            values.push((entry, v.field, v.value));
        }
        let categories = blocks
            .into_values()
            .map(|(mut block, mut values)| {
                values.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
                for (key, field, value) in values {
                    // A field twice under one key (never today) starts its own entry rather
                    // than overwrite the first.
                    let joins = block.entries.last().is_some_and(|last: &Entry| {
                        entry_key(last) == key && !last.values.contains_key(&field)
                    });
                    if !joins {
                        let (collected_at, source, delete_after, event, record) = key;
                        block.entries.push(Entry {
                            collected_at,
                            source,
                            delete_after,
                            event,
                            record,
                            values: BTreeMap::new(),
                        });
                    }
                    if let Some(last) = block.entries.last_mut() {
                        last.values.insert(field, value);
                    }
                }
                block
            })
            .collect();
        AccessCopy {
            format: COPY_FORMAT.into(),
            subject: export.subject,
            exported_at: export.exported_at,
            policy_version: export.policy_version,
            created_at: export.created_at,
            categories,
            bases: export.bases,
            consents: export.consents,
            requests: export.requests,
            accesses: export.accesses,
        }
    }

    /// The newest value of `field`, wherever it is held.
    pub fn value(&self, field: &str) -> Option<&Value> {
        self.categories
            .iter()
            .flat_map(|block| block.entries.iter())
            .filter_map(|entry| entry.values.get(field).map(|v| (entry.collected_at, v)))
            .max_by_key(|(at, _)| *at)
            .map(|(_, v)| v)
    }

    /// Every value with its category's terms beside it: the per-value shape.
    pub fn held(&self) -> Vec<HeldValue> {
        self.categories
            .iter()
            .flat_map(|block| {
                block.entries.iter().flat_map(move |entry| {
                    entry.values.iter().map(move |(field, value)| HeldValue {
                        field: field.clone(),
                        category: block.category.clone(),
                        value: value.clone(),
                        legal_basis: block.legal_basis,
                        purposes: block.purposes.clone(),
                        source: entry.source.clone(),
                        collected_at: entry.collected_at,
                        retention: RetentionNote {
                            rule: block.retention.rule.clone(),
                            anchor: block.retention.anchor,
                            term: block.retention.term.clone(),
                            delete_after: entry.delete_after,
                            required_by_law: block.retention.required_by_law,
                        },
                        event: entry.event,
                        record: entry.record,
                    })
                })
            })
            .collect()
    }

    /// A stored copy read back, whichever shape it was stored in: copies made before the
    /// grouped shape (per value) are still behind links for up to a week after an upgrade.
    pub fn read(stored: Value) -> Result<AccessCopy> {
        let grouped = stored.get("format").and_then(Value::as_str) == Some(COPY_FORMAT);
        let read = if grouped {
            serde_json::from_value::<AccessCopy>(stored)
        } else {
            serde_json::from_value::<Export>(stored).map(AccessCopy::of)
        };
        read.map_err(|e| CoreError::Internal(format!("a stored copy does not read back: {e}")))
    }
}

fn entry_key(e: &Entry) -> EntryKey {
    (
        e.collected_at,
        e.source.clone(),
        e.delete_after,
        e.event,
        e.record,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(field: &str, category: &str, at: &str, event: Option<Uuid>) -> HeldValue {
        HeldValue {
            field: field.into(),
            category: category.into(),
            value: Value::String(format!("value of {field}")),
            legal_basis: LegalBasis::Contract,
            purposes: vec![PurposeUse {
                purpose: "service_delivery".into(),
                legal_basis: LegalBasis::Contract,
            }],
            source: "registration_form".into(),
            collected_at: at.parse().unwrap(),
            retention: RetentionNote {
                rule: "account".into(),
                anchor: RetentionAnchor::ServiceEnded,
                term: "P3Y".into(),
                delete_after: None,
                required_by_law: false,
            },
            event,
            record: None,
        }
    }

    fn export(values: Vec<HeldValue>) -> Export {
        Export {
            subject: Uuid::nil(),
            exported_at: "2026-11-30T10:00:00Z".parse().unwrap(),
            policy_version: "1".into(),
            created_at: "2026-01-01T10:00:00Z".parse().unwrap(),
            values,
            bases: vec![],
            consents: vec![],
            requests: vec![],
            accesses: vec![],
        }
    }

    #[test]
    fn a_categorys_terms_are_said_once_and_every_value_comes_back_with_them() {
        let (one, two) = (Uuid::now_v7(), Uuid::now_v7());
        let values = vec![
            held(
                "technical.ip",
                "technical",
                "2026-03-01T10:00:00Z",
                Some(two),
            ),
            held("contact.email", "contact", "2026-01-01T10:00:00Z", None),
            held(
                "technical.os",
                "technical",
                "2026-02-01T10:00:00Z",
                Some(one),
            ),
            held(
                "contact.first_name",
                "contact",
                "2026-01-01T10:00:00Z",
                None,
            ),
            held(
                "technical.ip",
                "technical",
                "2026-02-01T10:00:00Z",
                Some(one),
            ),
        ];
        let copy = AccessCopy::of(export(values.clone()));
        let categories: Vec<_> = copy.categories.iter().map(|c| &c.category).collect();
        assert_eq!(categories, ["contact", "technical"]);
        // One registration is one entry; each visit its own, oldest first.
        assert_eq!(copy.categories[0].entries.len(), 1);
        let visits: Vec<_> = copy.categories[1].entries.iter().map(|e| e.event).collect();
        assert_eq!(visits, [Some(one), Some(two)]);
        let text = serde_json::to_string(&copy).unwrap();
        assert_eq!(text.matches("service_delivery").count(), 2, "{text}");
        // Nothing lost, nothing invented: the per-value shape comes back whole.
        let key = |v: &HeldValue| (v.field.clone(), v.collected_at, v.event);
        let mut back: Vec<_> = copy.held().iter().map(key).collect();
        let mut put: Vec<_> = values.iter().map(key).collect();
        back.sort();
        put.sort();
        assert_eq!(back, put);
        // Read back from what was stored, in either shape.
        let stored = serde_json::to_value(&copy).unwrap();
        assert_eq!(AccessCopy::read(stored).unwrap().held().len(), 5);
        let old = serde_json::to_value(export(values)).unwrap();
        assert_eq!(AccessCopy::read(old).unwrap().categories.len(), 2);
    }

    #[test]
    fn the_order_rows_come_in_does_not_change_a_byte() {
        let event = Uuid::now_v7();
        let values = vec![
            held("contact.email", "contact", "2026-01-01T10:00:00Z", None),
            held(
                "technical.ip",
                "technical",
                "2026-02-01T10:00:00Z",
                Some(event),
            ),
            held(
                "technical.os",
                "technical",
                "2026-02-01T10:00:00Z",
                Some(event),
            ),
        ];
        let mut reversed = values.clone();
        reversed.reverse();
        assert_eq!(
            serde_json::to_string(&AccessCopy::of(export(values))).unwrap(),
            serde_json::to_string(&AccessCopy::of(export(reversed))).unwrap()
        );
    }
}
