//! Issue 24, item 5: a schema a store spread by person could hold. `core::placement` decides
//! where each table goes; these stories hold the real schema and the erasure to that decision.

use vintrova_core::placement::{PLACEMENT, Placement, person_column, spread_by};

use super::*;

/// Shared tables that keep a person's pseudonymous id after the person is erased, by design:
/// the audit chain and the hold log say what was done to whom, and the platform is told the
/// person was erased (the event and its deliveries). Every other table with a person's id holds
/// none of the erased person's.
const KEEP_THE_ID: &[&str] = &[
    "audit_log",
    "legal_holds",
    "webhook_events",
    "webhook_deliveries",
];

/// With the foreign keys a spread store cannot keep gone (from a looked-up table or a shared
/// queue to a person), nothing but the erasure itself removes the person's rows there: after
/// it, no table but those that keep the id by design has a row naming them.
pub async fn an_erased_person_leaves_no_row_in_any_table(h: &Harness) {
    const ADDRESS: &str = "saule.placement@mail.kz";
    let actor = operator();
    let id = a_student_answered_with_her_copy(h, "Сәуле", ADDRESS).await;
    h.app.request_password_reset(&actor, ADDRESS).await.unwrap();

    let with_a_person: Vec<(&str, &str)> = STORAGE_SCHEMA
        .iter()
        .map(|(table, _)| *table)
        .filter(|table| !KEEP_THE_ID.contains(table))
        .filter_map(|table| Some((table, person_column(table)?)))
        .collect();
    let rows_of = |table: &str, column: &str| {
        let sql = format!("SELECT count(*) FROM {table} WHERE {column} = $1");
        async move { h.count(&sql, id).await }
    };
    let mut held = Vec::new();
    for (table, column) in &with_a_person {
        if rows_of(table, column).await > 0 {
            held.push(*table);
        }
    }
    for table in [
        "subjects",
        "pd_values",
        "blind_index",
        "accounts",
        "sessions",
        "requests",
        "downloads",
        "password_resets",
        "outbox",
    ] {
        assert!(
            held.contains(&table),
            "{table} holds none of her rows before the erasure: the count proves nothing"
        );
    }

    h.app.erase(&actor, id).await.unwrap();
    for (table, column) in &with_a_person {
        assert_eq!(
            rows_of(table, column).await,
            0,
            "{table} still names the erased person"
        );
    }
}

/// Every unique key of a table spread by person includes the person; every unique key of a
/// looked-up table includes what it is looked up by; the event and value tables are
/// hash-partitioned by person (events within each month of collection); and no foreign key crosses between tables a spread store would
/// put apart. Checked on PostgreSQL's schema — SQLite, one file on one machine, is never
/// spread — and then attacked: a key on a request's id alone is caught.
pub async fn every_key_of_a_table_spread_by_person_includes_the_person(pool: &sqlx::PgPool) {
    assert_eq!(
        keys_a_spread_store_could_not_keep(pool).await,
        Vec::<String>::new()
    );
    sqlx::query("CREATE UNIQUE INDEX requests_by_id_alone ON requests (id)")
        .execute(pool)
        .await
        .unwrap();
    let caught = keys_a_spread_store_could_not_keep(pool).await;
    assert!(
        caught.iter().any(|c| c.contains("requests_by_id_alone")),
        "a key without the person went unseen: {caught:?}"
    );
}

async fn keys_a_spread_store_could_not_keep(pool: &sqlx::PgPool) -> Vec<String> {
    use sqlx::Row;
    let mut problems = Vec::new();
    let placement = |table: &str| PLACEMENT.iter().find(|(t, _)| *t == table).map(|(_, p)| *p);
    let keys = sqlx::query(
        "SELECT c.relname::text, i.relname::text,
                array_agg(a.attname::text ORDER BY k.ord)
         FROM pg_index x
         JOIN pg_class c ON c.oid = x.indrelid
         JOIN pg_class i ON i.oid = x.indexrelid
         CROSS JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
         WHERE c.relnamespace = current_schema()::regnamespace AND x.indisunique
           AND NOT c.relispartition
         GROUP BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for row in keys {
        let (table, key, columns): (String, String, Vec<String>) =
            (row.get(0), row.get(1), row.get(2));
        if let Some(column) = spread_by(&table)
            && !columns.iter().any(|c| c == column)
        {
            problems.push(format!("{table}: key {key} {columns:?} lacks {column}"));
        }
    }
    let partitioned: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, p.partstrat::text, a.attname::text
         FROM pg_partitioned_table p
         JOIN pg_class c ON c.oid = p.partrelid
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]
         WHERE c.relnamespace = current_schema()::regnamespace AND p.partnatts = 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let by_person = |t: &str| {
        partitioned
            .iter()
            .any(|(p, how, by)| p == t && how == "h" && by == "subject_id")
    };
    for (table, _) in PLACEMENT
        .iter()
        .filter(|(_, p)| *p == Placement::ByPerson { partitioned: true })
    {
        // By person, or by month of collection with every month (and the default) by person.
        let by_month = partitioned
            .iter()
            .any(|(t, how, by)| t == table && how == "r" && by == "collected_at");
        let months: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = to_regclass($1)",
        )
        .bind(*table)
        .fetch_all(pool)
        .await
        .unwrap();
        let fits = by_person(table)
            || (by_month && !months.is_empty() && months.iter().all(|m| by_person(m)));
        if !fits {
            problems.push(format!("{table} is not hash-partitioned by subject_id"));
        }
    }
    let foreign: Vec<(String, String, Vec<String>, Vec<String>)> = sqlx::query_as(
        "SELECT c.relname::text, r.relname::text,
                ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = f.conrelid AND attnum = ANY (f.conkey)),
                ARRAY(SELECT attname::text FROM pg_attribute WHERE attrelid = f.confrelid AND attnum = ANY (f.confkey))
         FROM pg_constraint f
         JOIN pg_class c ON c.oid = f.conrelid
         JOIN pg_class r ON r.oid = f.confrelid
         WHERE f.contype = 'f' AND c.relnamespace = current_schema()::regnamespace
           AND NOT c.relispartition AND f.conparentid = 0",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (from, to, from_columns, to_columns) in foreign {
        let by_person = |t: &str| matches!(placement(t), Some(Placement::ByPerson { .. }));
        let fits = match (spread_by(&from), spread_by(&to)) {
            // Among shared tables, or from a spread table to a shared one (kept on every machine).
            (None, None) | (Some(_), None) => true,
            // Between tables spread by person, only on the person, so both rows are on one machine.
            (Some(a), Some(b)) => {
                by_person(&from)
                    && by_person(&to)
                    && from_columns.iter().any(|c| c == a)
                    && to_columns.iter().any(|c| c == b)
            }
            // A shared row cannot point into one machine's share of people.
            (None, Some(_)) => false,
        };
        if !fits {
            problems.push(format!(
                "{from} {from_columns:?} refers to {to} {to_columns:?}"
            ));
        }
    }
    problems.sort();
    problems
}
