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

/// What makes values one entry: the same moment, source, event and record (under one rule,
/// these also fall due together).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EntryKey {
    pub(crate) collected_at: Timestamp,
    pub(crate) event: Option<Uuid>,
    pub(crate) record: Option<Uuid>,
    pub(crate) source: String,
}

/// Builds a copy's blocks from values in any order — the one grouping both the export and a
/// per-value copy read back go through, so their documents are the same bytes.
#[derive(Default)]
pub(crate) struct Gatherer {
    /// Blocks with their (category, key class), few enough that a scan finds one.
    blocks: Vec<(String, String, CategoryHeld)>,
    keys: Vec<Vec<EntryKey>>,
}

impl Gatherer {
    /// The block for values of `category` under key class `class`, made by `terms` the first
    /// time (a category's terms are worked out once per copy, not once per value).
    pub(crate) fn block(
        &mut self,
        category: &str,
        class: &str,
        terms: impl FnOnce() -> CategoryHeld,
    ) -> usize {
        match self
            .blocks
            .iter()
            .position(|(c, k, _)| c == category && k == class)
        {
            Some(i) => i,
            None => {
                self.blocks
                    .push((category.to_string(), class.to_string(), terms()));
                self.keys.push(vec![]);
                self.blocks.len() - 1
            }
        }
    }

    /// Put `field` in block `block`, joining the entry it came with when that is the last one;
    /// `delete_after` is asked only for a new entry.
    pub(crate) fn put(
        &mut self,
        block: usize,
        key: EntryKey,
        field: String,
        value: Value,
        delete_after: impl FnOnce(&EntryKey) -> Option<Timestamp>,
    ) {
        self.put_entry(block, key, BTreeMap::from([(field, value)]), delete_after);
    }

    /// Put `values` that came together (an event's fields) in block `block`: joined to the last
    /// entry when it is theirs and holds none of them, else a new entry.
    pub(crate) fn put_entry(
        &mut self,
        block: usize,
        key: EntryKey,
        values: BTreeMap<String, Value>,
        delete_after: impl FnOnce(&EntryKey) -> Option<Timestamp>,
    ) {
        if values.is_empty() {
            return;
        }
        let (_, _, held) = &mut self.blocks[block];
        let keys = &mut self.keys[block];
        let joins = keys.last() == Some(&key)
            && held
                .entries
                .last()
                .is_some_and(|e| values.keys().all(|f| !e.values.contains_key(f)));
        match held.entries.last_mut() {
            Some(last) if joins => last.values.extend(values),
            _ => {
                held.entries.push(Entry {
                    collected_at: key.collected_at,
                    source: key.source.clone(),
                    delete_after: delete_after(&key),
                    event: key.event,
                    record: key.record,
                    values,
                });
                keys.push(key);
            }
        }
    }

    /// The blocks in the order of their names, each's entries oldest first, entries that came
    /// apart (rows of one moment interleaved with another's) joined again.
    pub(crate) fn finish(self) -> Vec<CategoryHeld> {
        let mut blocks: Vec<(String, CategoryHeld)> = self
            .blocks
            .into_iter()
            .zip(self.keys)
            .map(|((_, _, mut held), keys)| {
                let mut keyed: Vec<(EntryKey, Entry)> =
                    keys.into_iter().zip(held.entries).collect();
                keyed.sort_by(|a, b| a.0.cmp(&b.0));
                let mut entries: Vec<(EntryKey, Entry)> = Vec::with_capacity(keyed.len());
                for (key, entry) in keyed {
                    match entries.last_mut() {
                        Some((k, last))
                            if *k == key
                                && entry.values.keys().all(|f| !last.values.contains_key(f)) =>
                        {
                            last.values.extend(entry.values);
                        }
                        _ => entries.push((key, entry)),
                    }
                }
                held.entries = entries.into_iter().map(|(_, e)| e).collect();
                (held.retention.rule.clone(), held)
            })
            .collect();
        blocks.sort_by(|a, b| (&a.1.category, &a.0).cmp(&(&b.1.category, &b.0)));
        blocks.into_iter().map(|(_, held)| held).collect()
    }
}

impl AccessCopy {
    /// Group a per-value copy: the same values, each category's terms said once. The order is
    /// the data's own (names, then time), never the order a backend returned rows in.
    pub fn of(mut export: Export) -> AccessCopy {
        let mut gathered = Gatherer::default();
        for v in std::mem::take(&mut export.values) {
            let block = gathered.block(&v.category, &v.retention.rule, || CategoryHeld {
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
            });
            let key = EntryKey {
                collected_at: v.collected_at,
                event: v.event,
                record: v.record,
                source: v.source,
            };
            let due = v.retention.delete_after;
            gathered.put(block, key, v.field, v.value, |_| due);
        }
        AccessCopy {
            format: COPY_FORMAT.into(),
            subject: export.subject,
            exported_at: export.exported_at,
            policy_version: export.policy_version,
            created_at: export.created_at,
            categories: gathered.finish(),
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

    /// The per-value shape of this copy (`Export`), for callers that ask for it.
    pub fn per_value(self) -> Export {
        let values = self.held();
        Export {
            subject: self.subject,
            exported_at: self.exported_at,
            policy_version: self.policy_version,
            created_at: self.created_at,
            values,
            bases: self.bases,
            consents: self.consents,
            requests: self.requests,
            accesses: self.accesses,
        }
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
