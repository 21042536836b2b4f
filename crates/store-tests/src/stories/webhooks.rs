//! The platform told of every change it must act on: each event written with its change,
//! delivered signed, once, in order per person, through outages, restarts and a day of failure.

use std::sync::Mutex;

use vintrova_core::endpoints::Poster;
use vintrova_core::events::EventKind;
use vintrova_core::requests::Fulfilment;
use vintrova_core::rights::RightKind;
use vintrova_core::webhooks::{Secret, verify};

use super::*;

/// How the test's receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Up,
    /// Nobody listens: the connection is refused.
    Down,
    /// Listens, and answers 500.
    Broken,
    /// Takes longer than the sender waits.
    Slow,
}

/// What a receiver accepted: where it was sent, the message and its headers.
#[derive(Debug, Clone)]
pub struct Got {
    pub url: String,
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }

    fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap().to_string()
    }
}

/// A receiver that keeps what it accepted, checking each signature as a platform would.
pub struct Receiver {
    pub mode: Mutex<Mode>,
    pub got: Mutex<Vec<Got>>,
    pub calls: Mutex<u64>,
    secrets: Mutex<Vec<Secret>>,
    now: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl Receiver {
    pub fn new(h: &Harness, secret: Secret) -> Receiver {
        let clock = h.clock.clone();
        Receiver {
            mode: Mutex::new(Mode::Up),
            got: Mutex::new(vec![]),
            calls: Mutex::new(0),
            secrets: Mutex::new(vec![secret]),
            now: Box::new(move || vintrova_core::clock::Clock::now(clock.as_ref()).as_second()),
        }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// The kinds received for `subject`, in arrival order.
    pub fn kinds_of(&self, subject: Uuid) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.json()["data"]["subject"] == json!(subject))
            .map(Got::kind)
            .collect()
    }

    /// The kinds received at `url`, in arrival order.
    pub fn kinds_at(&self, url: &str) -> Vec<String> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.url == url)
            .map(Got::kind)
            .collect()
    }
}

#[async_trait::async_trait]
impl Poster for Receiver {
    async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Result<u16, String> {
        *self.calls.lock().unwrap() += 1;
        // Let another server's round run while this one waits for its answer.
        tokio::task::yield_now().await;
        match *self.mode.lock().unwrap() {
            Mode::Down => return Err("connection refused".into()),
            Mode::Slow => return Err("no answer within 10 s".into()),
            Mode::Broken => return Ok(500),
            Mode::Up => {}
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let (id, timestamp, signature) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        );
        let secrets = self.secrets.lock().unwrap().clone();
        if verify(&secrets, (&id, &timestamp, &signature), body, (self.now)()).is_err() {
            return Ok(401);
        }
        self.got.lock().unwrap().push(Got {
            url: url.to_string(),
            id,
            timestamp,
            signature,
            body: String::from_utf8_lossy(body).into_owned(),
        });
        Ok(204)
    }
}

