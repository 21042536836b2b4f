//! The stories. Each takes a fresh [`Harness`] and must hold on every backend.

use jiff::SignedDuration;
use serde_json::{Value, json};
use uuid::Uuid;
use vintrova_core::consent::{Channel, ConsentAction};
use vintrova_core::datamap::{ColumnRole, STORAGE_SCHEMA};
use vintrova_core::gate::{BasisEventKind, Refusal};
use vintrova_core::{Actor, Collection, CoreError};
use vintrova_vault::VaultError;

use crate::{Harness, contains};

mod accounts;
mod audit;
mod consents;
mod letters;
mod placement;
mod platform;
mod rights;
mod subjects;
mod webhooks;
pub use accounts::*;
pub use audit::*;
pub use consents::*;
pub use letters::*;
pub use placement::*;
pub use platform::*;
pub use rights::*;
pub use subjects::*;
pub use webhooks::*;

fn operator() -> Actor {
    Actor::new("test", "operator")
}

/// A person with distinctive Cyrillic and Kazakh values, so any plaintext leak is findable.
pub fn aigerim() -> Value {
    json!({
        "contact": {
            "first_name": "Айгерімжан",
            "last_name": "Нұрланова-Сейтқали",
            "email": "aigerim.nurlanova.test@почта.kz",
            "phone": "+7 701 555 44 33"
        },
        "professional": {
            "employer": "ТОО «Нейросети Шымкента»",
            "position": "Инженер машинного обучения",
            "it_experience_years": 4
        },
        "education": {
            "level": "Высшее техническое",
            "completed_courses": ["Нейронные сети: основы", "Трансформеры на практике"]
        }
    })
}

/// The plaintext forms of her values a leak would show.
pub fn aigerim_needles() -> Vec<&'static str> {
    vec![
        "Айгерімжан",
        "Нұрланова-Сейтқали",
        "aigerim.nurlanova.test@почта.kz",
        "+77015554433",
        "7015554433",
        "Нейросети Шымкента",
        "Инженер машинного обучения",
        "Высшее техническое",
        "Трансформеры на практике",
    ]
}

/// A student who registered with `address`, signed in, asked in her cabinet for a copy of her
/// data by e-mail and was answered: her account, session, request, download and mail are all
/// there. Her id.
pub async fn a_student_answered_with_her_copy(h: &Harness, name: &str, address: &str) -> Uuid {
    use vintrova_core::requests::{AnswerChannel, Fulfilment};
    use vintrova_core::rights::RightKind;
    const PASSWORD: &str = "Шымкент-2025-пароль";
    let actor = operator();
    let values = h
        .app
        .parse_json(&json!({"contact": {"first_name": name, "email": address}}))
        .unwrap();
    let ticked = crate::ticked(h.app.policy(), &values, vec![]);
    let id = h
        .app
        .register(&actor, values, PASSWORD, ticked)
        .await
        .unwrap()
        .opened()
        .expect("the account opens");
    let session = h.app.sign_in(address, PASSWORD).await.unwrap();
    let request = h
        .app
        .request_in_cabinet(
            &actor,
            &session.token,
            RightKind::Access,
            "Пришлите копию",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    h.app
        .fulfil(&actor, request.id, Fulfilment::Access)
        .await
        .unwrap();
    id
}

pub async fn add(h: &Harness, doc: Value, bases: Vec<(BasisEventKind, Option<String>)>) -> Uuid {
    let values = h.app.parse_json(&doc).expect("valid input");
    h.app
        .add_subject(
            &operator(),
            values.clone(),
            Collection {
                bases,
                consents: crate::ticked(h.app.policy(), &values, vec![]),
                ..Collection::from("registration_form")
            },
        )
        .await
        .expect("subject stored")
}

pub fn contract() -> Vec<(BasisEventKind, Option<String>)> {
    vec![(BasisEventKind::ContractStarted, None)]
}

async fn audit_len(h: &Harness) -> i64 {
    h.app.verify_audit().await.expect("chain verifies").entries
}

/// A registration with a contract and the consents ticked: the required consent to contact
/// data, and `purposes`.
fn consenting(purposes: &[&str]) -> Collection {
    Collection {
        bases: contract(),
        consents: std::iter::once("contact_data")
            .chain(purposes.iter().copied())
            .map(str::to_string)
            .collect(),
        channel: Channel::Form,
        ..Collection::from("registration_form")
    }
}

/// A transport that records what it sends, and can be told to fail.
#[derive(Default)]
pub struct Recorder {
    pub sent: std::sync::Mutex<Vec<vintrova_core::outbox::Email>>,
    pub failing: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl vintrova_core::outbox::Transport for Recorder {
    async fn send(&self, email: &vintrova_core::outbox::Email) -> Result<(), String> {
        if self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("mail server unavailable".into());
        }
        self.sent.lock().unwrap().push(email.clone());
        Ok(())
    }
}

/// Read the one-time code out of the message the outbox holds for the next delivery, then let
/// the lease on what was claimed run out.
pub(crate) async fn code_from_outbox(h: &Harness) -> String {
    let (_, code) = mailed_code(h).await;
    h.clock
        .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
    code
}

/// The newest message the outbox holds for delivery (earlier ones stay leased): to whom, and
/// the one-time code in it.
pub(crate) async fn mailed_code(h: &Harness) -> (String, String) {
    let claimed = h.app.claim_outbox(10).await.unwrap();
    let mail = h.app.open_message(claimed.last().unwrap()).unwrap();
    let code = mail
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    (mail.to, code)
}

/// Remind the data protection service at 7, 3 and 1 days before each deadline: how many
/// reminders went out now.
pub(crate) async fn remind(h: &Harness) -> u64 {
    h.app.remind_staff(&[7, 3, 1]).await.unwrap()
}
