//! The benchmark suite of issue 10: every scenario on SQLite and PostgreSQL, each beside the
//! same work on a plaintext schema (no encryption, gate or audit), printed as median, p99 and
//! ratio and appended to `target/bench/results.json`.
//!
//! Run everything with `scripts/bench` (it builds the server for the start-and-memory scenario);
//! this file alone with `cargo bench -p vintrova-bench --bench suite`. Knobs:
//! `VINTROVA_BENCH_BACKENDS` (`sqlite,postgres`), `VINTROVA_BENCH_PEOPLE` (10,000),
//! `VINTROVA_BENCH_BIG_VISITS` (10,000), `VINTROVA_BENCH_AUDIT_N` (1,000,000),
//! `VINTROVA_BENCH_SCALE` (`10000,100000`; add `1000000` for the full curve),
//! `VINTROVA_BENCH_HTTP_SECS` (5), `VINTROVA_BIN` (the server binary, for start and memory),
//! `VINTROVA_BENCH_ONLY` (some of `copy,read,http,write,erase,audit,scale,rights,driver,start`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;
use vintrova_bench::{Figure, Stats, env_number, harness, on_pool, print_header, save};
use vintrova_core::audit::{AuditDraft, ChainSealer};
use vintrova_core::gate::BasisEventKind;
use vintrova_core::payments::DevProvider;
use vintrova_core::rights::RightKind;
use vintrova_core::sweep::SweepOptions;
use vintrova_core::values::FieldValue;
use vintrova_core::{Actor, Collection, Vintrova};
use vintrova_store_tests::{Harness, RawPool};

#[path = "suite/driver.rs"]
mod driver;
#[path = "suite/rights_path.rs"]
mod rights_path;
#[path = "suite/start.rs"]
mod start;