fn kinds(events: &[vintrova_core::events::EventRecord]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

/// Each change the platform must act on leaves its event, written with the change: the
/// event's number is the audit entry's, so there is no change without its event. The bodies
/// carry ids and what changed, never a value of the person.
pub async fn every_change_the_platform_acts_on_leaves_its_event(h: &Harness) {
    let actor = operator();
    let (_, secret) = h
        .app
        .add_webhook(&actor, "https://platform.example/hooks/vintrova", &[])
        .await
        .unwrap();
    let id = add(h, aigerim(), vec![(BasisEventKind::ContractStarted, None)]).await;
    let consent = |action| {
        h.app
            .record_consent(&actor, id, "notifications", action, Channel::Cabinet, None)
    };
    consent(ConsentAction::Withdrawn).await.unwrap();
    consent(ConsentAction::Granted).await.unwrap();
    let basis = |kind, purpose: Option<&str>| {
        h.app
            .record_basis(&actor, id, kind, purpose.map(str::to_string), "cabinet")
    };
    basis(BasisEventKind::Objected, Some("security"))
        .await
        .unwrap();
    basis(BasisEventKind::ObjectionWithdrawn, Some("security"))
        .await
        .unwrap();
    basis(BasisEventKind::Restricted, None).await.unwrap();
    basis(BasisEventKind::RestrictionLifted, None)
        .await
        .unwrap();
    let corrected = h
        .app
        .parse_json(&json!({"professional": {"position": "Ведущий инженер"}}))
        .unwrap();
    h.app
        .update_subject(&actor, id, corrected, "cabinet")
        .await
        .unwrap();
    let request = h.verified_request(id, RightKind::Access).await.unwrap();
    h.app
        .fulfil(&actor, request, Fulfilment::Access)
        .await
        .unwrap();
    let receipt = h.app.erase(&actor, id).await.unwrap();

    let events = h.app.events_of(id).await.unwrap();
    assert_eq!(
        kinds(&events),
        [
            "consent.withdrawn",
            "consent.given",
            "objection.set",
            "objection.lifted",
            "restriction.set",
            "restriction.lifted",
            "subject.rectified",
            "request.answered",
            "subject.erased",
        ]
    );
    let audit = h.store().audit_page(0, 10_000).await.unwrap();
    for event in &events {
        let entry = audit
            .iter()
            .find(|e| e.seq == event.seq)
            .unwrap_or_else(|| panic!("{} has no audit entry {}", event.kind.as_str(), event.seq));
        assert_eq!(entry.entry.subject, Some(id), "{}", event.kind.as_str());
    }
    let body = |kind: &str| -> Value {
        let e = events.iter().find(|e| e.kind.as_str() == kind).unwrap();
        serde_json::from_str(&e.body).unwrap()
    };
    assert_eq!(
        body("consent.withdrawn")["data"]["purpose"],
        "notifications"
    );
    assert_eq!(body("objection.set")["data"]["purpose"], "security");
    assert_eq!(
        body("subject.rectified")["data"]["fields"],
        json!(["professional.position"])
    );
    assert_eq!(body("request.answered")["data"]["right"], "access");
    assert_eq!(body("request.answered")["data"]["outcome"], "completed");
    let erased = body("subject.erased");
    assert_eq!(erased["type"], "subject.erased");
    assert_eq!(erased["data"]["subject"], json!(id));
    assert_eq!(
        erased["data"]["receipt"]["sha256"],
        hex::encode(receipt.signed.digest()),
        "the receipt's hash, which the person can check their receipt against"
    );
    let all: String = events.iter().map(|e| e.body.clone()).collect();
    for needle in aigerim_needles().into_iter().chain(["Ведущий инженер"]) {
        assert!(!all.contains(needle), "an event carries `{needle}`");
    }

    // Closing an account is told too.
    let other = registered(h, "berik.test@mail.kz").await;
    h.app.close_account(&actor, other).await.unwrap();
    assert!(kinds(&h.app.events_of(other).await.unwrap()).contains(&"account.closed"));

    // A receiver gets every one, signed, once, in the order of the changes.
    let receiver = Receiver::new(h, secret);
    let round = h.app.deliver_webhooks(&receiver, 100).await.unwrap();
    assert_eq!(round.failed, 0, "each signature verified");
    assert_eq!(receiver.kinds_of(id), kinds(&events));
    assert!(
        receiver
            .kinds_of(other)
            .contains(&"account.closed".to_string())
    );
}

/// A person with an account, registered as on the site.
async fn registered(h: &Harness, email: &str) -> Uuid {
    let values = h
        .app
        .parse_json(&json!({"contact": {"first_name": "Берік", "email": email}}))
        .unwrap();
    let ticked = crate::ticked(h.app.policy(), &values, vec![]);
    h.app
        .register(&operator(), values, "a-long-enough-password-1", ticked)
        .await
        .unwrap()
        .opened()
        .expect("the account opens")
}

/// A policy version published is told to an endpoint that wants it, with the day it comes
/// into force — an event about no one, delivered like the rest.
pub async fn a_published_policy_is_told_with_the_day_it_comes_into_force(h: &Harness) {
    let actor = Actor::new("staff", "dpo:test");
    let url = "https://platform.example/hooks/policy";
    let (_, secret) = h
        .app
        .add_webhook(&actor, url, &["policy.published".into()])
        .await
        .unwrap();
    let next = crate::disclosures::next_policy(
        "next",
        "[[retention]]",
        "term = \"P5Y\"",
        "term = \"P6Y\"",
    );
    let (effective, published) = crate::disclosures::publish_in_thirty_days(h, &actor, &next).await;
    // A change of a person's is not for this endpoint.
    let who = add(h, json!({"contact": {"first_name": "Дана"}}), vec![]).await;
    h.app
        .record_consent(
            &actor,
            who,
            "notifications",
            ConsentAction::Withdrawn,
            Channel::Cabinet,
            None,
        )
        .await
        .unwrap();
    let receiver = Receiver::new(h, secret);
    assert_eq!(
        h.app
            .deliver_webhooks(&receiver, 10)
            .await
            .unwrap()
            .delivered,
        1
    );
    let got = receiver.got.lock().unwrap()[0].json();
    assert_eq!(got["type"], "policy.published");
    assert_eq!(got["data"]["version"], published.version);
    assert_eq!(got["data"]["in_force_from"], effective.to_string());
    assert_eq!(receiver.kinds_at(url), ["policy.published"]);
}

/// A receiver down, then answering 500, then slow, then back after the server restarted:
/// it gets every event once, with a valid signature, each person's in the order of their
/// changes, and the attempts that failed are kept for inspection.
pub async fn a_receiver_gets_every_event_once_in_order_through_an_outage_and_a_restart(
    h: &Harness,
) {
    let actor = operator();
    let (endpoint, secret) = h
        .app
        .add_webhook(&actor, "https://platform.example/hooks/vintrova", &[])
        .await
        .unwrap();
    let receiver = Receiver::new(h, secret);
    let people = [
        add(h, json!({"contact": {"first_name": "Дана"}}), vec![]).await,
        add(h, json!({"contact": {"first_name": "Ерлан"}}), vec![]).await,
    ];
    let toggle = |who, action| {
        h.app
            .record_consent(&actor, who, "notifications", action, Channel::Cabinet, None)
    };
    for round in 0..3 {
        for who in people {
            let action = if round % 2 == 0 {
                ConsentAction::Withdrawn
            } else {
                ConsentAction::Granted
            };
            toggle(who, action).await.unwrap();
        }
    }
    let expected = ["consent.withdrawn", "consent.given", "consent.withdrawn"];

    for mode in [Mode::Down, Mode::Broken, Mode::Slow] {
        receiver.set(mode);
        let round = h.app.deliver_webhooks(&receiver, 100).await.unwrap();
        assert_eq!(round.delivered, 0, "{mode:?}");
        assert_eq!(
            round.failed, 2,
            "{mode:?}: only each person's first event is tried; the rest wait behind it"
        );
        // Not due again until the backoff has passed.
        let again = h.app.deliver_webhooks(&receiver, 100).await.unwrap();
        assert_eq!(again.failed + again.delivered, 0, "{mode:?}: backing off");
        h.clock.advance(SignedDuration::from_mins(11));
    }
    let failed = h.app.webhook_deliveries(endpoint.id, 10).await.unwrap();
    let tried: Vec<&DeliveryRowView> = failed.iter().filter(|d| d.attempts > 0).collect();
    assert_eq!(tried.len(), 2);
    assert!(
        tried
            .iter()
            .all(|d| d.attempts == 3 && d.state == "pending")
    );
    assert!(
        tried
            .iter()
            .all(|d| d.last_error.as_deref() == Some("no answer within 10 s"))
    );

    // Restarted, with the receiver back: everything arrives, in order, once.
    let restarted = h.reopen(h.master.clone()).await.unwrap();
    receiver.set(Mode::Up);
    let round = restarted.deliver_webhooks(&receiver, 100).await.unwrap();
    assert_eq!(round.delivered, 6);
    for who in people {
        assert_eq!(
            receiver.kinds_of(who),
            expected,
            "in the order of the changes"
        );
    }
    let ids: Vec<String> = receiver
        .got
        .lock()
        .unwrap()
        .iter()
        .map(|g| g.id.clone())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "each event once");
    h.clock.advance(SignedDuration::from_hours(9));
    let round = restarted.deliver_webhooks(&receiver, 100).await.unwrap();
    assert_eq!(round, Default::default(), "nothing is sent twice");
    let listed = restarted.webhooks().await.unwrap();
    assert_eq!((listed[0].waiting, listed[0].delivered), (0, 6));
    assert_eq!(listed[0].failing_since, None, "a success ends the failing");

    // Delivered events are kept thirty days for inspection, then go; one still waiting stays.
    toggle(people[0], ConsentAction::Granted).await.unwrap();
    h.clock.advance(SignedDuration::from_hours(29 * 24));
    assert_eq!(restarted.prune_webhook_events().await.unwrap(), 0);
    h.clock.advance(SignedDuration::from_hours(2 * 24));
    assert_eq!(restarted.prune_webhook_events().await.unwrap(), 6);
    let left = restarted.events_of(people[0]).await.unwrap();
    assert_eq!(kinds(&left), ["consent.given"], "the undelivered one stays");
}

