//! Where each table's rows would live if the data store were spread over machines by person
//! (a distributed PostgreSQL such as Citus). Such a store enforces a primary or unique key only
//! when the key includes the column the table is spread by, and answers a statement from one
//! machine only when the statement names that column. This list is the decision for every
//! table of `STORAGE_SCHEMA`; a story checks the PostgreSQL schema's keys against it, so a
//! table added with a key the spread store could not keep fails the tests.

use crate::datamap::{ColumnRole, STORAGE_SCHEMA};

/// How a table is placed on a store spread by person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// One person's rows, spread by the person: every primary and unique key includes the
    /// table's subject-id column. `partitioned` tables are hash-partitioned by it on PostgreSQL
    /// today, where the partitions stand for the shards (events first by month of collection,
    /// each month then by person, as a spread store partitions a table it spreads).
    ByPerson { partitioned: bool },
    /// Looked up by a keyed digest rather than by person, so spread by that column — a sign-in
    /// by address reaches one machine, and the one-address rule (a unique digest) holds there.
    ByLookup(&'static str),
    /// Rows that belong to no one person — the policy's catalogue, staff, the audit chain and
    /// ledgers ordered across everyone, queues, letters from senders not yet known — kept
    /// whole in one place (a reference or coordinator table).
    Shared,
}

/// Every table of the data store and where it goes.
pub const PLACEMENT: &[(&str, Placement)] = {
    use Placement::*;
    const PERSON: Placement = ByPerson { partitioned: false };
    const PARTITIONED: Placement = ByPerson { partitioned: true };
    &[
        ("subjects", PERSON),
        ("pd_values", PARTITIONED),
        ("pd_events", PARTITIONED),
        ("blind_index", ByLookup("digest")),
        ("basis_events", PERSON),
        ("consent_events", PERSON),
        ("records", PERSON),
        ("notices", PERSON),
        ("accounts", PERSON),
        ("erasures_underway", PERSON),
        ("languages", PERSON),
        ("expired_by_month", PERSON),
        ("sessions", PERSON),
        ("requests", PERSON),
        ("request_codes", PERSON),
        ("downloads", PERSON),
        ("password_resets", PERSON),
        ("offerings", Shared),
        ("inbox", Shared),
        ("letters", Shared),
        ("outbox", Shared),
        ("webhook_endpoints", Shared),
        ("webhook_events", Shared),
        ("webhook_deliveries", Shared),
        ("erasure_receipts", Shared),
        ("audit_log", Shared),
        ("legal_holds", Shared),
        ("leases", Shared),
        ("staff", Shared),
        ("staff_sessions", Shared),
        ("ledger", Shared),
    ]
};

/// The column a table is spread by, if it is spread at all.
pub fn spread_by(table: &str) -> Option<&'static str> {
    match PLACEMENT.iter().find(|(t, _)| *t == table)?.1 {
        Placement::ByPerson { .. } => person_column(table),
        Placement::ByLookup(column) => Some(column),
        Placement::Shared => None,
    }
}

/// The table's column holding a person's id, as the schema declares it, if it has one.
pub fn person_column(table: &str) -> Option<&'static str> {
    let (_, columns) = STORAGE_SCHEMA.iter().find(|(t, _)| *t == table)?;
    columns
        .iter()
        .find(|(_, role)| *role == ColumnRole::SubjectId)
        .map(|(column, _)| *column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_of_the_schema_is_placed_once_and_every_spread_column_exists() {
        let mut placed: Vec<&str> = PLACEMENT.iter().map(|(t, _)| *t).collect();
        placed.sort();
        let before = placed.len();
        placed.dedup();
        assert_eq!(placed.len(), before, "a table is placed twice");
        let mut tables: Vec<&str> = STORAGE_SCHEMA.iter().map(|(t, _)| *t).collect();
        tables.sort();
        assert_eq!(placed, tables);
        for (table, placement) in PLACEMENT {
            if *placement == Placement::Shared {
                continue;
            }
            let column = spread_by(table).unwrap_or_else(|| panic!("{table} has no person"));
            let (_, columns) = STORAGE_SCHEMA.iter().find(|(t, _)| t == table).unwrap();
            assert!(
                columns.iter().any(|(c, _)| *c == column),
                "{table}.{column}"
            );
        }
    }
}
