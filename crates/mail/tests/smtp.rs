//! Delivery over real SMTP to a server the test runs, through a worker that dies between
//! claiming and acknowledging.

use std::sync::{Arc, Mutex};

use jiff::SignedDuration;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use vintrova_core::consent::Channel;
use vintrova_core::gate::BasisEventKind;
use vintrova_core::notifications::NoticeKind;
use vintrova_core::outbox::{LEASE, Transport};
use vintrova_core::{Actor, Collection};
use vintrova_mail::SmtpTransport;
use vintrova_store_tests::Harness;

/// A minimal SMTP server that accepts everything and keeps each message's raw text.
async fn smtp_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let mut in_data = false;
                let mut message = String::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store.lock().unwrap().push(std::mem::take(&mut message));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            message.push_str(&line);
                            message.push('\n');
                        }
                        continue;
                    }
                    let verb = line
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "DATA" => {
                            in_data = true;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            write.write_all(b"221 bye\r\n").await.unwrap();
                            break;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (url, received)
}

fn message_id(raw: &str) -> String {
    raw.lines()
        .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
        .map(|l| l["message-id:".len()..].trim().to_string())
        .expect("every message carries a Message-ID")
}

#[tokio::test]
async fn a_worker_killed_between_claiming_and_acknowledging_loses_no_message_on_sqlite() {
    killed_worker_loses_nothing(Harness::sqlite().await).await;
}

#[tokio::test]
async fn a_worker_killed_between_claiming_and_acknowledging_loses_no_message_on_postgres() {
    killed_worker_loses_nothing(Harness::postgres().await).await;
}

async fn killed_worker_loses_nothing(h: Harness) {
    let (url, received) = smtp_sink().await;
    let smtp = SmtpTransport::new(&url, "info@vintrova.com").unwrap();
    let actor = Actor::new("test", "operator");
    for i in 0..5 {
        let values = h
            .app
            .parse_json(&json!({"contact": {"email": format!("smtp.student{i}@mail.kz")}}))
            .unwrap();
        let collection = Collection {
            bases: vec![(BasisEventKind::ContractStarted, None)],
            consents: vec!["contact_data".into(), "notifications".into()],
            channel: Channel::Form,
            ..Collection::from("registration_form")
        };
        h.app.add_subject(&actor, values, collection).await.unwrap();
    }
    assert_eq!(
        h.app
            .notify_all(&actor, NoticeKind::NewFeature)
            .await
            .unwrap()
            .queued,
        5
    );

    // The worker claims three, sends two of them, and dies before acknowledging anything.
    let claimed = h.app.claim_outbox(3).await.unwrap();
    for entry in &claimed[..2] {
        smtp.send(&h.app.open_message(entry).unwrap())
            .await
            .unwrap();
    }
    assert_eq!(received.lock().unwrap().len(), 2);

    // After restart, once its lease ran out, a new worker delivers everything.
    h.clock.advance(LEASE + SignedDuration::from_secs(1));
    let report = h.app.deliver(&smtp, 100).await.unwrap();
    assert_eq!(report.sent, 5);
    assert_eq!(h.app.deliver(&smtp, 100).await.unwrap().sent, 0);

    let messages = received.lock().unwrap().clone();
    assert_eq!(messages.len(), 7, "five messages, two of them twice");
    let mut ids: Vec<String> = messages.iter().map(|m| message_id(m)).collect();
    let repeats: Vec<String> = ids[..2].to_vec();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "none is missing");
    for repeat in repeats {
        assert_eq!(
            messages.iter().filter(|m| message_id(m) == repeat).count(),
            2,
            "a repeat carries the same Message-ID"
        );
    }
    for i in 0..5 {
        assert!(
            messages
                .iter()
                .any(|m| m.contains(&format!("smtp.student{i}@mail.kz"))),
            "every address got its message"
        );
    }
    h.finish().await;
}
