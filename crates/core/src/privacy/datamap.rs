//! The data map: which storage place holds which field of which category, under which key
//! class and retention rule. Export, erasure and retention walk this map and nothing else.

use vintrova_policy::{Policy, Storage};

/// What a storage column holds. Every column of the data store is declared here; a test
/// compares this list with each backend's real schema, so a column added without being
/// declared (and, if it holds personal data, mapped) fails the build's tests (R2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// The subject's pseudonymous id (a UUID), the key every PD table is distributed by.
    SubjectId,
    /// Personal data, sealed by the subject's data key; the data map says which field.
    SealedPd,
    /// A keyed blind index of a personal datum; the data map says which field.
    BlindIndex,
    /// A keyed digest of consent evidence: proves a consent without holding what proved it.
    EvidenceDigest,
    /// A keyed digest of a provider's reference for a record (an order), to find the record
    /// when the provider calls back; the reference itself is sealed in the record's events.
    ReferenceDigest,
    /// A message waiting in the outbox, sealed under the outbox key and purged once delivered.
    SealedMessage,
    /// A credential: a password hash (argon2id) or a session token's digest. Never PD itself,
    /// deleted with the account.
    Credential,
    /// Data about the processing (times, names of fields, purposes, hashes), never PD.
    Metadata,
    /// A staff member's work handle: data of the company's own staff, kept under their
    /// employment, not of the people this policy is about.
    StaffHandle,
    /// A ledger entry's JSON body (paperwork, incidents, assessments): staff-written text
    /// checked to carry no address or personal number, and subject ids.
    LedgerBody,
    /// An erasure decided and not yet ended (JSON): key classes, categories, the signed
    /// receipt and its message sealed under the outbox key; deleted in the transaction that
    /// ends the erasure.
    ErasureIntent,
    /// The language a person asked to be written in: how to write to them, not a category the
    /// policy declares (a reading noted in COMPLIANCE.md); deleted with the person.
    Preference,
    /// A keyed digest of a letter's Message-ID: finds the letter again, never says who wrote.
    MessageDigest,
    /// A webhook endpoint's signing secrets, sealed under the outbox key.
    SealedSecret,
    /// A message to the platform (JSON): ids and the names of what changed, never a value.
    EventBody,
}

