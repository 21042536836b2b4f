//! Signed erasure receipts (issue 9): every erasure, asked for or by retention, leaves the person
//! a receipt that verifies with the published key, names categories and rules and nothing of
//! them, travels by email exactly as signed, and of which the server keeps only the hash.

use jiff::{SignedDuration, ToSpan};
use vintrova_core::receipts::{self, ErasureCause, ReceiptError};
use vintrova_core::requests::{Answer, AnswerChannel, Fulfilment};
use vintrova_core::rights::RightKind;
use vintrova_core::sweep::SweepOptions;
use vintrova_core::{Actor, CoreError};

use crate::stories::{Recorder, aigerim, aigerim_needles};
use crate::{Harness, contains};

const EMAIL: &str = "aigerim.nurlanova.test@почта.kz";
const PASSWORD: &str = "пароль-для-квитанции";

fn staff() -> Actor {
    Actor::new("test", "dpo")
}

async fn deliver(h: &Harness) -> Vec<vintrova_core::outbox::Email> {
    let recorder = Recorder::default();
    h.app.deliver(&recorder, 100).await.unwrap();
    recorder.sent.lock().unwrap().clone()
}

/// Check a receipt as a person would: its text, the published key, nothing else.
fn check(h: &Harness, text: &str) -> Result<receipts::ReceiptBody, ReceiptError> {
    let published = h.vault().signing().public().to_pem();
    let key = vintrova_vault::PublicKey::from_pem(&published).expect("the published key reads");
    receipts::verify(text, &key)
}

/// Aigerim, registered with an account and no consents.
async fn registered(h: &Harness) -> uuid::Uuid {
    let values = h.app.parse_json(&aigerim()).unwrap();
    h.app
        .register(
            &staff(),
            values.clone(),
            PASSWORD,
            crate::ticked(&crate::shipped_policy(), &values, vec![]),
        )
        .await
        .unwrap()
        .opened()
        .expect("the account opens")
}

/// Run the sweep, deliver what it queued, and return its receipt and the erasure receipt that
/// reached Aigerim's address, checked with the published key.
async fn sweep_to_receipt(h: &Harness) -> (vintrova_core::sweep::SweepReceipt, String) {
    let swept = h
        .app
        .sweep(&Actor::new("system", "retention"), SweepOptions::default())
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_secs(1));
    let sent = deliver(h).await;
    let letter = sent
        .iter()
        .find(|e| e.attachment.is_some())
        .expect("the receipt is sent before the address goes");
    assert_eq!(letter.to, EMAIL);
    (swept, letter.attachment.as_ref().unwrap().text.clone())
}

