//! One door (issue 17): a full copy only answers the person's own verified request, staff
//! duties open only what the record they name needs, and every audit entry keeps the use the
//! gate granted apart from the purpose the caller stated.

use serde_json::Value;
use uuid::Uuid;
use vintrova_core::duties::{DutyView, StaffDuty};
use vintrova_core::gate::Refusal;
use vintrova_core::holds::HoldScope;
use vintrova_core::incidents::IncidentReport;
use vintrova_core::requests::AnswerChannel;
use vintrova_core::rights::RightKind;
use vintrova_core::{Actor, CoreError, PurposeView};

use crate::Harness;
use crate::stories::{add, aigerim, contract};

fn dpo() -> Actor {
    Actor::new("staff:dpo", "7")
}

fn refusal<T: std::fmt::Debug>(result: Result<T, CoreError>) -> Refusal {
    match result {
        Err(CoreError::Refused(r)) => r,
        other => panic!("expected a refusal by the gate, got {other:?}"),
    }
}

/// The newest audit entry: (purpose granted, purpose stated).
async fn last_entry(h: &Harness) -> (Option<String>, Option<String>) {
    let page = h.app.store().audit_page(0, 10_000).await.unwrap();
    let last = page.last().expect("an entry").entry.clone();
    (last.purpose, last.stated_purpose)
}

/// Anyone but the person gets a full copy only as the answer to the person's verified access
/// request: not with none, not with one still awaiting its code, not with another person's,
/// not with a request for a right whose answer is not their data.
pub async fn a_full_copy_answers_only_the_persons_verified_request(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;
    let other = add(h, aigerim_twin(), contract()).await;
    let support = dpo().for_purpose("support");
    let entries = h.app.verify_audit().await.unwrap().entries;

    assert_eq!(
        refusal(h.app.copy_for_request(&support, id, None).await),
        Refusal::NoAccessRequest
    );
    let letter = h
        .app
        .request_by_email(
            &dpo(),
            "aigerim.nurlanova.test@почта.kz",
            RightKind::Access,
            "Пришлите копию",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    assert_eq!(letter.subject, id, "the letter's address is hers");
    assert!(matches!(
        refusal(h.app.copy_for_request(&support, id, Some(letter.id)).await),
        Refusal::RequestNotVerified { .. }
    ));
    let theirs = h.verified_request(other, RightKind::Access).await.unwrap();
    assert_eq!(
        refusal(h.app.copy_for_request(&support, id, Some(theirs)).await),
        Refusal::NotTheirClaim
    );
    let erasure = h.verified_request(id, RightKind::Erasure).await.unwrap();
    assert!(matches!(
        refusal(h.app.copy_for_request(&support, id, Some(erasure)).await),
        Refusal::RightOpensNoData { .. }
    ));
    assert!(matches!(
        refusal(h.app.information(&support, id, None).await),
        Refusal::NoAccessRequest
    ));
    let filed = h.app.verify_audit().await.unwrap().entries;
    assert_eq!(
        filed,
        entries + 3,
        "the refusals opened and logged nothing; only the three requests were filed"
    );

    let access = h.verified_request(id, RightKind::Access).await.unwrap();
    let copy = h
        .app
        .copy_for_request(&support, id, Some(access))
        .await
        .unwrap();
    assert!(copy.values.iter().any(|v| v.field == "contact.email"));
    assert_eq!(
        last_entry(h).await,
        (
            Some(format!("right:access@request:{access}")),
            Some("support".to_string())
        ),
        "the log keeps the use granted and, apart, what the caller stated"
    );
}

/// A staff duty names its record and opens what that record concerns, for the people it
/// concerns, while it is open; the log names the record.
pub async fn staff_duties_open_only_what_their_incident_or_hold_needs(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;
    let other = add(h, aigerim_twin(), contract()).await;
    let actor = dpo().for_purpose("incident_response");
    let incident = h
        .app
        .report_incident(
            &dpo(),
            IncidentReport {
                detected_at: h.app.now(),
                description: "A contact list reached a wrong partner".into(),
                categories: vec!["contact".into()],
                subjects: vec![id],
                measures: "The partner confirmed deletion".into(),
            },
        )
        .await
        .unwrap();
    let view = opened(
        h.app
            .read_for_duty(&actor, id, StaffDuty::IncidentResponse(incident.id))
            .await
            .unwrap(),
    );
    assert!(view.values.contains_key("contact.email"));
    assert!(
        view.values.keys().all(|f| f.starts_with("contact.")),
        "an incident that affected contact data opens contact data only: {:?}",
        view.values.keys()
    );
    assert_eq!(
        last_entry(h).await,
        (
            Some(format!("duty:incident_response@incident:{}", incident.id)),
            Some("incident_response".to_string())
        )
    );
    assert!(matches!(
        refusal(
            h.app
                .read_for_duty(&actor, other, StaffDuty::IncidentResponse(incident.id))
                .await
        ),
        Refusal::DutyNotOpen { .. }
    ));

    let claim = dpo().for_purpose("legal_claim");
    let hold = h
        .app
        .place_hold(
            &dpo(),
            HoldScope {
                subject: Some(id),
                categories: vec!["education".into()],
            },
            "Дело № 2-1234/2025",
            None,
        )
        .await
        .unwrap();
    let view = opened(
        h.app
            .read_for_duty(&claim, id, StaffDuty::LegalClaim(hold.id))
            .await
            .unwrap(),
    );
    assert!(!view.values.is_empty());
    assert!(
        view.values.keys().all(|f| f.starts_with("education.")),
        "a hold on education data opens education data only"
    );
    assert!(matches!(
        refusal(
            h.app
                .read_for_duty(&claim, other, StaffDuty::LegalClaim(hold.id))
                .await
        ),
        Refusal::DutyNotOpen { .. }
    ));
    h.app.release_hold(&dpo(), hold.id).await.unwrap();
    assert!(matches!(
        refusal(
            h.app
                .read_for_duty(&claim, id, StaffDuty::LegalClaim(hold.id))
                .await
        ),
        Refusal::DutyNotOpen { .. }
    ));

    // A duty without its record opens nothing, and says what it needs.
    for duty in ["rights_request", "incident_response", "legal_claim"] {
        let err = StaffDuty::parse(duty, None).unwrap_err();
        assert_eq!(err.problems[0].field, "reference", "{duty}");
    }
    let rights = StaffDuty::parse("rights_request", Some(&Uuid::now_v7().to_string())).unwrap();
    assert!(matches!(
        h.app.read_for_duty(&claim, id, rights).await,
        Err(CoreError::Invalid(_))
    ));
}

fn opened(view: DutyView) -> PurposeView {
    match view {
        DutyView::View(view) => view,
        DutyView::Copy(_) => panic!("a duty on an incident or a hold opens a view, not a copy"),
    }
}

/// A second person, with an address of her own.
fn aigerim_twin() -> Value {
    let mut doc = aigerim();
    doc["contact"]["email"] = "dana.twin@mail.kz".into();
    doc["contact"]["phone"] = "+7 702 000 11 22".into();
    doc
}