/// The tables of the data store and the role of each column.
pub const STORAGE_SCHEMA: &[(&str, &[(&str, ColumnRole)])] = {
    use ColumnRole::*;
    &[
        ("subjects", &[("id", SubjectId), ("created_at", Metadata)]),
        (
            "pd_values",
            &[
                ("subject_id", SubjectId),
                ("field", Metadata),
                ("key_class", Metadata),
                ("sealed", SealedPd),
                ("source", Metadata),
                ("collected_at", Metadata),
            ],
        ),
        (
            "blind_index",
            &[
                ("subject_id", SubjectId),
                ("field", Metadata),
                ("digest", BlindIndex),
            ],
        ),
        (
            "basis_events",
            &[
                ("id", Metadata),
                ("subject_id", SubjectId),
                ("kind", Metadata),
                ("purpose", Metadata),
                ("channel", Metadata),
                ("at", Metadata),
            ],
        ),
        (
            "consent_events",
            &[
                ("id", Metadata),
                ("subject_id", SubjectId),
                ("purpose", Metadata),
                ("action", Metadata),
                ("policy_version", Metadata),
                ("channel", Metadata),
                ("evidence", EvidenceDigest),
                ("terms", Metadata),
                ("at", Metadata),
            ],
        ),
        (
            "pd_events",
            &[
                ("id", Metadata),
                ("subject_id", SubjectId),
                ("category", Metadata),
                ("key_class", Metadata),
                ("sealed", SealedPd),
                ("source", Metadata),
                ("collected_at", Metadata),
                ("record_id", Metadata),
            ],
        ),
        (
            "records",
            &[
                ("id", Metadata),
                ("subject_id", SubjectId),
                ("kind", Metadata),
                ("state", Metadata),
                ("digest", ReferenceDigest),
                ("anchored_at", Metadata),
                ("created_at", Metadata),
                ("updated_at", Metadata),
            ],
        ),
        (
            "offerings",
            &[
                ("id", Metadata),
                ("kind", Metadata),
                ("level", Metadata),
                ("title_ru", Metadata),
                ("title_kk", Metadata),
                ("title_en", Metadata),
            ],
        ),
        (
            "notices",
            &[
                ("id", Metadata),
                ("subject_id", SubjectId),
                ("kind", Metadata),
                ("queued_at", Metadata),
            ],
        ),
        (
            "accounts",
            &[
                ("subject_id", SubjectId),
                ("password_hash", Credential),
                ("status", Metadata),
                ("created_at", Metadata),
                ("closed_at", Metadata),
                ("last_seen_at", Metadata),
                ("idle_notice_at", Metadata),
                ("access_digest_since", Metadata),
                ("access_digest_month", Metadata),
            ],
        ),
        (
            "erasures_underway",
            &[
                ("subject_id", SubjectId),
                ("decided_at", Metadata),
                ("intent", ErasureIntent),
            ],
        ),
        (
            "inbox",
            &[
                ("id", Metadata),
                ("message_digest", MessageDigest),
                ("sealed", SealedMessage),
                ("locale", Metadata),
                ("received_at", Metadata),
                ("received_us", Metadata),
            ],
        ),
        (
            "webhook_endpoints",
            &[
                ("id", Metadata),
                ("url", Metadata),
                ("kinds", Metadata),
                ("secrets", SealedSecret),
                ("created_at", Metadata),
                ("failing_since_us", Metadata),
                ("disabled_at", Metadata),
            ],
        ),
        (
            "webhook_events",
            &[
                ("seq", Metadata),
                ("id", Metadata),
                ("kind", Metadata),
                ("subject_id", SubjectId),
                ("body", EventBody),
                ("created_at", Metadata),
                ("created_us", Metadata),
            ],
        ),
        (
            "webhook_deliveries",
            &[
                ("endpoint_id", Metadata),
                ("event_seq", Metadata),
                ("chain", SubjectId),
                ("state", Metadata),
                ("attempts", Metadata),
                ("next_attempt_us", Metadata),
                ("claimed_until_us", Metadata),
                ("last_status", Metadata),
                ("last_error", Metadata),
                ("delivered_at", Metadata),
            ],
        ),
        (
            "languages",
            &[
                ("subject_id", SubjectId),
                ("locale", Preference),
                ("chosen_at", Metadata),
            ],
        ),
        (
            "expired_by_month",
            &[
                ("subject_id", SubjectId),
                ("month", Metadata),
                ("category", Metadata),
                ("key_class", Metadata),
                ("events", Metadata),
            ],
        ),
        (
            "erasure_receipts",
            &[
                ("digest", Metadata),
                ("id", Metadata),
                ("cause", Metadata),
                ("issued_at", Metadata),
            ],
        ),
        (
            "sessions",
            &[
                ("token_digest", Credential),
                ("subject_id", SubjectId),
                ("created_at", Metadata),
                ("expires_at", Metadata),
            ],
        ),
        (
            "outbox",
            &[
                ("id", Metadata),
                ("subject_id", SubjectId),
                ("kind", Metadata),
                ("message_id", Metadata),
                ("sealed", SealedMessage),
                ("state", Metadata),
                ("attempts", Metadata),
                ("next_attempt_us", Metadata),
                ("claimed_until_us", Metadata),
                ("created_at", Metadata),
                ("sent_at", Metadata),
            ],
        ),
        (
            "requests",
            &[
                ("id", Metadata),
                ("subject_id", SubjectId),
                ("right_kind", Metadata),
                ("state", Metadata),
                ("channel", Metadata),
                ("received_at", Metadata),
                ("due_on", Metadata),
                ("overdue_from_us", Metadata),
                ("closed_at", Metadata),
            ],
        ),
        (
            "letters",
            &[
                ("id", Metadata),
                ("sealed", SealedMessage),
                ("code_digest", Credential),
                ("expires_at_us", Metadata),
                ("attempts", Metadata),
                ("received_at", Metadata),
            ],
        ),
        (
            "request_codes",
            &[
                ("request_id", Metadata),
                ("code_digest", Credential),
                ("expires_at_us", Metadata),
                ("attempts", Metadata),
                ("subject_id", SubjectId),
            ],
        ),
        (
            "downloads",
            &[
                ("token_digest", Credential),
                ("subject_id", SubjectId),
                ("sealed", SealedMessage),
                ("expires_at_us", Metadata),
            ],
        ),
        (
            "password_resets",
            &[
                ("token_digest", Credential),
                ("subject_id", SubjectId),
                ("expires_at", Metadata),
                ("used_at", Metadata),
            ],
        ),
        (
            "audit_log",
            &[
                ("seq", Metadata),
                ("at", Metadata),
                ("actor", Metadata),
                ("action", Metadata),
                ("subject_id", SubjectId),
                ("categories", Metadata),
                ("purpose", Metadata),
                ("prev_hash", Metadata),
                ("hash", Metadata),
                ("stated_purpose", Metadata),
            ],
        ),
        (
            "legal_holds",
            &[
                ("seq", Metadata),
                ("hold_id", Metadata),
                ("action", Metadata),
                ("subject_id", SubjectId),
                ("categories", Metadata),
                // A case or order number, checked to hold no address or number that could
                // name a person.
                ("reference", Metadata),
                ("until", Metadata),
                ("actor", Metadata),
                ("at", Metadata),
            ],
        ),
        (
            "leases",
            &[
                ("name", Metadata),
                ("holder", Metadata),
                ("until_us", Metadata),
            ],
        ),
        (
            "staff",
            &[
                ("id", Metadata),
                ("login", StaffHandle),
                ("role", Metadata),
                ("password_hash", Credential),
                // Sealed under a key derived from the vault's.
                ("totp_sealed", Credential),
                ("totp_last_step", Metadata),
                ("enrollment_digest", Credential),
                ("enrollment_expires", Metadata),
                ("failed_attempts", Metadata),
                ("locked_until", Metadata),
                ("active", Metadata),
                ("created_at", Metadata),
            ],
        ),
        (
            "staff_sessions",
            &[
                ("token_digest", Credential),
                ("staff_id", Metadata),
                ("created_at", Metadata),
                ("last_seen_at", Metadata),
            ],
        ),
        (
            "ledger",
            &[
                ("seq", Metadata),
                ("book", Metadata),
                ("entity", Metadata),
                ("at", Metadata),
                ("actor", Metadata),
                ("body", LedgerBody),
            ],
        ),
    ]
};