type DeliveryRowView = vintrova_core::store::DeliveryRow;

/// An endpoint that fails every attempt for a day is disabled and the data protection service
/// told; what it missed is kept, and delivered in order once it is enabled again. An endpoint
/// subscribed to some kinds gets only those.
pub async fn an_endpoint_failing_a_day_is_disabled_and_its_events_wait_for_it(h: &Harness) {
    let actor = operator();
    let (all, secret) = h
        .app
        .add_webhook(&actor, "http://127.0.0.1:9/hooks", &[])
        .await
        .unwrap();
    let (only, other_secret) = h
        .app
        .add_webhook(
            &actor,
            "http://127.0.0.1:9/withdrawals",
            &["consent.withdrawn".into()],
        )
        .await
        .unwrap();
    let receiver = Receiver::new(h, secret);
    receiver.secrets.lock().unwrap().push(other_secret);
    receiver.set(Mode::Broken);
    let who = add(h, json!({"contact": {"first_name": "Жанар"}}), vec![]).await;
    let toggle = |action| {
        h.app
            .record_consent(&actor, who, "notifications", action, Channel::Cabinet, None)
    };
    toggle(ConsentAction::Withdrawn).await.unwrap();
    toggle(ConsentAction::Granted).await.unwrap();

    let mut disabled = 0;
    for _ in 0..30 {
        disabled += h
            .app
            .deliver_webhooks(&receiver, 100)
            .await
            .unwrap()
            .disabled;
        h.clock.advance(SignedDuration::from_hours(1));
    }
    assert_eq!(disabled, 2, "both endpoints, once each");
    let listed = h.app.webhooks().await.unwrap();
    assert!(listed.iter().all(|e| e.disabled_at.is_some()));
    let calls = *receiver.calls.lock().unwrap();
    h.clock.advance(SignedDuration::from_hours(24));
    h.app.deliver_webhooks(&receiver, 100).await.unwrap();
    assert_eq!(
        *receiver.calls.lock().unwrap(),
        calls,
        "a disabled endpoint is not called"
    );
    let alerts = h.app.claim_outbox(10).await.unwrap();
    let alerts: Vec<_> = alerts
        .iter()
        .filter(|m| m.kind == "webhook:disabled")
        .map(|m| h.app.open_message(m).unwrap())
        .collect();
    assert_eq!(alerts.len(), 2, "the service is told of each, once");
    assert_eq!(alerts[0].to, h.app.policy().contact.email);
    assert!(alerts.iter().any(|m| {
        m.body
            .contains(&format!("vintrova webhook enable {}", all.id))
    }));

    // Something more happens while it is off: it waits too.
    toggle(ConsentAction::Withdrawn).await.unwrap();
    receiver.set(Mode::Up);
    for endpoint in [all.id, only.id] {
        h.app.enable_webhook(&actor, endpoint).await.unwrap();
    }
    let round = h.app.deliver_webhooks(&receiver, 100).await.unwrap();
    assert_eq!(
        round.delivered, 5,
        "three to one, two withdrawals to the other"
    );
    assert_eq!(
        receiver.kinds_at(&all.url),
        ["consent.withdrawn", "consent.given", "consent.withdrawn"]
    );
    assert_eq!(
        receiver.kinds_at(&only.url),
        ["consent.withdrawn", "consent.withdrawn"],
        "only the kind it subscribed to"
    );
    let deliveries = h.app.webhook_deliveries(only.id, 10).await.unwrap();
    assert!(
        deliveries
            .iter()
            .all(|d| d.kind == EventKind::ConsentWithdrawn && d.state == "delivered")
    );
}