const PLAIN_SCHEMA: &str = "
CREATE TABLE plain_subjects (id TEXT PRIMARY KEY NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE plain_values (
    subject_id TEXT NOT NULL REFERENCES plain_subjects (id),
    field TEXT NOT NULL, value TEXT NOT NULL, source TEXT NOT NULL, collected_at TEXT NOT NULL,
    PRIMARY KEY (subject_id, field));
CREATE TABLE plain_events (
    id TEXT PRIMARY KEY NOT NULL, subject_id TEXT NOT NULL REFERENCES plain_subjects (id),
    category TEXT NOT NULL, data TEXT NOT NULL, collected_at TEXT NOT NULL);
CREATE INDEX plain_events_by_subject ON plain_events (subject_id);";

const TOKEN: &str = "bench-token-not-a-secret";
const PURPOSE: &str = "personalization";
const AT: &str = "2026-11-01T04:00:00Z";

/// Person `i`'s address: the letter of the rights path scenario names them by it.
fn email(i: usize) -> String {
    format!("student{i}@mail.kz")
}

fn person(i: usize) -> Value {
    json!({
        "contact": {"first_name": format!("Айгерим{i}"), "last_name": "Нурланова",
                    "email": email(i), "phone": format!("+7701{:07}", i % 10_000_000)},
        "professional": {"employer": "ТОО Нейро", "position": "Инженер данных", "it_experience_years": 3},
        "education": {"level": "Высшее", "specialization": "Машинное обучение"}
    })
}

fn visit(i: usize) -> Value {
    json!({"technical": {"ip": format!("10.{}.{}.{}", i % 200, (i / 200) % 250, i % 250),
                         "browser": "Firefox 132", "os": "Linux"}})
}

fn rows(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (category, fields) in doc.as_object().unwrap() {
        for (field, value) in fields.as_object().unwrap() {
            out.push((format!("{category}.{field}"), value.to_string()));
        }
    }
    out
}

fn time<T>(samples: &mut Vec<Duration>, start: Instant, value: T) -> T {
    samples.push(start.elapsed());
    value
}

/// One person stored through the core with `visits` visit records.
async fn add_person(app: &Vintrova, actor: &Actor, i: usize, visits: usize) -> Uuid {
    let values = app.parse_json(&person(i)).unwrap();
    let collection = Collection {
        bases: vec![(BasisEventKind::ContractStarted, None)],
        consents: app
            .policy()
            .consents_needed(values.iter().map(|v| v.field.as_str())),
        ..Collection::from("registration_form")
    };
    let id = app.add_subject(actor, values, collection).await.unwrap();
    let groups: Vec<Vec<FieldValue>> = (0..visits)
        .map(|v| app.parse_json(&visit(v)).unwrap())
        .collect();
    for chunk in groups.chunks(2_000) {
        app.import_events(actor, id, "security", chunk.to_vec(), "visit_technical")
            .await
            .unwrap();
    }
    id
}

/// The same person on the plaintext schema, in one transaction.
async fn add_plain(pool: &RawPool<'_>, i: usize, visits: usize) -> String {
    let id = Uuid::now_v7().to_string();
    let doc = person(i);
    on_pool!(pool, |p| {
        let mut tx = p.begin().await.unwrap();
        sqlx::query("INSERT INTO plain_subjects (id, created_at) VALUES ($1, $2)")
            .bind(&id)
            .bind(AT)
            .execute(&mut *tx)
            .await
            .unwrap();
        for (field, value) in rows(&doc) {
            sqlx::query("INSERT INTO plain_values (subject_id, field, value, source, collected_at) VALUES ($1, $2, $3, 'registration_form', $4)")
                .bind(&id).bind(field).bind(value).bind(AT)
                .execute(&mut *tx).await.unwrap();
        }
        for v in 0..visits {
            sqlx::query("INSERT INTO plain_events (id, subject_id, category, data, collected_at) VALUES ($1, $2, 'technical', $3, $4)")
                .bind(Uuid::now_v7().to_string()).bind(&id).bind(visit(v).to_string()).bind(AT)
                .execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    });
    id
}

async fn plain_copy(pool: &RawPool<'_>, id: &str) -> usize {
    on_pool!(pool, |p| {
        let values = sqlx::query(
            "SELECT field, value, source, collected_at FROM plain_values WHERE subject_id = $1",
        )
        .bind(id)
        .fetch_all(*p)
        .await
        .unwrap();
        let events = sqlx::query(
            "SELECT id, category, data, collected_at FROM plain_events WHERE subject_id = $1",
        )
        .bind(id)
        .fetch_all(*p)
        .await
        .unwrap();
        let doc: Vec<Value> = values
            .iter()
            .map(|r| json!({"field": r.get::<String, _>(0), "value": r.get::<String, _>(1)}))
            .chain(
                events
                    .iter()
                    .map(|r| json!({"id": r.get::<String, _>(0), "data": r.get::<String, _>(2)})),
            )
            .collect();
        serde_json::to_vec(&doc).unwrap().len()
    })
}

async fn plain_read(pool: &RawPool<'_>, id: &str) -> usize {
    on_pool!(pool, |p| {
        sqlx::query("SELECT field, value FROM plain_values WHERE subject_id = $1")
            .bind(id)
            .fetch_all(*p)
            .await
            .unwrap()
            .len()
    })
}

async fn plain_erase(pool: &RawPool<'_>, id: &str) {
    on_pool!(pool, |p| {
        let mut tx = p.begin().await.unwrap();
        for sql in [
            "DELETE FROM plain_events WHERE subject_id = $1",
            "DELETE FROM plain_values WHERE subject_id = $1",
            "DELETE FROM plain_subjects WHERE id = $1",
        ] {
            sqlx::query(sql).bind(id).execute(&mut *tx).await.unwrap();
        }
        tx.commit().await.unwrap();
    })
}

struct Population {
    big: Uuid,
    big_plain: String,
    small: Vec<Uuid>,
    small_plain: Vec<String>,
}

/// 10,000 people, one with 10,000 visits, the rest with 10: through the core (four writers at
/// once), then the same on the plaintext schema.
async fn population(h: &Harness, backend: &str, out: &mut Vec<Figure>) -> Population {
    let people = env_number("VINTROVA_BENCH_PEOPLE", 10_000);
    let big_visits = env_number("VINTROVA_BENCH_BIG_VISITS", 10_000);
    let actor = Actor::new("bench", "loader");
    let start = Instant::now();
    let big = add_person(&h.app, &actor, 0, big_visits).await;
    let mut tasks = vec![];
    for w in 0..4 {
        let app = h.app.clone();
        let actor = actor.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = vec![];
            let mut times = vec![];
            for i in (1..people).filter(|i| i % 4 == w) {
                let t = Instant::now();
                ids.push(time(&mut times, t, add_person(&app, &actor, i, 10).await));
            }
            (ids, times)
        }));
    }
    let (mut small, mut times) = (vec![], vec![]);
    for t in tasks {
        let (ids, ts) = t.await.unwrap();
        small.extend(ids);
        times.extend(ts);
    }
    let loaded = start.elapsed();
    let pool = h.raw_pool();
    let start = Instant::now();
    let big_plain = add_plain(&pool, 0, big_visits).await;
    let mut small_plain = vec![];
    let mut plain_times = vec![];
    for i in 1..people {
        let t = Instant::now();
        small_plain.push(time(&mut plain_times, t, add_plain(&pool, i, 10).await));
    }
    let plain_loaded = start.elapsed();
    let visits = big_visits + (people - 1) * 10;
    out.push(
        Figure::new(
            backend,
            "load: a person with 10 visits (4 writers)",
            Stats::of(times),
            Some(Stats::of(plain_times)),
        )
        .with(json!({
            "people": people, "visits": visits,
            "load_s": loaded.as_secs_f64(), "plaintext_load_s (1 writer)": plain_loaded.as_secs_f64(),
        })),
    );
    Population {
        big,
        big_plain,
        small,
        small_plain,
    }
}

