//! The retention sweep over a million expired records while a writer keeps writing.
//!
//! Seeds `VINTROVA_BENCH_SWEEP_N` expired technical events (default 1,000,000) for people of
//! 100 events each, each person with a data key, straight into the database; then runs the
//! sweep while a writer records new events through the core, one after another. Prints the
//! sweep's rate next to a plaintext `DELETE` of the same rows, and the writer's worst and 99th
//! percentile wait: the sweep deletes in short transactions, so a writer never waits long.
//! Run: `cargo bench -p vintrova-bench --bench retention_sweep` (`VINTROVA_BENCH_BACKENDS`
//! = `sqlite`, `postgres` or `sqlite,postgres`, the default).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::SignedDuration;
use serde_json::json;
use uuid::Uuid;
use vintrova_bench::{Figure, Stats, env_number, harness, on_pool, percentile, print_header, save};
use vintrova_core::sweep::SweepOptions;
use vintrova_core::{Actor, Collection};
use vintrova_store_tests::Harness;

const PER_PERSON: usize = 100;

/// Expired events for `people` people, 500 rows per statement; returns the people.
async fn seed(h: &Harness, people: usize, collected_at: &str) -> Vec<Uuid> {
    let pool = h.raw_pool();
    let mut ids = Vec::with_capacity(people);
    for _ in 0..people {
        let id = Uuid::now_v7();
        h.vault()
            .subject_keys_creating(id, &["logs"])
            .await
            .unwrap();
        ids.push(id);
    }
    let sealed = vec![7u8; 120];
    for batch in ids.chunks(5) {
        on_pool!(&pool, |p| {
            let mut tx = p.begin().await.unwrap();
            for id in batch {
                sqlx::query("INSERT INTO subjects (id, created_at) VALUES ($1, $2)")
                    .bind(id)
                    .bind(collected_at)
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                sqlx::query(
                    "INSERT INTO basis_events (subject_id, kind, purpose, channel, at)
                     VALUES ($1, 'contract_started', NULL, 'bench', $2)",
                )
                .bind(id)
                .bind(collected_at)
                .execute(&mut *tx)
                .await
                .unwrap();
                let mut sql = String::from(
                    "INSERT INTO pd_events (id, subject_id, category, key_class, sealed, source, collected_at) VALUES ",
                );
                for i in 0..PER_PERSON {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!(
                        "(${}, $1, 'technical', 'logs', $2, 'visit_technical', $3)",
                        i + 4
                    ));
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(sealed.clone())
                    .bind(collected_at);
                for _ in 0..PER_PERSON {
                    q = q.bind(Uuid::now_v7());
                }
                q.execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        });
    }
    ids
}

async fn bench(h: Harness, n: usize) -> Figure {
    let people = n.div_ceil(PER_PERSON);
    let backend = h.store().backend();
    let now = h.app.now();
    let two_years_ago = (now - SignedDuration::from_hours(24 * 730)).to_string();
    // As in operation, the month was filed by the sweeps of its days before its events came
    // (PostgreSQL files events by month; elsewhere this does nothing).
    h.clock.set(now - SignedDuration::from_hours(24 * 730));
    h.app.file_months().await.unwrap();
    h.clock.set(now);
    let start = Instant::now();
    seed(&h, people, &two_years_ago).await;
    eprintln!(
        "[{backend}] seeded {} expired events for {people} people in {:.1?}",
        people * PER_PERSON,
        start.elapsed()
    );

    let writer_values = h
        .app
        .parse_json(&json!({"technical": {"ip": "10.0.0.1", "browser": "bench"}}))
        .unwrap();
    let writer = h
        .app
        .add_subject(
            &Actor::new("bench", "writer"),
            vec![],
            Collection::from("visit_technical"),
        )
        .await
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let app = h.app.clone();
    let stop = done.clone();
    let writes = tokio::spawn(async move {
        let mut waits = Vec::new();
        let actor = Actor::new("bench", "writer");
        while !stop.load(Ordering::Relaxed) {
            let t = Instant::now();
            app.record_events(
                &actor,
                writer,
                "security",
                writer_values.clone(),
                "visit_technical",
            )
            .await
            .unwrap();
            waits.push(t.elapsed());
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        waits
    });
    let start = Instant::now();
    let receipt = h
        .app
        .sweep(&Actor::new("bench", "sweep"), SweepOptions::default())
        .await
        .unwrap();
    let swept = start.elapsed();
    done.store(true, Ordering::Relaxed);
    let mut waits = writes.await.unwrap();
    waits.sort();
    let deleted: u64 = receipt.deleted.iter().map(|c| c.events).sum();
    assert_eq!(deleted as usize, people * PER_PERSON, "{receipt:?}");

    // The same rows deleted in plaintext as the sweep reaches them — five people's (500 rows)
    // to a statement, by person — with no keys, no receipts and no audit.
    let again = seed(&h, people, &two_years_ago).await;
    let pool = h.raw_pool();
    let start = Instant::now();
    on_pool!(&pool, |p| {
        for five in again.chunks(5) {
            let mut delete =
                sqlx::query("DELETE FROM pd_events WHERE subject_id IN ($1, $2, $3, $4, $5)");
            for k in 0..5 {
                delete = delete.bind(five.get(k).unwrap_or(&five[0]));
            }
            delete.execute(*p).await.unwrap();
        }
    });
    let plain = start.elapsed();
    println!(
        "{backend:<9} sweep of {deleted} expired events ({} whole months): {:>7.1} s ({:>8.0}/s)  plaintext DELETE {:>6.1} s  ratio {:>5.1}×  | writer: {} writes, p99 wait {:>6.1} ms, worst {:>6.1} ms",
        receipt.event_months_dropped,
        swept.as_secs_f64(),
        deleted as f64 / swept.as_secs_f64(),
        plain.as_secs_f64(),
        swept.as_secs_f64() / plain.as_secs_f64(),
        waits.len(),
        percentile(&waits, 0.99).as_secs_f64() * 1000.0,
        waits.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
    let rate = deleted as f64 / swept.as_secs_f64();
    let worst = waits.last().copied().unwrap_or_default().as_secs_f64() * 1000.0;
    let figure = Figure::new(
        backend,
        "retention sweep (whole run)",
        Stats::of(vec![swept]),
        Some(Stats::of(vec![plain])),
    )
    .with(serde_json::json!({
        "rows": deleted, "rows_per_s": rate.round(), "event_months_dropped": receipt.event_months_dropped,
        "writer_p99_wait_ms": percentile(&waits, 0.99).as_secs_f64() * 1000.0,
        "writer_worst_wait_ms": worst,
        "target": {"rows_per_s": 200_000, "worst_wait_ms": 100, "met": rate >= 200_000.0 && worst <= 100.0},
    }));
    h.finish().await;
    figure
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n = env_number("VINTROVA_BENCH_SWEEP_N", 1_000_000);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let figures: Vec<Figure> = rt.block_on(async {
        let mut figures = vec![];
        for backend in vintrova_bench::backends() {
            figures.push(bench(harness(&backend).await, n).await);
        }
        figures
    });
    print_header("The retention sweep");
    for f in &figures {
        f.print();
    }
    save("retention_sweep", &figures);
}