/// A storage place: a column of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub table: &'static str,
    pub column: &'static str,
}

pub const SEALED_VALUES: Location = Location {
    table: "pd_values",
    column: "sealed",
};
pub const SEALED_EVENTS: Location = Location {
    table: "pd_events",
    column: "sealed",
};
pub const BLIND_INDEX: Location = Location {
    table: "blind_index",
    column: "digest",
};

/// One declared field and everything the engine needs to know about it.
#[derive(Debug, Clone)]
pub struct MapEntry {
    /// `category.field`
    pub field: String,
    pub category: String,
    pub key_class: String,
    pub retention: String,
    pub location: Location,
    pub blind_index: Option<Location>,
}

#[derive(Debug, Clone)]
pub struct DataMap {
    entries: Vec<MapEntry>,
}

impl DataMap {
    pub fn from_policy(policy: &Policy) -> Self {
        let entries = policy
            .categories
            .iter()
            .flat_map(|category| {
                category.fields.iter().map(move |field| {
                    let rule = policy.retention_of_field(category, field);
                    MapEntry {
                        field: format!("{}.{}", category.key, field.key),
                        category: category.key.clone(),
                        key_class: rule.key_class.clone(),
                        retention: rule.key.clone(),
                        location: match policy.storage_of(category, field) {
                            Storage::Profile => SEALED_VALUES,
                            Storage::Events => SEALED_EVENTS,
                        },
                        blind_index: field.blind_index.then_some(BLIND_INDEX),
                    }
                })
            })
            .collect();
        DataMap { entries }
    }

    pub fn entries(&self) -> &[MapEntry] {
        &self.entries
    }

    pub fn entry(&self, field: &str) -> Option<&MapEntry> {
        self.entries.iter().find(|e| e.field == field)
    }

    /// Every (table, column) the map sends personal data or its blind index to.
    pub fn pd_columns(&self) -> Vec<(&'static str, &'static str)> {
        let mut columns: Vec<_> = self
            .entries
            .iter()
            .flat_map(|e| std::iter::once(&e.location).chain(e.blind_index.as_ref()))
            .map(|l| (l.table, l.column))
            .collect();
        columns.sort();
        columns.dedup();
        columns
    }

    /// Key classes in use, each once.
    pub fn key_classes(&self) -> Vec<&str> {
        let mut classes: Vec<&str> = self.entries.iter().map(|e| e.key_class.as_str()).collect();
        classes.sort();
        classes.dedup();
        classes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pd_column_of_the_schema_is_reached_by_the_data_map_and_only_those() {
        let policy = crate::shipped_policy();
        let map = DataMap::from_policy(&policy);
        let mut declared: Vec<(&str, &str)> = STORAGE_SCHEMA
            .iter()
            .flat_map(|(table, cols)| {
                cols.iter()
                    .filter(|(_, role)| {
                        matches!(role, ColumnRole::SealedPd | ColumnRole::BlindIndex)
                    })
                    .map(move |(col, _)| (*table, *col))
            })
            .collect();
        declared.sort();
        assert_eq!(map.pd_columns(), declared);
    }
}