async fn copies(h: &Harness, backend: &str, p: &Population, out: &mut Vec<Figure>) {
    let actor = Actor::new("bench", "dpo");
    let pool = h.raw_pool();
    for (label, ids, plain, runs, target) in [
        (
            "copy: the person with 10,000 visits",
            vec![p.big],
            vec![p.big_plain.clone()],
            15,
            Some(50.0),
        ),
        (
            "copy: a person with 10 visits",
            p.small[..200].to_vec(),
            p.small_plain[..200].to_vec(),
            1,
            None,
        ),
    ] {
        let (mut v, mut q, mut json) = (vec![], vec![], vec![]);
        let mut bytes = 0;
        // A copy answers the person's verified access request; filing it is not timed.
        let mut requests = vec![];
        for id in &ids {
            requests.push(h.verified_request(*id, RightKind::Access).await.unwrap());
        }
        for _ in 0..runs {
            for ((id, plain_id), request) in ids.iter().zip(&plain).zip(&requests) {
                let t = Instant::now();
                let copy = h
                    .app
                    .copy_for_request(&actor, *id, Some(*request))
                    .await
                    .unwrap();
                let s = Instant::now();
                bytes = serde_json::to_vec(&copy).unwrap().len();
                json.push(s.elapsed());
                v.push(t.elapsed());
                let t = Instant::now();
                plain_copy(&pool, plain_id).await;
                q.push(t.elapsed());
            }
        }
        let figure = Figure::new(backend, label, Stats::of(v), Some(Stats::of(q)));
        let target =
            target.map(|ms: f64| json!({"target_ms": ms, "met": figure.vintrova.median_ms < ms}));
        let json_ms = Stats::of(json).median_ms;
        out.push(
            figure
                .with(json!({"json_bytes": bytes, "of_which_json_ms": json_ms, "target": target})),
        );
    }
}

