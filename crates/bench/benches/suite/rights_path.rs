//! The rights path end to end over HTTP, as the peer was measured (issue 24): a letter asks for
//! access or erasure through the API, the officer verifies it with the code the letter-writer
//! was mailed, and fulfils it. Timed: the three calls together (request → answer; reading the
//! mailed code and the letters list between them is the people's time, not the server's) and
//! the fulfilment alone.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vintrova_bench::{Figure, Stats, env_number};
use vintrova_core::Actor;
use vintrova_core::staff::{Role, code_at};
use vintrova_store_tests::Harness;

use super::{TOKEN, add_person, email};

const OFFICER: &str = "bench.dpo";
const PASSWORD: &str = "Длинный-пароль-сотрудника";

/// The staff member's signed-in session: cookie and CSRF token.
struct Officer {
    cookie: String,
    csrf: String,
}

/// One call on a fresh connection, read to its end: the status, the head and the body.
async fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &Value,
) -> (u16, String, Value) {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{headers}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![];
    stream.read_to_end(&mut answer).await.unwrap();
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let status = String::from_utf8_lossy(&answer[9..12]).parse().unwrap();
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let json = serde_json::from_slice(&answer[end + 4..]).unwrap_or(Value::Null);
    (status, head, json)
}

async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &Value,
) -> (u16, Value) {
    let (status, _, json) = exchange(addr, method, path, headers, body).await;
    (status, json)
}

fn platform() -> String {
    format!("Authorization: Bearer {TOKEN}\r\n")
}

impl Officer {
    /// Enrolled with paperwork once; signed in afresh for each run (the bench's clock jumps an
    /// hour between runs, past the per-address intake limit and the staff idle timeout).
    async fn sign_in(h: &Harness, addr: SocketAddr, secret: &str) -> Officer {
        h.clock.advance(jiff::SignedDuration::from_secs(30));
        let code = code_at(secret, h.app.now()).unwrap();
        let (status, head, json) = exchange(
            addr,
            "POST",
            "/api/v1/staff/sessions",
            "",
            &json!({"login": OFFICER, "password": PASSWORD, "code": code}),
        )
        .await;
        assert_eq!(status, 200, "{json}");
        Officer {
            cookie: head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .starts_with("set-cookie:")
                        .then(|| &l[11..])
                })
                .and_then(|c| c.split(';').next())
                .unwrap()
                .trim()
                .to_string(),
            csrf: json["csrf"].as_str().unwrap().to_string(),
        }
    }

    fn headers(&self) -> String {
        format!(
            "Cookie: {}\r\nX-CSRF-Token: {}\r\nVintrova-Purpose: rights_request\r\n",
            self.cookie, self.csrf
        )
    }
}

/// The ids of requests and letters waiting for their code or their answer: the new letter is
/// the one that was not there before (a known address's letter is a request in the queue, an
/// unknown one's waits among the letters).
async fn waiting(addr: SocketAddr, officer: &Officer) -> BTreeSet<String> {
    let (_, queue) = call(
        addr,
        "GET",
        "/api/v1/requests",
        &officer.headers(),
        &Value::Null,
    )
    .await;
    let (_, letters) = call(
        addr,
        "GET",
        "/api/v1/requests/letters",
        &officer.headers(),
        &Value::Null,
    )
    .await;
    let queued = queue
        .as_array()
        .unwrap()
        .iter()
        .map(|q| &q["request"]["id"]);
    let held = letters.as_array().unwrap().iter().map(|l| &l["id"]);
    queued
        .chain(held)
        .filter_map(|id| id.as_str().map(String::from))
        .collect()
}

