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
use vintrova_core::{Actor, Collection, CoreError, PurposeView};

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
    let page = h.store().audit_page(0, 10_000).await.unwrap();
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
    // Before its code comes back a letter is nobody's request, so it opens nothing.
    assert!(matches!(
        h.app.copy_for_request(&support, id, Some(letter.id)).await,
        Err(CoreError::Invalid(_))
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
    assert!(copy.value("contact.email").is_some());
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

/// R3.2: contact data rests on consent. It is not collected without it, it opens for no purpose
/// without it — whatever the purpose's own basis — and withdrawing it ends the service as
/// closing the account does.
pub async fn contact_data_is_collected_and_opened_only_with_its_consent(h: &Harness) {
    use vintrova_core::consent::{Channel, ConsentAction};
    use vintrova_core::gate::BasisEventKind;
    let actor = Actor::new("test", "platform");
    let doc = serde_json::json!({
        "contact": {"first_name": "Данияр", "email": "daniyar.contact@mail.kz"},
        "education": {"level": "Бакалавриат"}
    });
    let values = h.app.parse_json(&doc).unwrap();
    let without = Collection {
        bases: contract(),
        consents: vec!["notifications".into()],
        ..Collection::from("registration_form")
    };
    let refused = h.app.add_subject(&actor, values.clone(), without).await;
    assert!(
        matches!(&refused, Err(CoreError::Refused(Refusal::NoConsentForCategory { category, consent })) if category == "contact" && consent == "contact_data"),
        "{refused:?}"
    );

    // Someone whose address we keep only to answer their request (a legal obligation), then
    // under a contract: the contract purposes open education data, never the address.
    let letter = h
        .app
        .request_by_email(
            &actor,
            "stranger.request@mail.kz",
            RightKind::Information,
            "Что вы обо мне знаете?",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let code = crate::stories::code_from_outbox(h).await;
    let stranger = h
        .app
        .verify_request(&actor, letter.id, &code)
        .await
        .unwrap()
        .subject;
    h.app
        .record_basis(
            &actor,
            stranger,
            BasisEventKind::ContractStarted,
            None,
            "staff_entry",
        )
        .await
        .unwrap();
    let view = h
        .app
        .read(&actor, stranger, "education_access")
        .await
        .unwrap();
    assert!(
        view.values.keys().all(|f| !f.starts_with("contact.")),
        "{view:?}"
    );
    assert_eq!(view.withheld.len(), 1);
    assert_eq!(view.withheld[0].what, "contact");
    assert_eq!(view.withheld[0].rule, "no_consent_for_category");
    consent(
        &h.app,
        &actor,
        stranger,
        "notifications",
        ConsentAction::Granted,
        Channel::Form,
    )
    .await;
    assert!(
        matches!(
            refusal(h.app.read(&actor, stranger, "notifications").await),
            Refusal::NoConsentForCategory { .. }
        ),
        "a consent to notices does not stand in for the consent to contact data"
    );

    // With the consent, contact data opens for the contract's purposes…
    let consenting = Collection {
        bases: contract(),
        consents: vec!["contact_data".into()],
        ..Collection::from("registration_form")
    };
    let id = h.app.add_subject(&actor, values, consenting).await.unwrap();
    let view = h.app.read(&actor, id, "education_access").await.unwrap();
    assert_eq!(view.values["contact.email"], "daniyar.contact@mail.kz");
    assert!(view.withheld.is_empty());
    // …until it is withdrawn: the service ends with it, as the consent's text says.
    let text = &h.app.policy().consent_term("contact_data").unwrap().text;
    assert!(text.ru.contains("закрывает") && text.en.contains("closes"));
    consent(
        &h.app,
        &actor,
        id,
        "contact_data",
        ConsentAction::Withdrawn,
        Channel::Cabinet,
    )
    .await;
    assert!(matches!(
        refusal(h.app.read(&actor, id, "education_access").await),
        Refusal::ContractNotInForce { .. }
    ));
    let bases = h.store().basis_events(id).await.unwrap();
    assert_eq!(bases.last().unwrap().kind, BasisEventKind::ContractEnded);
}

/// R2.3: a confidential field arrives and opens only with the consent that covers it; without
/// it the rest of the category still serves its purpose, and the withheld field is named.
pub async fn confidential_fields_arrive_and_open_only_with_their_consent(h: &Harness) {
    use vintrova_core::consent::{Channel, ConsentAction};
    let actor = Actor::new("test", "platform");
    let doc = serde_json::json!({
        "contact": {"first_name": "Гульнара", "email": "gulnara.phone@mail.kz", "phone": "+7 705 111 22 33"}
    });
    let values = h.app.parse_json(&doc).unwrap();
    let form = |consents: &[&str]| Collection {
        bases: contract(),
        consents: consents.iter().map(|c| c.to_string()).collect(),
        ..Collection::from("registration_form")
    };
    let refused = h
        .app
        .add_subject(&actor, values.clone(), form(&["contact_data"]))
        .await;
    assert!(
        matches!(&refused, Err(CoreError::Refused(Refusal::NoConsentForField { field, consent })) if field == "contact.phone" && consent == "phone_number"),
        "{refused:?}"
    );
    let employer = h
        .app
        .parse_json(&serde_json::json!({"contact": {"email": "gulnara.work@mail.kz"}, "professional": {"employer": "ТОО «Данные»"}}))
        .unwrap();
    assert!(matches!(
        refusal(h.app.add_subject(&actor, employer, form(&["contact_data"])).await),
        Refusal::NoConsentForCategory { category, .. } if category == "professional"
    ));

    let id = h
        .app
        .add_subject(&actor, values, form(&["contact_data", "phone_number"]))
        .await
        .unwrap();
    let view = h.app.read(&actor, id, "support").await.unwrap();
    assert_eq!(view.values["contact.phone"], "+77051112233");
    consent(
        &h.app,
        &actor,
        id,
        "phone_number",
        ConsentAction::Withdrawn,
        Channel::Cabinet,
    )
    .await;
    let view = h.app.read(&actor, id, "support").await.unwrap();
    assert!(
        !view.values.contains_key("contact.phone"),
        "the phone is withheld"
    );
    assert_eq!(view.values["contact.email"], "gulnara.phone@mail.kz");
    assert_eq!(view.withheld.len(), 1);
    assert_eq!(view.withheld[0].what, "contact.phone");
    assert_eq!(view.withheld[0].rule, "no_consent_for_field");
    let again = h
        .app
        .parse_json(&serde_json::json!({"contact": {"phone": "+7 705 999 88 77"}}))
        .unwrap();
    assert!(matches!(
        refusal(h.app.update_subject(&actor, id, again, "cabinet").await),
        Refusal::NoConsentForField { .. }
    ));
    // The person's own copy still shows what is held: the right reaches everything.
    let copy = h.copy(id).await.unwrap();
    assert!(copy.values.iter().any(|v| v.field == "contact.phone"));
}

/// R10.1: a purpose that moved onto consent waits for a consent under the new version — for
/// events recorded as much as for reads; the gate applies the rule everywhere.
pub async fn the_renewal_rule_holds_for_recorded_events(h: &Harness) {
    use crate::disclosures::{next_policy, publish_in_thirty_days, restarted, start_of};
    use vintrova_core::consent::{Channel, ConsentAction};
    let actor = Actor::new("test", "platform");
    let id = add(h, aigerim(), contract()).await;
    consent(
        &h.app,
        &actor,
        id,
        "learning_analytics",
        ConsentAction::Granted,
        Channel::CookieBanner,
    )
    .await;
    let usage = || {
        h.app
            .parse_json(
                &serde_json::json!({"usage": {"page": "/courses/renewal", "interaction": "quiz"}}),
            )
            .unwrap()
    };
    // Analytics moves off consent, then back onto it: consents given before no longer count.
    let off = next_policy(
        "off",
        "key = \"learning_analytics\"",
        "legal_basis = \"consent\"",
        "legal_basis = \"legitimate_interest\"",
    )
    .replace(
        "legal_basis = \"consent\"\n# The analytics cookie consent: the purpose that collects usage data is the consent to it.\nconsent = \"learning_analytics\"",
        "legal_basis = \"legitimate_interest\"",
    );
    let (first, _) = publish_in_thirty_days(h, &actor, &off).await;
    h.clock.set(start_of(h, first));
    let on = off
        .replacen("version = \"off-", "version = \"on-", 1)
        .replacen(
            "legal_basis = \"legitimate_interest\"\ncategories = [\"usage\", \"education\"]",
            "legal_basis = \"consent\"\ncategories = [\"usage\", \"education\"]",
            1,
        );
    let (second, published) = publish_in_thirty_days(h, &actor, &on).await;
    h.clock.set(start_of(h, second));
    let app = restarted(h).await;
    assert_eq!(app.policy().version, published.version);
    let refused = app
        .record_events(
            &actor,
            id,
            "learning_analytics",
            usage(),
            "analytics_cookies",
        )
        .await;
    assert!(
        matches!(
            &refused,
            Err(CoreError::Refused(Refusal::ConsentToRenew { .. }))
        ),
        "{refused:?}"
    );
    assert!(
        h.store().events(id).await.unwrap().is_empty(),
        "nothing was recorded"
    );
    consent(
        &app,
        &actor,
        id,
        "learning_analytics",
        ConsentAction::Granted,
        Channel::CookieBanner,
    )
    .await;
    app.record_events(
        &actor,
        id,
        "learning_analytics",
        usage(),
        "analytics_cookies",
    )
    .await
    .unwrap();
}

/// Record a consent given or withdrawn, as the person's form or cabinet does.
async fn consent(
    app: &vintrova_core::Vintrova,
    actor: &Actor,
    id: Uuid,
    purpose: &str,
    action: vintrova_core::consent::ConsentAction,
    channel: vintrova_core::consent::Channel,
) {
    app.record_consent(actor, id, purpose, action, channel, None)
        .await
        .expect("the consent is recorded");
}