/// A new secret: for a day both the old and the new sign each message, so a receiver on
/// either accepts; then only the new one does.
pub async fn a_rotated_secret_signs_beside_the_old_one_for_a_day(h: &Harness) {
    let actor = operator();
    let (endpoint, old) = h
        .app
        .add_webhook(
            &actor,
            "https://platform.example/hooks",
            &["account.closed".into()],
        )
        .await
        .unwrap();
    let new = h
        .app
        .rotate_webhook_secret(&actor, endpoint.id)
        .await
        .unwrap();
    let on_old = Receiver::new(h, old.clone());
    let on_new = Receiver::new(h, new.clone());
    let close = async |email: &str| {
        let who = registered(h, email).await;
        h.app.close_account(&actor, who).await.unwrap();
    };
    close("asel.test@mail.kz").await;
    assert_eq!(
        h.app.deliver_webhooks(&on_old, 10).await.unwrap().delivered,
        1
    );
    let got = on_old.got.lock().unwrap()[0].clone();
    assert_eq!(
        got.signature.split(' ').count(),
        2,
        "two signatures during the rotation"
    );
    assert!(
        verify(
            std::slice::from_ref(&new),
            (&got.id, &got.timestamp, &got.signature),
            got.body.as_bytes(),
            h.app.now().as_second()
        )
        .is_ok(),
        "a receiver on the new secret accepts the same message"
    );
    h.clock.advance(SignedDuration::from_hours(25));
    close("nurlan.test@mail.kz").await;
    let refused = h.app.deliver_webhooks(&on_old, 10).await.unwrap();
    assert_eq!(
        (refused.delivered, refused.failed),
        (0, 1),
        "a receiver still on the old secret refuses"
    );
    h.clock.advance(SignedDuration::from_secs(10));
    assert_eq!(
        h.app.deliver_webhooks(&on_new, 10).await.unwrap().delivered,
        1
    );
    let got = on_new.got.lock().unwrap()[0].clone();
    assert_eq!(
        got.signature.split(' ').count(),
        1,
        "the old secret has retired"
    );
}

