//! Third parties: the recipients register with its agreements, disclosures refused outside a
//! recipient's allowance, and the logged ones in the person's "information" answer.

use jiff::civil::date;
use vintrova_core::disclosures::{Agreement, DisclosureRefusal, DisclosureRequest};
use vintrova_core::rights::RightKind;
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
    let request = h
        .verified_request(person, RightKind::Information)
        .await
        .unwrap();
    let info = h
        .app
        .information(&dpo(), person, Some(request))
        .await
        .unwrap();
    let recipients: Vec<&str> = info
        .disclosures
        .iter()
        .map(|d| d.recipient.as_str())
        .collect();
    assert_eq!(recipients, ["payment_systems", "state_bodies"]);
    // And their audit trail has a `disclose` entry for each, with the purpose.
    let log = h.store().audit_page(0, 1000).await.unwrap();
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

/// Anonymized analytics end to end: only consenting learners are in the release, every group
/// holds at least k, and it leaves for an analytics recipient only as an anonymized disclosure.
pub async fn anonymized_analytics_reach_an_analytics_recipient_only_as_k_anonymous_groups(
    h: &Harness,
) {
    use vintrova_core::consent::{Channel, ConsentAction};
    crate::retention::neural_networks_course(h).await;
    let actor = Actor::new("test", "platform");
    let mut consenting = 0;
    // Twelve of fourteen consent; half of them complete: two groups of six.
    for i in 0..14 {
        let mut doc =
            serde_json::json!({"contact": {"email": format!("learner{i}.analytics@mail.kz")}});
        doc["contact"]["first_name"] = serde_json::json!("Ученик");
        let id = add(h, doc, contract()).await;
        if i < 12 {
            h.app
                .record_consent(
                    &actor,
                    id,
                    "learning_analytics",
                    ConsentAction::Granted,
                    Channel::CookieBanner,
                    None,
                )
                .await
                .unwrap();
            consenting += 1;
        }
        let enrollment = h
            .app
            .enroll(&actor, id, "neural-networks-101", "course_enrollment")
            .await
            .unwrap();
        if i % 2 == 0 {
            h.app
                .record_progress(&actor, enrollment.id, 100)
                .await
                .unwrap();
        }
    }
    let release = h.app.analytics(5).await.unwrap();
    assert_eq!(
        release.rows.len() as u64 + release.suppressed,
        consenting,
        "only the learners who consented"
    );
    assert!(release.rows.len() >= 5);
    let rates = vintrova_core::analytics::completion_rates(&release);
    assert_eq!(rates.len(), 1);
    assert!(rates[0].rate > 0.0 && rates[0].rate < 1.0);
    assert!(
        matches!(h.app.analytics(4).await, Err(CoreError::Invalid(_))),
        "k below five"
    );

    assert_eq!(
        refused(
            h.app
                .export_analytics(&dpo(), "analytics_services", "DE", 5)
                .await
        ),
        DisclosureRefusal::NoAgreement("analytics_services".into())
    );
    h.app
        .record_agreement(
            &dpo(),
            Agreement {
                recipient: "analytics_services".into(),
                signed_on: date(2025, 2, 1),
                reference: "DPA-AN-7".into(),
            },
        )
        .await
        .unwrap();
    let (_, disclosure) = h
        .app
        .export_analytics(&dpo(), "analytics_services", "DE", 5)
        .await
        .unwrap();
    assert!(disclosure.anonymized && disclosure.subjects.is_empty() && disclosure.cross_border);
    // Exporting to a recipient that receives named data is no way around the rule either way:
    // a payment system is not allowed the education category or the analytics purpose.
    assert!(matches!(
        refused(
            h.app
                .export_analytics(&dpo(), "payment_systems", "KZ", 5)
                .await
        ),
        DisclosureRefusal::CategoryNotAllowed { .. }
    ));
}