pub async fn an_erasure_request_is_answered_with_a_signed_receipt_and_the_server_keeps_only_its_hash(
    h: &Harness,
) {
    let values = h.app.parse_json(&aigerim()).unwrap();
    let id = h
        .app
        .register(
            &staff(),
            values.clone(),
            PASSWORD,
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
    let session = h.app.sign_in(EMAIL, PASSWORD).await.unwrap().token;
    let request = h
        .app
        .request_in_cabinet(
            &staff(),
            &session,
            RightKind::Erasure,
            "Удалите мои данные",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    deliver(h).await;
    let Answer::Erasure(erased) = h
        .app
        .fulfil(&staff(), request.id, Fulfilment::Erasure)
        .await
        .unwrap()
    else {
        panic!("an erasure answers with its receipt")
    };
    let text = erased.signed.text.clone();

    let body = check(h, &text).expect("the receipt verifies with the published key");
    assert_eq!(body.cause, ErasureCause::Request);
    assert_eq!(body.erased_at, h.app.now());
    assert!(body.destroyed.contains(&"contact".to_string()), "{body:?}");
    assert!(body.kept.is_empty(), "nothing was held by law");
    assert_eq!(body.signing_key, h.vault().signing().public().fingerprint());
    // Nothing of the person: no value, no id, no address.
    for needle in aigerim_needles()
        .into_iter()
        .chain([EMAIL])
        .map(str::to_string)
        .chain([id.to_string(), request.id.to_string()])
    {
        assert!(!text.contains(&needle), "the receipt names `{needle}`");
    }
    // Changing any one byte breaks it.
    let tampered = text.replacen("contact", "cantact", 1);
    assert!(matches!(
        check(h, &tampered),
        Err(ReceiptError::BadSignature { .. })
    ));

    // It reaches the person's address as an attachment, byte for byte, after their data went.
    let sent = deliver(h).await;
    let letter = sent
        .iter()
        .find(|e| e.attachment.is_some())
        .expect("the receipt is sent");
    assert_eq!(letter.to, EMAIL);
    assert_eq!(letter.attachment.as_ref().unwrap().text, text);
    assert!(matches!(
        h.copy(id).await,
        Err(CoreError::UnknownSubject(_))
    ));

    // The server recognises it by its hash and holds nothing more of it.
    let issued = h.app.issued_receipt(&text).await.unwrap().expect("issued");
    assert_eq!(
        (issued.id, issued.cause.as_str()),
        (body.receipt, "request")
    );
    assert!(h.app.issued_receipt(&tampered).await.unwrap().is_none());
    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, text.as_bytes()) && !contains(&stored, b"\"destroyed\""),
        "the receipt's text is not kept"
    );
}

pub async fn a_person_the_sweep_removes_gets_a_signed_receipt_by_email(h: &Harness) {
    let id = registered(h).await;
    h.app.close_account(&staff(), id).await.unwrap();
    deliver(h).await;
    let ended = h.app.now();
    let almaty = jiff::tz::TimeZone::get("Asia/Almaty").unwrap();
    let later = ended
        .to_zoned_datetime(almaty)
        .checked_add(13.months())
        .unwrap()
        .timestamp();
    h.clock.set(later);
    let (swept, text) = sweep_to_receipt(h).await;
    assert_eq!(swept.subjects_removed, 1);
    let body = check(h, &text).expect("the receipt verifies");
    assert_eq!(body.cause, ErasureCause::Retention);
    assert!(body.destroyed.contains(&"contact".to_string()), "{body:?}");
    assert!(body.kept.is_empty());
    assert!(!text.contains(&id.to_string()));
    let issued = h.app.issued_receipt(&text).await.unwrap().expect("issued");
    assert_eq!(issued.cause, "retention");
}

/// A class whose last row falls due while the person stays (their visit logs, a year on) is
/// erased by key too, and the person gets a receipt of it: what went, and what is kept under
/// which rule — their profile, for as long as they use the services.
pub async fn a_class_the_sweep_empties_brings_a_receipt_of_what_went_and_what_stays(h: &Harness) {
    let id = registered(h).await;
    let visit = h
        .app
        .parse_json(&serde_json::json!({"technical": {"ip": "10.0.0.7", "browser": "Firefox"}}))
        .unwrap();
    h.app
        .record_events(&staff(), id, "security", visit, "visit_technical")
        .await
        .unwrap();
    deliver(h).await;
    // Thirteen months on, still a user (signed in), but the logs' year is over.
    h.clock.advance(SignedDuration::from_hours(24 * 395));
    h.app.sign_in(EMAIL, PASSWORD).await.unwrap();
    let (swept, text) = sweep_to_receipt(h).await;
    assert_eq!(swept.subjects_removed, 0);
    assert!(swept.key_classes_emptied >= 1, "{swept:?}");
    let body = check(h, &text).expect("it verifies");
    assert_eq!(body.cause, ErasureCause::Retention);
    assert_eq!(body.destroyed, ["technical"]);
    let profile = body
        .kept
        .iter()
        .find(|k| k.categories.contains(&"contact".to_string()))
        .expect("the profile stays");
    assert_eq!(profile.until, None, "kept while the services are used");
    assert!(h.copy(id).await.is_ok(), "the person stays");
}
