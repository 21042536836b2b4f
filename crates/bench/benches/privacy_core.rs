//! The privacy core against a plaintext baseline, on SQLite and PostgreSQL.
//!
//! Each scenario runs N operations one after another through Vintrova (validation, sealing,
//! purpose gate, audit chain) and the same work on a plaintext table of the same shape with no
//! encryption, gate or audit, then prints both rates and their ratio. Run:
//! `cargo bench -p vintrova-bench` (set `VINTROVA_BENCH_N` to change N, default 300).

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Row;
use uuid::Uuid;
use vintrova_core::gate::BasisEventKind;
use vintrova_core::{Actor, Collection};
use vintrova_store_tests::{Harness, RawPool};

const BASELINE_SCHEMA: &str = "
CREATE TABLE plain_subjects (id TEXT PRIMARY KEY NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE plain_values (
    subject_id TEXT NOT NULL REFERENCES plain_subjects (id),
    field TEXT NOT NULL, key_class TEXT NOT NULL, value TEXT NOT NULL,
    source TEXT NOT NULL, collected_at TEXT NOT NULL,
    PRIMARY KEY (subject_id, field));";

fn person(i: usize) -> Value {
    json!({
        "contact": {"first_name": format!("Айгерим{i}"), "last_name": "Нурланова", "email": format!("student{i}@mail.kz"), "phone": format!("+7701{:07}", i)},
        "professional": {"employer": "ТОО Нейро", "position": "Инженер", "it_experience_years": 3},
        "education": {"level": "Высшее", "specialization": "Машинное обучение"}
    })
}

/// Flatten a person into (field, category, value) rows, as the plaintext table holds them.
fn rows(doc: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (category, fields) in doc.as_object().unwrap() {
        for (field, value) in fields.as_object().unwrap() {
            out.push((
                format!("{category}.{field}"),
                category.clone(),
                value.to_string(),
            ));
        }
    }
    out
}

/// The same body for either backend's pool.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            RawPool::Sqlite($p) => $body,
            RawPool::Postgres($p) => $body,
        }
    };
}

async fn plain_create(pool: &RawPool<'_>, id: &str, doc: &Value) {
    on_pool!(pool, |p| {
        let mut tx = p.begin().await.unwrap();
        sqlx::query("INSERT INTO plain_subjects (id, created_at) VALUES ($1, $2)")
            .bind(id)
            .bind("2025-03-01T04:00:00Z")
            .execute(&mut *tx)
            .await
            .unwrap();
        for (field, category, value) in rows(doc) {
            sqlx::query(
                "INSERT INTO plain_values (subject_id, field, key_class, value, source, collected_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(field)
            .bind(category)
            .bind(value)
            .bind("registration_form")
            .bind("2025-03-01T04:00:00Z")
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    })
}

async fn plain_select(pool: &RawPool<'_>, id: &str, prefix: &str) -> usize {
    on_pool!(pool, |p| {
        let rows = sqlx::query("SELECT field, value FROM plain_values WHERE subject_id = $1")
            .bind(id)
            .fetch_all(*p)
            .await
            .unwrap();
        rows.iter()
            .filter(|r| r.get::<String, _>(0).starts_with(prefix))
            .count()
    })
}

async fn plain_erase(pool: &RawPool<'_>, id: &str) {
    on_pool!(pool, |p| {
        let mut tx = p.begin().await.unwrap();
        for sql in [
            "DELETE FROM plain_values WHERE subject_id = $1",
            "DELETE FROM plain_subjects WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    })
}

struct Line {
    scenario: &'static str,
    vintrova: Duration,
    plain: Duration,
}

async fn bench(h: Harness, n: usize) -> Vec<Line> {
    h.tamper(BASELINE_SCHEMA).await;
    let pool = h.raw_pool();
    let actor = Actor::new("bench", "runner");
    let docs: Vec<Value> = (0..n).map(person).collect();
    let mut lines = Vec::new();

    let start = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for doc in &docs {
        let values = h.app.parse_json(doc).unwrap();
        let collection = Collection {
            bases: vec![(BasisEventKind::ContractStarted, None)],
            ..Collection::from("registration_form")
        };
        ids.push(h.app.add_subject(&actor, values, collection).await.unwrap());
    }
    let vintrova = start.elapsed();
    let plain_ids: Vec<String> = (0..n).map(|_| Uuid::now_v7().to_string()).collect();
    let start = Instant::now();
    for (id, doc) in plain_ids.iter().zip(&docs) {
        plain_create(&pool, id, doc).await;
    }
    lines.push(Line {
        scenario: "create subject",
        vintrova,
        plain: start.elapsed(),
    });

    let start = Instant::now();
    for id in &ids {
        let view = h.app.read(&actor, *id, "personalization").await.unwrap();
        assert_eq!(view.values.len(), 5);
    }
    let vintrova = start.elapsed();
    let start = Instant::now();
    for id in &plain_ids {
        assert_eq!(plain_select(&pool, id, "").await, 9);
    }
    lines.push(Line {
        scenario: "purpose-gated read",
        vintrova,
        plain: start.elapsed(),
    });

    let start = Instant::now();
    for id in &ids {
        assert_eq!(h.app.export(&actor, *id).await.unwrap().values.len(), 9);
    }
    let vintrova = start.elapsed();
    let start = Instant::now();
    for id in &plain_ids {
        assert_eq!(plain_select(&pool, id, "").await, 9);
    }
    lines.push(Line {
        scenario: "export",
        vintrova,
        plain: start.elapsed(),
    });

    let start = Instant::now();
    for id in &ids {
        h.app.erase(&actor, *id).await.unwrap();
    }
    let vintrova = start.elapsed();
    let start = Instant::now();
    for id in &plain_ids {
        plain_erase(&pool, id).await;
    }
    lines.push(Line {
        scenario: "erase",
        vintrova,
        plain: start.elapsed(),
    });

    assert_eq!(h.app.verify_audit().await.unwrap().entries as usize, 4 * n);
    h.finish().await;
    lines
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test` of benches passes nothing and should
    // not spend minutes here.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("VINTROVA_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let rt = tokio::runtime::Runtime::new().unwrap();
    println!(
        "\nVintrova privacy core vs plaintext baseline, N = {n} operations each, sequential\n"
    );
    println!(
        "{:<10} {:<20} {:>14} {:>14} {:>8}",
        "backend", "scenario", "vintrova op/s", "plain op/s", "ratio"
    );
    for backend in ["sqlite", "postgres"] {
        let lines = rt.block_on(async {
            let h = if backend == "sqlite" {
                Harness::sqlite().await
            } else {
                Harness::postgres().await
            };
            bench(h, n).await
        });
        for l in lines {
            let (v, p) = (rate(n, l.vintrova), rate(n, l.plain));
            println!(
                "{backend:<10} {:<20} {v:>14.0} {p:>14.0} {:>7.1}x",
                l.scenario,
                p / v
            );
        }
    }
}