async fn erasures(h: &Harness, backend: &str, p: &Population, out: &mut Vec<Figure>) {
    let actor = Actor::new("bench", "dpo");
    let pool = h.raw_pool();
    let big_visits = env_number("VINTROVA_BENCH_BIG_VISITS", 10_000);
    let classes: Vec<String> = h
        .app
        .policy()
        .retention_rules
        .iter()
        .map(|r| r.key_class.clone())
        .collect();
    let mut big = vec![];
    let mut big_plain = vec![];
    for i in 0..5 {
        big.push(add_person(&h.app, &actor, 900_000 + i, big_visits).await);
        big_plain.push(add_plain(&pool, 900_000 + i, big_visits).await);
    }
    for (label, ids, plain) in [
        ("the person with 10,000 visits", big, big_plain),
        (
            "a person with 10 visits",
            p.small[200..300].to_vec(),
            p.small_plain[200..300].to_vec(),
        ),
    ] {
        let (mut effective, mut purged, mut q) = (vec![], vec![], vec![]);
        for (id, plain_id) in ids.iter().zip(&plain) {
            // Effective: the keys are gone, nothing is readable anywhere, backups included.
            let t = Instant::now();
            h.vault().destroy(*id, &classes).await.unwrap();
            effective.push(t.elapsed());
            // Purged: the rows are gone too (what erase does after destroying the keys).
            h.app.erase(&actor, *id).await.unwrap();
            purged.push(t.elapsed());
            let t = Instant::now();
            plain_erase(&pool, plain_id).await;
            q.push(t.elapsed());
        }
        let plain = Stats::of(q);
        for (what, samples, target_ms) in [("effective", effective, 5.0), ("purged", purged, 100.0)]
        {
            let figure = Figure::new(
                backend,
                &format!("erase {what}: {label}"),
                Stats::of(samples),
                Some(plain),
            );
            let met = figure.vintrova.median_ms < target_ms;
            out.push(figure.with(json!({"target": {"target_ms": target_ms, "met": met}})));
        }
    }
}

async fn gated_reads(
    h: &Harness,
    backend: &str,
    ids: &[Uuid],
    plain: &[String],
    label: &str,
    out: &mut Vec<Figure>,
) {
    let actor = Actor::new("bench", "platform");
    let pool = h.raw_pool();
    let (mut v, mut q) = (vec![], vec![]);
    for round in 0..2 {
        for (id, plain_id) in ids.iter().zip(plain) {
            let t = Instant::now();
            let view = h.app.read(&actor, *id, PURPOSE).await.unwrap();
            if round > 0 {
                v.push(t.elapsed());
            }
            assert!(!view.values.is_empty());
            let t = Instant::now();
            plain_read(&pool, plain_id).await;
            if round > 0 {
                q.push(t.elapsed());
            }
        }
    }
    let figure = Figure::new(backend, label, Stats::of(v), Some(Stats::of(q)));
    let met = figure.ratio.is_some_and(|r| r <= 1.3);
    out.push(figure.with(json!({"target": {"ratio": 1.3, "met": met}})));
}

/// A keep-alive HTTP/1.1 GET, as small as a load generator can be: returns the status.
async fn get(stream: &mut tokio::net::TcpStream, path: &str, buf: &mut Vec<u8>) -> u16 {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    buf.clear();
    loop {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        if buf.len() >= end + 4 + length {
            return head[9..12].parse().unwrap();
        }
    }
}

/// `connections` clients on 127.0.0.1 for `secs` seconds (at most `max` requests each).
async fn load(
    addr: std::net::SocketAddr,
    paths: Arc<Vec<String>>,
    connections: usize,
    secs: u64,
) -> (Vec<Duration>, Duration) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = vec![];
    for c in 0..connections {
        let paths = paths.clone();
        tasks.push(tokio::spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let mut buf = Vec::with_capacity(16 * 1024);
            let mut times = vec![];
            let mut i = c;
            while Instant::now() < deadline && times.len() < 200_000 {
                let t = Instant::now();
                let status = get(&mut stream, &paths[i % paths.len()], &mut buf).await;
                assert_eq!(status, 200);
                times.push(t.elapsed());
                i += connections;
            }
            times
        }));
    }
    let mut all = vec![];
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all, start.elapsed())
}

