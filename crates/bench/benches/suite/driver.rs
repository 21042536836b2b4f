//! Issue 24, item 6: SQLite through a synchronous driver on a blocking pool (rusqlite) against
//! sqlx, which runs each connection on a thread of its own and hands every statement and row
//! across to it. Measured on the statements the copy, the gated read and the write spend their
//! time in, on the same file, back to back; the ratio printed is sqlx's time over rusqlite's.
//! A measurement, not a switch: the store stays on sqlx unless this shows a reason.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rusqlite::{Connection, TransactionBehavior, params};
use uuid::Uuid;
use vintrova_bench::{Figure, Stats};
use vintrova_store_tests::{Harness, RawPool};

use super::Population;

/// The copy's statement: every event of a person, sealed bodies and all.
const EVENTS: &str = "SELECT id, category, key_class, sealed, source, collected_at, record_id
    FROM pd_events WHERE subject_id = $1 ORDER BY id";
/// The gated read's statement: a person's profile values.
const VALUES: &str = "SELECT field, key_class, sealed, source, collected_at
    FROM pd_values WHERE subject_id = $1 ORDER BY field";
const ADD_SUBJECT: &str = "INSERT INTO plain_subjects (id, created_at) VALUES ($1, $2)";
const ADD_VALUE: &str = "INSERT INTO plain_values (subject_id, field, value, source, collected_at)
    VALUES ($1, $2, 'значение', 'bench', $3)";

/// One event row, owned, as the store decodes it.
type EventRow = (Uuid, String, String, Vec<u8>, String, String, Option<Uuid>);

pub async fn drivers(h: &Harness, p: &Population, out: &mut Vec<Figure>) {
    let (Some(file), RawPool::Sqlite(pool)) = (h.sqlite_file(), h.raw_pool()) else {
        return;
    };
    let conn = Connection::open(&file).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    let conn = Arc::new(Mutex::new(conn));
    // On a blocking pool, as a store built on it would run: one hop per statement, none per row.
    let blocking = |work: Box<dyn FnOnce(&mut Connection) -> usize + Send>| {
        let conn = conn.clone();
        async move {
            tokio::task::spawn_blocking(move || work(&mut conn.lock().unwrap()))
                .await
                .unwrap()
        }
    };

    let (mut sqlx_copy, mut rusqlite_copy) = (vec![], vec![]);
    for _ in 0..20 {
        let t = Instant::now();
        let rows: Vec<EventRow> = sqlx::query_as(EVENTS)
            .bind(p.big)
            .fetch_all(pool)
            .await
            .unwrap();
        sqlx_copy.push(t.elapsed());
        let expected = rows.len();
        let big = p.big;
        let t = Instant::now();
        let got = blocking(Box::new(move |c| events_of(c, big).len())).await;
        rusqlite_copy.push(t.elapsed());
        assert_eq!(got, expected, "both drivers read the same rows");
    }

    let (mut sqlx_read, mut rusqlite_read) = (vec![], vec![]);
    for id in p.small.iter().take(500) {
        let t = Instant::now();
        let rows: Vec<(String, String, Vec<u8>, String, String)> = sqlx::query_as(VALUES)
            .bind(*id)
            .fetch_all(pool)
            .await
            .unwrap();
        sqlx_read.push(t.elapsed());
        let id = *id;
        let t = Instant::now();
        let got = blocking(Box::new(move |c| values_of(c, id))).await;
        rusqlite_read.push(t.elapsed());
        assert_eq!(got, rows.len());
    }

    let (mut sqlx_write, mut rusqlite_write) = (vec![], vec![]);
    for _ in 0..200 {
        let id = Uuid::now_v7().to_string();
        let t = Instant::now();
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query(ADD_SUBJECT)
            .bind(&id)
            .bind(super::AT)
            .execute(&mut *tx)
            .await
            .unwrap();
        for field in FIELDS {
            sqlx::query(ADD_VALUE)
                .bind(&id)
                .bind(field)
                .bind(super::AT)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        sqlx_write.push(t.elapsed());
        let id = Uuid::now_v7().to_string();
        let t = Instant::now();
        blocking(Box::new(move |c| write_person(c, &id))).await;
        rusqlite_write.push(t.elapsed());
    }

    for (what, sqlx_times, rusqlite_times) in [
        (
            "SQLite driver: copy's rows (10,000 events), sqlx against rusqlite",
            sqlx_copy,
            rusqlite_copy,
        ),
        (
            "SQLite driver: a profile's values, sqlx against rusqlite",
            sqlx_read,
            rusqlite_read,
        ),
        (
            "SQLite driver: a write of 11 rows in a transaction, sqlx against rusqlite",
            sqlx_write,
            rusqlite_write,
        ),
    ] {
        out.push(Figure::new(
            "sqlite",
            what,
            Stats::of(sqlx_times),
            Some(Stats::of(rusqlite_times)),
        ));
    }
}

const FIELDS: [&str; 10] = [
    "contact.first_name",
    "contact.last_name",
    "contact.email",
    "contact.phone",
    "professional.employer",
    "professional.position",
    "professional.it_experience_years",
    "education.level",
    "education.specialization",
    "education.completed_courses",
];

fn events_of(c: &mut Connection, subject: Uuid) -> Vec<EventRow> {
    let mut statement = c.prepare_cached(EVENTS).unwrap();
    let uuid = |bytes: Vec<u8>| Uuid::from_slice(&bytes).unwrap();
    statement
        .query_map(params![subject.as_bytes().as_slice()], |r| {
            Ok((
                uuid(r.get(0)?),
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get::<_, Option<Vec<u8>>>(6)?.map(uuid),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn values_of(c: &mut Connection, subject: Uuid) -> usize {
    let mut statement = c.prepare_cached(VALUES).unwrap();
    let rows: Vec<(String, String, Vec<u8>, String, String)> = statement
        .query_map(params![subject.as_bytes().as_slice()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.len()
}

fn write_person(c: &mut Connection, id: &str) -> usize {
    let tx = c
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .unwrap();
    tx.prepare_cached(ADD_SUBJECT)
        .unwrap()
        .execute(params![id, super::AT])
        .unwrap();
    {
        let mut add = tx.prepare_cached(ADD_VALUE).unwrap();
        for field in FIELDS {
            add.execute(params![id, field, super::AT]).unwrap();
        }
    }
    tx.commit().unwrap();
    FIELDS.len()
}
