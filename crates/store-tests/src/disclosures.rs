//! Third parties: the recipients register with its agreements, disclosures refused outside a
//! recipient's allowance, and the logged ones in the person's "information" answer.

use jiff::civil::date;
use vintrova_core::disclosures::{Agreement, DisclosureRefusal, DisclosureRequest};
use vintrova_core::{Actor, CoreError};

use crate::Harness;
use crate::stories::{add, aigerim, contract};

fn dpo() -> Actor {
    Actor::new("staff", "dpo:test").for_purpose("payments")
}

fn refused(r: Result<impl std::fmt::Debug, CoreError>) -> DisclosureRefusal {
    match r {
        Err(CoreError::Disclosure(refusal)) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

pub async fn disclosures_outside_a_recipients_allowance_are_refused_and_the_rest_are_logged_for_the_person(
    h: &Harness,
) {
    let person = add(h, aigerim(), contract()).await;
    let other = add(h, aigerim_twin(), contract()).await;
    let to_payments = DisclosureRequest {
        recipient: "payment_systems".into(),
        country: "KZ".into(),
        subjects: vec![person],
        categories: vec!["contact".into(), "payment".into()],
        purpose: "payments".into(),
        legal_ground: "Offer agreement, clause 5.1".into(),
        ..Default::default()
    };
    assert_eq!(
        refused(h.app.disclose(&dpo(), to_payments.clone()).await),
        DisclosureRefusal::NoAgreement("payment_systems".into()),
        "nothing goes before the agreement is on record"
    );
    h.app
        .record_agreement(
            &dpo(),
            Agreement {
                recipient: "payment_systems".into(),
                signed_on: date(2025, 1, 15),
                reference: "NDA-PS-2025-01".into(),
            },
        )
        .await
        .unwrap();
    let outside = DisclosureRequest {
        categories: vec!["education".into()],
        ..to_payments.clone()
    };
    assert!(matches!(
        refused(h.app.disclose(&dpo(), outside).await),
        DisclosureRefusal::CategoryNotAllowed { .. }
    ));
    let named_to_analytics = DisclosureRequest {
        recipient: "analytics_services".into(),
        categories: vec!["usage".into()],
        purpose: "learning_analytics".into(),
        ..to_payments.clone()
    };
    assert_eq!(
        refused(h.app.disclose(&dpo(), named_to_analytics).await),
        DisclosureRefusal::NotAnonymized("analytics_services".into())
    );
    let demand = DisclosureRequest {
        recipient: "state_bodies".into(),
        categories: vec!["payment".into()],
        legal_ground: "Tax Code, article 26".into(),
        ..to_payments.clone()
    };
    assert_eq!(
        refused(h.app.disclose(&dpo(), demand.clone()).await),
        DisclosureRefusal::NoLegalReference
    );
    assert!(
        h.app.disclosures(None).await.unwrap().is_empty(),
        "refusals leave nothing"
    );

    let sent = h.app.disclose(&dpo(), to_payments).await.unwrap();
    assert!(!sent.cross_border);
    h.app
        .disclose(
            &dpo(),
            DisclosureRequest {
                legal_reference: Some("Demand 12-3/457 of 20.11.2026".into()),
                ..demand
            },
        )
        .await
        .unwrap();
    assert_eq!(h.app.disclosures(None).await.unwrap().len(), 2);
    let mine = h.app.disclosures(Some(person)).await.unwrap();
    assert_eq!(mine.len(), 2);
    assert!(
        h.app.disclosures(Some(other)).await.unwrap().is_empty(),
        "no one else's"
    );

    // The person's information answer names each disclosure.
    let info = h.app.information(&dpo(), person).await.unwrap();
    let recipients: Vec<&str> = info
        .disclosures
        .iter()
        .map(|d| d.recipient.as_str())
        .collect();
    assert_eq!(recipients, ["payment_systems", "state_bodies"]);
    // And their audit trail has a `disclose` entry for each, with the purpose.
    let log = h.app.store().audit_page(0, 1000).await.unwrap();
    assert_eq!(
        log.iter()
            .filter(|r| r.entry.action == "disclose" && r.entry.subject == Some(person))
            .count(),
        2
    );
    let register = h.app.recipients().await.unwrap();
    let payments = register
        .iter()
        .find(|r| r.key == "payment_systems")
        .unwrap();
    assert_eq!(
        payments.agreement.as_ref().unwrap().reference,
        "NDA-PS-2025-01"
    );
}

fn aigerim_twin() -> serde_json::Value {
    let mut doc = aigerim();
    doc["contact"]["email"] = serde_json::json!("aigerim.twin.test@mail.kz");
    doc["contact"]["phone"] = serde_json::json!("+7 701 555 44 34");
    doc
}