/// The API on 127.0.0.1 over this harness's core, with the bench's token: its address, and the
/// task to abort when done.
async fn serve(h: &Harness) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let state =
        vintrova_web::AppState::new(h.app.clone(), TOKEN, Arc::new(DevProvider::new([9u8; 32])));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            vintrova_web::router(state)
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    (addr, server)
}

async fn http_reads(h: &Harness, backend: &str, ids: &[Uuid], out: &mut Vec<Figure>) {
    let (addr, server) = serve(h).await;
    let paths: Arc<Vec<String>> = Arc::new(
        ids.iter()
            .map(|id| format!("/api/v1/subjects/{id}/purposes/{PURPOSE}"))
            .collect(),
    );
    let secs = env_number("VINTROVA_BENCH_HTTP_SECS", 5) as u64;
    let (times, elapsed) = load(addr, paths, 16, secs).await;
    server.abort();
    let rate = times.len() as f64 / elapsed.as_secs_f64();
    let figure = Figure::new(
        backend,
        "gated read over HTTP (16 connections)",
        Stats::of(times.clone()),
        None,
    );
    let met = rate >= 10_000.0 && figure.vintrova.p99_ms < 5.0;
    out.push(figure.with(
        json!({"requests": times.len(), "requests_per_s": rate.round(),
        "target": {"requests_per_s": 10_000, "p99_ms": 5.0, "met": met}}),
    ));
}

async fn writes(h: &Harness, backend: &str, out: &mut Vec<Figure>) {
    let actor = Actor::new("bench", "platform");
    let pool = h.raw_pool();
    let (mut v, mut q) = (vec![], vec![]);
    for i in 0..500 {
        let t = Instant::now();
        add_person(&h.app, &actor, 2_000_000 + i, 0).await;
        v.push(t.elapsed());
        let t = Instant::now();
        add_plain(&pool, 2_000_000 + i, 0).await;
        q.push(t.elapsed());
    }
    let figure = Figure::new(
        backend,
        "write: a person with every profile field",
        Stats::of(v),
        Some(Stats::of(q)),
    );
    let met = figure.ratio.is_some_and(|r| r <= 1.5);
    out.push(figure.with(json!({"target": {"ratio": 1.5, "met": met}})));
}

fn draft(i: usize) -> AuditDraft {
    AuditDraft {
        at: AT.parse().unwrap(),
        actor: "bench:auditor".into(),
        action: "read".into(),
        subject: Some(Uuid::from_u128(i as u128 + 1)),
        categories: vec!["contact".into()],
        purpose: Some(PURPOSE.into()),
        stated_purpose: None,
        event: None,
    }
}