/// Two servers delivering at the same moment: each event reaches the receiver once, and each
/// person's in order — the claim that takes an event holds the person's later ones back.
pub async fn two_servers_delivering_at_once_send_each_event_once_and_in_order(h: &Harness) {
    let actor = operator();
    let (_, secret) = h
        .app
        .add_webhook(&actor, "https://platform.example/hooks", &[])
        .await
        .unwrap();
    let mut people = vec![];
    for name in ["Айдана", "Бауыржан", "Гүлнар", "Дәурен"] {
        people.push(add(h, json!({"contact": {"first_name": name}}), vec![]).await);
    }
    for round in 0..4 {
        for who in &people {
            let action = if round % 2 == 0 {
                ConsentAction::Withdrawn
            } else {
                ConsentAction::Granted
            };
            h.app
                .record_consent(
                    &actor,
                    *who,
                    "notifications",
                    action,
                    Channel::Cabinet,
                    None,
                )
                .await
                .unwrap();
        }
    }
    let other = h.reopen(h.master.clone()).await.unwrap();
    let receiver = Receiver::new(h, secret);
    let (one, two) = tokio::join!(
        h.app.deliver_webhooks(&receiver, 100),
        other.deliver_webhooks(&receiver, 100)
    );
    assert_eq!(one.unwrap().delivered + two.unwrap().delivered, 16);
    let got = receiver.got.lock().unwrap().clone();
    let mut ids: Vec<&str> = got.iter().map(|g| g.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16, "each event once");
    for who in &people {
        assert_eq!(
            receiver.kinds_of(*who),
            [
                "consent.withdrawn",
                "consent.given",
                "consent.withdrawn",
                "consent.given"
            ]
        );
    }
}