/// The code the newest mail to `to` carries.
async fn mailed_code(h: &Harness, to: &str) -> String {
    let mails = h.app.claim_outbox(1_000).await.unwrap();
    let mail = mails
        .iter()
        .rev()
        .map(|m| h.app.open_message(m).unwrap())
        .find(|m| m.to == to)
        .expect("the code was mailed");
    mail.body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

/// One request → answer for the person at `email`: (the three calls, the fulfilment alone,
/// the answer's size in bytes).
async fn one(
    h: &Harness,
    addr: SocketAddr,
    secret: &str,
    email: &str,
    right: &str,
) -> (Duration, Duration, usize) {
    h.clock.advance(jiff::SignedDuration::from_hours(1));
    let officer = Officer::sign_in(h, addr, secret).await;
    let letter = json!({"email": email, "right": right, "channel": "email",
        "description": "Прошу исполнить моё право по закону о персональных данных"});
    let before = waiting(addr, &officer).await;
    let t = Instant::now();
    let (status, json) = call(addr, "POST", "/api/v1/requests", &platform(), &letter).await;
    assert_eq!(status, 202, "{json}");
    let asked = t.elapsed();
    let code = mailed_code(h, email).await;
    let id = waiting(addr, &officer)
        .await
        .difference(&before)
        .next()
        .expect("the letter is waiting")
        .clone();
    let t = Instant::now();
    let (status, json) = call(
        addr,
        "POST",
        &format!("/api/v1/requests/{id}/verify"),
        &officer.headers(),
        &json!({"code": code}),
    )
    .await;
    assert_eq!(status, 200, "{json}");
    // A letter asking what an open request of the person already asks joins it.
    let id = json["id"].as_str().unwrap().to_string();
    let verified = t.elapsed();
    let t = Instant::now();
    let (status, json) = call(
        addr,
        "POST",
        &format!("/api/v1/requests/{id}/fulfil"),
        &officer.headers(),
        &json!({"right": right}),
    )
    .await;
    let fulfilled = t.elapsed();
    assert_eq!(status, 200, "{right} for {email}, request {id}: {json}");
    (
        asked + verified + fulfilled,
        fulfilled,
        json.to_string().len(),
    )
}

/// Runs last: it erases people the other scenarios read (students 1–3, and its own big ones).
pub(super) async fn rights_path(h: &Harness, backend: &str, out: &mut Vec<Figure>) {
    let (addr, server) = super::serve(h).await;
    let (staff, secret) =
        vintrova_store_tests::staff::enrolled(h, OFFICER, Role::Dpo, PASSWORD).await;
    let today = h.app.now().to_zoned_datetime(h.app.policy().zone()).date();
    vintrova_store_tests::staff::paperwork(h, staff, today).await;
    let big_visits = env_number("VINTROVA_BENCH_BIG_VISITS", 10_000);
    let loader = Actor::new("bench", "loader");
    let runs = 5;
    // Erasure takes its person: each run erases one made for it (loading is not timed).
    let mut big = vec![];
    for i in 0..runs {
        big.push(800_000 + i);
        add_person(&h.app, &loader, 800_000 + i, big_visits).await;
    }
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "access: the person with 10,000 visits",
            "access",
            vec![email(0); runs],
        ),
        (
            "access: a person with 10 visits",
            "access",
            vec![email(4); runs],
        ),
        (
            "erasure: the person with 10,000 visits",
            "erasure",
            big.iter().map(|i| email(*i)).collect(),
        ),
        (
            "erasure: a person with 10 visits",
            "erasure",
            (1..=runs).map(email).collect(),
        ),
    ];
    for (label, right, emails) in cases {
        let (mut whole, mut alone) = (vec![], vec![]);
        let mut bytes = 0;
        for email in &emails {
            let (w, a, b) = one(h, addr, &secret, email, right).await;
            whole.push(w);
            alone.push(a);
            bytes = b;
        }
        let fulfil_ms = Stats::of(alone).median_ms;
        out.push(
            Figure::new(
                backend,
                &format!("request → answer over HTTP, {label}"),
                Stats::of(whole),
                None,
            )
            .with(json!({"fulfil_alone_ms": fulfil_ms, "answer_bytes": bytes})),
        );
    }
    server.abort();
}