async fn audit(h: &Harness, backend: &str, ids: &[Uuid], out: &mut Vec<Figure>) {
    // Eight readers at once, in process: each gated read appends one entry, chained and made
    // durable before it answers — what the appender's group commit is for.
    let start = Instant::now();
    let mut tasks = vec![];
    let ids = Arc::new(ids.to_vec());
    for w in 0..8 {
        let (app, ids) = (h.app.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let actor = Actor::new("bench", "platform");
            let mut times = vec![];
            for i in 0..300 {
                let t = Instant::now();
                let view = app
                    .read(&actor, ids[(w * 300 + i) % ids.len()], PURPOSE)
                    .await
                    .unwrap();
                times.push(t.elapsed());
                assert!(!view.values.is_empty());
            }
            times
        }));
    }
    let mut times = vec![];
    for t in tasks {
        times.extend(t.await.unwrap());
    }
    let rate = times.len() as f64 / start.elapsed().as_secs_f64();
    out.push(
        Figure::new(
            backend,
            "audit append: gated reads, 8 concurrent readers",
            Stats::of(times),
            None,
        )
        .with(json!({"appends_per_s": rate.round()})),
    );

    // A million entries, chained in memory and written in bulk, then verified from the start.
    let n = env_number("VINTROVA_BENCH_AUDIT_N", 1_000_000);
    let head = h.vault().key_store().chain_anchor().await.unwrap();
    let (mut seq, mut prev) = head.unwrap_or((0, vec![0u8; 32]));
    let sealer = ChainSealer::new(h.vault().chain());
    let pool = h.raw_pool();
    let seeding = Instant::now();
    let mut written = 0;
    while written < n {
        let batch = 500.min(n - written);
        let mut sql = String::from(
            "INSERT INTO audit_log (seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash) VALUES ",
        );
        let mut rows = vec![];
        for k in 0..batch {
            seq += 1;
            let d = draft(written + k);
            let hash = sealer.link(&prev, seq, &d).to_vec();
            if k > 0 {
                sql.push(',');
            }
            let b = k * 9;
            sql.push_str(&format!(
                "(${},${},${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
                b + 9
            ));
            rows.push((seq, d, prev.clone(), hash.clone()));
            prev = hash;
        }
        on_pool!(&pool, |p| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (seq, d, prev, hash) in rows {
                q = q
                    .bind(seq)
                    .bind(d.at.to_string())
                    .bind(d.actor.clone())
                    .bind(d.action.clone())
                    .bind(d.subject)
                    .bind(d.categories_column())
                    .bind(d.purpose.clone())
                    .bind(prev)
                    .bind(hash);
            }
            q.execute(*p).await.unwrap();
        });
        written += batch;
    }
    h.vault().anchor(seq, &prev).await.unwrap();
    let seeded = seeding.elapsed();
    let t = Instant::now();
    let report = h.app.verify_audit().await.unwrap();
    let took = t.elapsed();
    let rate = report.entries as f64 / took.as_secs_f64();
    out.push(
        Figure::new(backend, "audit verify, whole chain", Stats::of(vec![took]), None).with(json!({
            "entries": report.entries, "entries_per_s": rate.round(), "seeded_in_s": seeded.as_secs_f64(),
            "target": {"entries_per_s": 1_000_000, "met": rate >= 1_000_000.0},
        })),
    );
}

/// Fill the store with `count` more people as raw rows (sealed-looking bytes, blind index
/// digests), so tables and indexes are as large as at that scale.
async fn fill(h: &Harness, count: usize) {
    let pool = h.raw_pool();
    let mut done = 0;
    while done < count {
        let batch = 200.min(count - done);
        let ids: Vec<Uuid> = (0..batch).map(|_| Uuid::now_v7()).collect();
        let mut subjects = String::from("INSERT INTO subjects (id, created_at) VALUES ");
        let mut values = String::from(
            "INSERT INTO pd_values (subject_id, field, key_class, sealed, source, collected_at) VALUES ",
        );
        let mut index = String::from("INSERT INTO blind_index (subject_id, field, digest) VALUES ");
        for (k, _) in ids.iter().enumerate() {
            let sep = if k > 0 { "," } else { "" };
            subjects.push_str(&format!("{sep}(${}, '{AT}')", k + 1));
            for (f, field) in [
                "contact.first_name",
                "contact.email",
                "contact.phone",
                "professional.employer",
            ]
            .iter()
            .enumerate()
            {
                let sep = if k > 0 || f > 0 { "," } else { "" };
                values.push_str(&format!(
                    "{sep}(${}, '{field}', 'profile', ${}, 'bench', '{AT}')",
                    k + 1,
                    batch + 1
                ));
            }
            index.push_str(&format!(
                "{sep}(${}, 'contact.email', ${})",
                k + 1,
                batch + 1 + k
            ));
        }
        let sealed = vec![7u8; 64];
        on_pool!(&pool, |p| {
            let mut tx = p.begin().await.unwrap();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(subjects));
            for id in &ids {
                q = q.bind(*id);
            }
            q.execute(&mut *tx).await.unwrap();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(values));
            for id in &ids {
                q = q.bind(*id);
            }
            q.bind(sealed.clone()).execute(&mut *tx).await.unwrap();
            let mut q = sqlx::query(sqlx::AssertSqlSafe(index));
            for id in &ids {
                q = q.bind(*id);
            }
            for id in &ids {
                q = q.bind(id.as_bytes().repeat(2));
            }
            q.execute(&mut *tx).await.unwrap();
            tx.commit().await.unwrap();
        });
        done += batch;
    }
}