/// Issue 21 (R10.1, item 6): the first version is in the archive. The policy in force is
/// recorded whole at its first start, once; a later version is compared with it and joins it,
/// so the archive lists every version ever in force, oldest first.
pub async fn the_first_version_is_in_the_archive_from_its_first_start(h: &Harness) {
    let shipped = include_str!("../../../policy/vintrova.toml");
    let system = Actor::new("system", "first-start");
    assert!(h.app.policy_versions().await.unwrap().is_empty());
    assert!(
        h.app
            .archive_policy_in_force(&system, shipped)
            .await
            .unwrap()
    );
    assert!(
        !h.app
            .archive_policy_in_force(&system, shipped)
            .await
            .unwrap(),
        "recorded once"
    );
    let archive = h.app.policy_versions().await.unwrap();
    assert_eq!(archive.len(), 1);
    assert_eq!(archive[0].version, h.app.policy().version);
    assert_eq!(archive[0].effective, h.app.policy().effective);
    assert_eq!(archive[0].text, shipped, "the file, whole");
    let wrong = next_policy("other", "[[retention]]", "term = \"P5Y\"", "term = \"P6Y\"");
    assert!(
        !h.app
            .archive_policy_in_force(&system, &wrong)
            .await
            .unwrap(),
        "the version in force is archived already: nothing else is recorded in its name"
    );

    let next = next_policy("next", "[[retention]]", "term = \"P5Y\"", "term = \"P6Y\"");
    let today = h.app.now().to_zoned_datetime(h.app.policy().zone()).date();
    let published = h
        .app
        .publish_policy(
            &Actor::new("staff", "dpo:test"),
            &next,
            today.checked_add(jiff::Span::new().days(30)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(published.replaces, h.app.policy().version);
    let versions: Vec<String> = h
        .app
        .policy_versions()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(
        versions,
        [h.app.policy().version.clone(), published.version]
    );
}

/// R10.1: a material change needs 30 days' notice; every person is told exactly once, however
/// often the announcement runs; the notice stands until the date.
pub async fn a_material_policy_change_needs_thirty_days_and_reaches_everyone_once(h: &Harness) {
    for i in 0..3 {
        let doc = serde_json::json!({"contact": {"email": format!("policy.reader{i}@mail.kz")}});
        add(h, doc, contract()).await;
    }
    // Office hours alone are wording: seen, and publishable without notice.
    let hours = next_policy(
        "hours",
        "[contact]",
        "opens = \"09:00\"",
        "opens = \"10:00\"",
    );
    let wording = h.app.diff_policy(&hours).await.unwrap();
    assert!(
        !wording.changes.is_empty() && !wording.is_material(),
        "{wording:?}"
    );
    let next = next_policy("next", "[[retention]]", "term = \"P5Y\"", "term = \"P6Y\"");
    let diff = h.app.diff_policy(&next).await.unwrap();
    assert!(diff.is_material(), "{diff:?}");
    let today = h.app.now().to_zoned_datetime(h.app.policy().zone()).date();
    let in_days = |n: i64| today.checked_add(jiff::Span::new().days(n)).unwrap();
    let admin = Actor::new("staff", "dpo:test");
    let early = h.app.publish_policy(&admin, &next, in_days(29)).await;
    assert!(
        matches!(&early, Err(CoreError::Invalid(e)) if e.problems[0].field == "effective"),
        "{early:?}"
    );
    assert!(h.app.policy_versions().await.unwrap().is_empty());
    let published = h
        .app
        .publish_policy(&admin, &next, in_days(30))
        .await
        .unwrap();
    assert!(published.material);
    assert!(
        h.app
            .publish_policy(&admin, &next, in_days(40))
            .await
            .is_err(),
        "once"
    );

    let first = h
        .app
        .announce_policy(&admin, &published.version)
        .await
        .unwrap();
    assert_eq!(first.queued, 3);
    let again = h
        .app
        .announce_policy(&admin, &published.version)
        .await
        .unwrap();
    assert_eq!(
        (again.queued, again.already_told),
        (0, 3),
        "exactly once each"
    );
    // A day later fewer than 30 days remain: whoever was not told yet would be told too late.
    h.clock.set(plus_days(h.app.now(), 1));
    let late = h.app.announce_policy(&admin, &published.version).await;
    assert!(
        matches!(&late, Err(CoreError::Invalid(e)) if e.problems[0].field == "version"),
        "{late:?}"
    );

    assert_eq!(
        h.app.pending_policy().await.unwrap().map(|v| v.version),
        Some(published.version.clone())
    );
    h.clock.set(plus_days(h.app.now(), 31));
    assert!(
        h.app.pending_policy().await.unwrap().is_none(),
        "the notice ends on the date"
    );
}

fn plus_days(t: jiff::Timestamp, days: i64) -> jiff::Timestamp {
    t.checked_add(jiff::SignedDuration::from_hours(24 * days))
        .unwrap()
}

/// R10.1: when a purpose moves onto consent, processing that rested on the old basis pauses for
/// each person from the new version's day until they consent under it.
pub async fn a_basis_change_pauses_processing_until_the_person_consents_again(h: &Harness) {
    use vintrova_core::consent::{Channel, ConsentAction};
    use vintrova_core::gate::Refusal;
    let person = add(h, aigerim(), contract()).await;
    let actor = Actor::new("test", "platform");
    assert!(
        h.app.read(&actor, person, "personalization").await.is_ok(),
        "on the contract"
    );
    let next = next_policy(
        "consent",
        "key = \"personalization\"",
        "legal_basis = \"contract\"",
        "legal_basis = \"consent\"",
    );
    let (effective, published) = publish_in_thirty_days(h, &actor, &next).await;
    assert!(
        published
            .changes
            .iter()
            .any(|c| c.area == "basis" && c.key == "personalization")
    );

    // Until the day, nothing changes — even after a restart.
    let before = restarted(h).await;
    assert!(before.read(&actor, person, "personalization").await.is_ok());

    // From the day, a restarted server runs the new version: personalization waits for consent.
    h.clock.set(start_of(h, effective));
    let after = restarted(h).await;
    assert_eq!(after.policy().version, published.version);
    assert!(matches!(
        after.read(&actor, person, "personalization").await,
        Err(CoreError::Refused(Refusal::NoConsent { .. }))
    ));
    after
        .record_consent(
            &actor,
            person,
            "personalization",
            ConsentAction::Granted,
            Channel::Cabinet,
            None,
        )
        .await
        .unwrap();
    assert!(
        after.read(&actor, person, "personalization").await.is_ok(),
        "resumed with the consent"
    );
}

/// Issue 21 (R10.1, item 7): any basis change that covers a person's data asks for the consent
/// the new basis needs — a category moving onto consent too, not only a purpose. The person's
/// consent given under the old version does not carry over: from the day, their education data
/// is withheld (with the rule) until they consent under the new version.
pub async fn a_category_moving_onto_consent_waits_for_consent_under_the_new_version(h: &Harness) {
    use vintrova_core::consent::{Channel, ConsentAction};
    let person = add(h, aigerim(), contract()).await;
    let actor = Actor::new("test", "platform");
    let education =
        |view: &vintrova_core::PurposeView| view.values.keys().any(|k| k.starts_with("education."));
    let before = h
        .app
        .read(&actor, person, "education_access")
        .await
        .unwrap();
    assert!(education(&before), "on the contract: {before:?}");
    let next = next_policy(
        "category-consent",
        "key = \"education\"",
        "legal_basis = \"contract\"",
        "legal_basis = \"consent\"\nconsent = \"professional_profile\"",
    );
    let (effective, published) = publish_in_thirty_days(h, &actor, &next).await;
    assert!(published.material);
    h.clock.set(start_of(h, effective));
    let after = restarted(h).await;
    let withheld = after
        .read(&actor, person, "education_access")
        .await
        .unwrap();
    assert!(!education(&withheld), "{withheld:?}");
    assert!(
        withheld
            .withheld
            .iter()
            .any(|w| w.what == "education" && w.rule == "consent_to_renew"),
        "{:?}",
        withheld.withheld
    );
    after
        .record_consent(
            &actor,
            person,
            "professional_profile",
            ConsentAction::Granted,
            Channel::Cabinet,
            None,
        )
        .await
        .unwrap();
    let renewed = after
        .read(&actor, person, "education_access")
        .await
        .unwrap();
    assert!(education(&renewed), "resumed with the consent: {renewed:?}");
}

/// R9.2: named people's data goes abroad only under a planned transfer — to an adequate country
/// in the recipient's register entry, with its contract and safeguards — after the people were
/// told and once its day has come.
pub async fn data_goes_abroad_only_after_a_planned_transfer_was_announced_and_began(h: &Harness) {
    use vintrova_core::transfers::Transfer;
    let person = add(h, aigerim(), contract()).await;
    let actor = Actor::new("staff", "dpo:test").for_purpose("support");
    // The next version lets cloud providers in Germany hold support data; it takes effect in 30 days.
    let next = next_policy(
        "abroad",
        "key = \"cloud_providers\"",
        "countries = [\"KZ\"]",
        "countries = [\"KZ\", \"DE\"]",
    );
    let (effective, _) = publish_in_thirty_days(h, &actor, &next).await;
    h.clock.set(start_of(h, effective));
    let app = restarted(h).await;
    app.record_agreement(
        &actor,
        Agreement {
            recipient: "cloud_providers".into(),
            signed_on: date(2025, 2, 1),
            reference: "DPA-CLOUD-3".into(),
        },
    )
    .await
    .unwrap();
    let to_germany = DisclosureRequest {
        recipient: "cloud_providers".into(),
        country: "DE".into(),
        subjects: vec![person],
        categories: vec!["contact".into()],
        purpose: "support".into(),
        legal_ground: "Hosting contract H-7, standard clauses".into(),
        ..Default::default()
    };
    assert!(matches!(
        refused(app.disclose(&actor, to_germany.clone()).await),
        DisclosureRefusal::TransferNotAnnounced { .. }
    ));
    let plan = |country: &str, starts_on| Transfer {
        id: uuid::Uuid::nil(),
        recipient: "cloud_providers".into(),
        country: country.into(),
        categories: vec!["contact".into()],
        starts_on,
        contract: "Hosting contract H-7 of 01.02.2025".into(),
        safeguards: "Standard contractual clauses; encryption at rest with keys in Kazakhstan"
            .into(),
        planned_at: None,
    };
    let tomorrow = effective.tomorrow().unwrap();
    let in_thirty = effective.checked_add(jiff::Span::new().days(30)).unwrap();
    assert!(matches!(
        refused(app.plan_transfer(&actor, plan("US", in_thirty)).await),
        DisclosureRefusal::CountryNotListed { .. }
    ));
    let early = app.plan_transfer(&actor, plan("DE", tomorrow)).await;
    assert!(
        matches!(&early, Err(CoreError::Invalid(e)) if e.problems[0].field == "starts_on"),
        "a new destination is announced 30 days ahead: {early:?}"
    );
    let planned = app
        .plan_transfer(&actor, plan("DE", in_thirty))
        .await
        .unwrap();
    assert_eq!(
        planned.told, 1,
        "the person whose contact data would go is told"
    );
    // Whoever arrives between the announcement and the start is told as they arrive.
    let doc = serde_json::json!({"contact": {"email": "arrives.later@mail.kz"}});
    let values = app.parse_json(&doc).unwrap();
    let newcomer = app
        .add_subject(
            &actor,
            values.clone(),
            vintrova_core::Collection {
                bases: contract(),
                consents: crate::ticked(app.policy(), &values, vec![]),
                ..vintrova_core::Collection::from("registration_form")
            },
        )
        .await
        .unwrap();
    assert!(
        app.notices_of(newcomer)
            .await
            .unwrap()
            .iter()
            .any(|n| n.kind == vintrova_core::notifications::NoticeKind::TransferAbroad),
        "told at registration"
    );
    assert!(
        matches!(
            refused(app.disclose(&actor, to_germany.clone()).await),
            DisclosureRefusal::TransferNotAnnounced { .. }
        ),
        "not before its day"
    );
    h.clock.set(start_of(h, in_thirty));
    let sent = app.disclose(&actor, to_germany.clone()).await.unwrap();
    assert!(sent.cross_border);
    assert_eq!(app.transfers().await.unwrap().len(), 1);
    // The transfer covers contact data only: nothing else of named people goes under it.
    let wider = DisclosureRequest {
        categories: vec!["contact".into(), "technical".into()],
        ..to_germany
    };
    assert!(matches!(
        refused(app.disclose(&actor, wider).await),
        DisclosureRefusal::TransferNotAnnounced { .. }
    ));
}

/// The shipped policy as a new version `prefix-…`, with `from` replaced by `to` in the section
/// that starts at `section`.
pub(crate) fn next_policy(prefix: &str, section: &str, from: &str, to: &str) -> String {
    let shipped = include_str!("../../../policy/vintrova.toml");
    let (head, tail) = shipped.split_at(shipped.find(section).expect("the section exists"));
    format!(
        "{}{}",
        head.replacen("version = \"", &format!("version = \"{prefix}-"), 1),
        tail.replacen(from, to, 1)
    )
}

/// The server as it starts again now, with whatever published version is in force.
pub(crate) async fn restarted(h: &Harness) -> vintrova_core::Vintrova {
    h.reopen(h.master.clone())
        .await
        .unwrap()
        .with_published_policy()
        .await
        .unwrap()
}

/// Publish `text` to take effect in 30 days; that day.
pub(crate) async fn publish_in_thirty_days(
    h: &Harness,
    actor: &Actor,
    text: &str,
) -> (jiff::civil::Date, vintrova_core::versions::PublishedVersion) {
    let today = h.app.now().to_zoned_datetime(h.app.policy().zone()).date();
    let effective = today.checked_add(jiff::Span::new().days(30)).unwrap();
    let published = h.app.publish_policy(actor, text, effective).await.unwrap();
    (effective, published)
}

pub(crate) fn start_of(h: &Harness, day: jiff::civil::Date) -> jiff::Timestamp {
    day.to_zoned_datetime(h.app.policy().zone())
        .unwrap()
        .timestamp()
}
