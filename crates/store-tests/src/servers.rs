//! Two servers on one database (issue 10): every background job — outbox delivery, the
//! retention sweep, the monthly digests, staff reminders — run by both at once, and nothing is
//! done twice. Delivery is claimed under per-message leases, the sweep and the digests under
//! named leases, reminders by a fixed Message-ID the outbox keeps once.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::{SignedDuration, ToSpan};
use serde_json::json;
use vintrova_core::notifications::NoticeKind;
use vintrova_core::outbox::LEASE;
use vintrova_core::sweep::SweepOptions;
use vintrova_core::{Actor, Vintrova};

use crate::Harness;
use crate::stories::Recorder;

const PEOPLE: usize = 12;

fn system() -> Actor {
    Actor::new("system", "jobs")
}

/// Both servers deliver at once; each message must reach its address exactly once.
async fn deliver_on_both(a: &Vintrova, b: &Vintrova) -> BTreeMap<String, usize> {
    let recorder = Recorder::default();
    let (x, y) = tokio::join!(a.deliver(&recorder, 1000), b.deliver(&recorder, 1000));
    x.unwrap();
    y.unwrap();
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    for email in recorder.sent.lock().unwrap().iter() {
        *by_id.entry(email.message_id.clone()).or_default() += 1;
    }
    by_id
}

pub async fn two_servers_run_every_job_side_by_side_and_nothing_is_done_twice(h: &Harness) {
    let a = h.app.clone();
    let b = Arc::new(
        h.reopen(h.master.clone())
            .await
            .expect("a second server opens"),
    );
    let mut people = vec![];
    for i in 0..PEOPLE {
        let values = h
            .app
            .parse_json(&json!({"contact": {
                "first_name": format!("Студент{i}"),
                "email": format!("student{i}.servers@mail.kz"),
            }}))
            .unwrap();
        let id = a
            .register(
                &system(),
                values.clone(),
                "пароль-двух-серверов",
                crate::ticked(
                    &crate::shipped_policy(),
                    &values,
                    vec!["notifications".into()],
                ),
            )
            .await
            .unwrap()
            .opened()
            .expect("the account opens");
        a.set_access_digest(id, true).await.unwrap();
        people.push(id);
    }
    // The first two leave: their accounts close, and a year later the sweep removes them.
    for id in &people[..2] {
        a.close_account(&system(), *id).await.unwrap();
    }
    let before = deliver_on_both(&a, &b).await;
    assert!(before.values().all(|n| *n == 1), "{before:?}");

    // Notices for everyone, queued by one server, delivered by both at once.
    let queued = a
        .notify_all(&system(), NoticeKind::CourseUpdate)
        .await
        .unwrap()
        .queued;
    assert_eq!(queued as usize, PEOPLE);
    h.clock.advance(LEASE + SignedDuration::from_secs(1));
    let sent = deliver_on_both(&a, &b).await;
    assert_eq!(sent.len(), PEOPLE);
    assert!(sent.values().all(|n| *n == 1), "delivered twice: {sent:?}");

    // The sweep on both servers at once: the two people are removed once, one receipt each.
    let almaty = jiff::tz::TimeZone::get("Asia/Almaty").unwrap();
    let later = h
        .app
        .now()
        .to_zoned_datetime(almaty)
        .checked_add(13.months())
        .unwrap()
        .timestamp();
    h.clock.set(later);
    let actor = system();
    let (x, y) = tokio::join!(
        a.sweep_exclusively(&actor, "server-a", SweepOptions::default()),
        b.sweep_exclusively(&actor, "server-b", SweepOptions::default()),
    );
    let removed: u64 = [x.unwrap(), y.unwrap()]
        .into_iter()
        .flatten()
        .map(|r| r.subjects_removed)
        .sum();
    assert_eq!(removed, 2, "each person removed once");

    // The month's digests from both servers at once: one per subscriber still here.
    let (x, y) = tokio::join!(
        a.exclusively(
            Vintrova::DIGEST_LEASE,
            "server-a",
            60,
            a.send_access_digests(&actor)
        ),
        b.exclusively(
            Vintrova::DIGEST_LEASE,
            "server-b",
            60,
            b.send_access_digests(&actor)
        ),
    );
    let digests: u64 = [x.unwrap(), y.unwrap()].into_iter().flatten().sum();
    assert_eq!(digests as usize, PEOPLE - 2, "one digest per subscriber");
    h.clock.advance(LEASE + SignedDuration::from_secs(1));
    let sent = deliver_on_both(&a, &b).await;
    assert!(sent.values().all(|n| *n == 1), "delivered twice: {sent:?}");
    assert_eq!(
        sent.len(),
        PEOPLE - 2 + 2,
        "the digests and the two erasure receipts, each once"
    );
}

/// Issue 23: the secrets every server shares live in the key store under the master key. The
/// first server's file (an earlier version's) is taken in as it is, so the platform's token
/// does not change; another server — with a file of its own, or none — gets that same secret;
/// a second name is a secret of its own.
pub async fn every_server_gets_the_one_shared_secret_from_the_key_store(h: &Harness) {
    let first = h
        .vault()
        .shared_secret("api-token", Some([7; 32]))
        .await
        .unwrap();
    assert_eq!(first, [7; 32], "the existing token is kept");
    let other = h.vault_of_another_server(h.master.clone()).await.unwrap();
    for existing in [Some([9; 32]), None] {
        assert_eq!(
            other.shared_secret("api-token", existing).await.unwrap(),
            first,
            "one token for the installation"
        );
    }
    let provider = other
        .shared_secret("payment-provider.secret", None)
        .await
        .unwrap();
    assert_ne!(provider, first);
    assert_eq!(
        h.vault()
            .shared_secret("payment-provider.secret", None)
            .await
            .unwrap(),
        provider
    );
}