/// What the scale curve follows, in the chart's order.
const CURVES: [&str; 5] = ["read", "copy", "erasure", "write", "sweep, per 100 people"];

/// (people, the median ms of each of `CURVES`) at each scale.
type Curve = Vec<(usize, [f64; 5])>;

async fn scale(h: &Harness, backend: &str, out: &mut Vec<Figure>) -> Curve {
    let sizes: Vec<usize> = std::env::var("VINTROVA_BENCH_SCALE")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let actor = Actor::new("bench", "platform");
    let mut have = h.store().subject_ids(None, i64::MAX).await.unwrap().len();
    let mut curve = vec![];
    for size in sizes {
        if size > have {
            fill(h, size - have).await;
            have = size;
            // As autovacuum (or SQLite's optimizer) would have by then: statistics that know
            // the tables' new size.
            h.tamper("ANALYZE").await;
        }
        let (mut people, mut write) = (vec![], vec![]);
        for i in 0..150 {
            let t = Instant::now();
            people.push(add_person(&h.app, &actor, 3_000_000 + size + i, 10).await);
            write.push(t.elapsed());
        }
        let (mut read, mut copy, mut erase) = (vec![], vec![], vec![]);
        for id in &people {
            let t = Instant::now();
            h.app.read(&actor, *id, PURPOSE).await.unwrap();
            read.push(t.elapsed());
            let request = h.verified_request(*id, RightKind::Access).await.unwrap();
            let t = Instant::now();
            h.app
                .copy_for_request(&actor, *id, Some(request))
                .await
                .unwrap();
            copy.push(t.elapsed());
        }
        for id in &people[..50] {
            let t = Instant::now();
            h.app.erase(&actor, *id).await.unwrap();
            erase.push(t.elapsed());
        }
        // The sweep reads everyone's metadata every day, due or not: a dry run times that walk
        // over the whole population (nothing here is due but what the raw fill holds).
        let population = h.store().subject_ids(None, i64::MAX).await.unwrap().len();
        let dry = SweepOptions {
            dry_run: true,
            ..SweepOptions::default()
        };
        let t = Instant::now();
        h.app.sweep(&actor, dry).await.unwrap();
        let per_hundred = t.elapsed() * 100 / population as u32;
        let stats = [read, copy, erase, write, vec![per_hundred]].map(Stats::of);
        for (what, s) in [
            "gated read",
            "copy (10 visits)",
            "erasure (10 visits)",
            "write (profile + 10 visits)",
            "sweep walk, dry run, per 100 people",
        ]
        .into_iter()
        .zip(stats)
        {
            out.push(
                Figure::new(backend, &format!("scale {size}: {what}"), s, None)
                    .with(json!({"people": size})),
            );
        }
        curve.push((size, stats.map(|s| s.median_ms)));
    }
    curve
}

/// The curve as an SVG line chart: milliseconds per operation against people (log scale).
fn chart(curves: &[(String, Curve)]) -> String {
    let (w, hgt, left, bottom) = (640.0, 320.0, 60.0, 40.0);
    let max_ms = curves
        .iter()
        .flat_map(|(_, c)| c.iter().flat_map(|p| p.1))
        .fold(1.0f64, f64::max)
        * 1.1;
    let (min_n, max_n) = (1e4f64.log10(), 1e6f64.log10());
    let x = |n: usize| left + ((n as f64).log10() - min_n) / (max_n - min_n) * (w - left - 20.0);
    let y = |ms: f64| hgt - bottom - ms / max_ms * (hgt - bottom - 20.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {hgt}\" font-family=\"sans-serif\" font-size=\"11\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/><line x1=\"{left}\" y1=\"20\" x2=\"{left}\" y2=\"{0}\" stroke=\"#333\"/>",
        hgt - bottom,
        w - 20.0
    );
    for n in [10_000usize, 100_000, 1_000_000] {
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{n}</text>",
            x(n),
            hgt - bottom + 16.0
        ));
    }
    for k in 0..=4 {
        let ms = max_ms * k as f64 / 4.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{ms:.1} ms</text>",
            left - 6.0,
            y(ms) + 4.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">people</text>",
        w / 2.0,
        hgt - 6.0
    ));
    let colours = ["#1f6feb", "#d73a49", "#2da44e", "#8250df", "#bf8700"];
    let mut legend = 0.0;
    for (backend, curve) in curves {
        for (s, (what, colour)) in CURVES.iter().zip(colours).enumerate() {
            let points: Vec<String> = curve
                .iter()
                .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1[s])))
                .collect();
            let dash = if backend == "postgres" {
                " stroke-dasharray=\"5,3\""
            } else {
                ""
            };
            svg.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
                 <text x=\"{}\" y=\"{}\" fill=\"{colour}\">{backend} {what}</text>",
                points.join(" "),
                w - 205.0,
                104.0 + legend
            ));
            legend += 13.0;
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// Whether `VINTROVA_BENCH_ONLY` (a comma list; all when unset) asks for this scenario.
fn wanted(scenario: &str) -> bool {
    std::env::var("VINTROVA_BENCH_ONLY")
        .map_or(true, |only| only.split(',').any(|s| s.trim() == scenario))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut figures = vec![];
    let mut curves = vec![];
    rt.block_on(async {
        for backend in vintrova_bench::backends() {
            let h = harness(&backend).await;
            h.tamper(PLAIN_SCHEMA).await;
            let mut out = vec![];
            let p = population(&h, &backend, &mut out).await;
            let readers = 300..2300.min(p.small.len());
            if wanted("copy") {
                copies(&h, &backend, &p, &mut out).await;
            }
            if wanted("read") {
                let (ids, plain) = (&p.small[readers.clone()], &p.small_plain[readers.clone()]);
                gated_reads(&h, &backend, ids, plain, "gated read, in process", &mut out).await;
            }
            if wanted("http") {
                http_reads(&h, &backend, &p.small[readers.clone()], &mut out).await;
            }
            if wanted("write") {
                writes(&h, &backend, &mut out).await;
            }
            if wanted("erase") {
                erasures(&h, &backend, &p, &mut out).await;
            }
            if wanted("audit") {
                audit(&h, &backend, &p.small[readers.clone()], &mut out).await;
            }
            if wanted("scale") {
                curves.push((backend.clone(), scale(&h, &backend, &mut out).await));
            }
            if wanted("rights") {
                rights_path::rights_path(&h, &backend, &mut out).await;
            }
            if wanted("driver") {
                driver::drivers(&h, &p, &mut out).await;
            }
            print_header(&format!("Vintrova on {backend}"));
            for f in &out {
                f.print();
            }
            figures.extend(out);
            h.finish().await;
        }
        let mut out = vec![];
        if wanted("start") {
            start::start_and_memory(&mut out).await;
        }
        for f in &out {
            f.print();
        }
        figures.extend(out);
    });
    let svg = chart(&curves);
    let path =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/bench/scale.svg");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, svg).unwrap();
    println!("\nthe scale chart: {}", path.display());
    save("suite", &figures);
}
