//! The consent ledger and the bases of automatic collection.

use super::*;

/// R2.3, R3.2, R6.1: the consent ledger keeps every grant and withdrawal with the policy
/// version, channel, terms and evidence digest; a withdrawal stops the next use at once, and
/// still does after a restart.
pub async fn consents_are_a_ledger_and_withdrawal_is_immediate_and_durable(h: &Harness) {
    let actor = operator();
    let values = h.app.parse_json(&aigerim()).unwrap();
    let id = h
        .app
        .add_subject(
            &actor,
            values,
            consenting(&["notifications", "phone_number", "professional_profile"]),
        )
        .await
        .unwrap();
    assert!(h.app.read(&actor, id, "notifications").await.is_ok());

    let evidence = r#"{"form":"cabinet-consents","checkbox":"analytics","ip":"203.0.113.9"}"#;
    let granted = h
        .app
        .record_consent(
            &actor,
            id,
            "learning_analytics",
            ConsentAction::Granted,
            Channel::CookieBanner,
            Some(evidence),
        )
        .await
        .unwrap();
    assert!(h.app.evidence_matches(&granted, evidence));
    assert!(!h.app.evidence_matches(&granted, "something else"));
    assert_eq!(
        granted.terms.cross_border,
        ["DE"],
        "analytics may go abroad, and the consent says so"
    );
    h.app
        .record_consent(
            &actor,
            id,
            "notifications",
            ConsentAction::Withdrawn,
            Channel::Cabinet,
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        h.app.read(&actor, id, "notifications").await,
        Err(CoreError::Refused(Refusal::ConsentWithdrawn { .. }))
    ));

    // A restarted server reads the same ledger.
    let restarted = h.reopen(h.master.clone()).await.unwrap();
    assert!(matches!(
        restarted.read(&actor, id, "notifications").await,
        Err(CoreError::Refused(Refusal::ConsentWithdrawn { .. }))
    ));
    let ledger = h.copy_with(&restarted, id).await.unwrap().consents;
    let summary: Vec<(&str, ConsentAction, Channel)> = ledger
        .iter()
        .map(|c| (c.purpose.as_str(), c.action, c.channel))
        .collect();
    assert_eq!(
        summary,
        [
            ("contact_data", ConsentAction::Granted, Channel::Form),
            ("notifications", ConsentAction::Granted, Channel::Form),
            ("phone_number", ConsentAction::Granted, Channel::Form),
            (
                "professional_profile",
                ConsentAction::Granted,
                Channel::Form
            ),
            (
                "learning_analytics",
                ConsentAction::Granted,
                Channel::CookieBanner
            ),
            ("notifications", ConsentAction::Withdrawn, Channel::Cabinet),
        ],
        "history is kept, never rewritten"
    );
    assert!(
        ledger
            .iter()
            .all(|c| c.policy_version == "2025-01-15" && c.terms.operator == "Vintrova")
    );
    assert!(ledger[4].evidence.is_some() && ledger[0].evidence.is_none());
    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, b"203.0.113.9"),
        "the evidence itself is never stored"
    );
}

/// R4.2: analytics usage events need the analytics cookie consent and are refused (and not
/// stored) without it; technical events for security are stored under legitimate interest.
pub async fn analytics_events_need_cookie_consent_and_security_events_do_not(h: &Harness) {
    let actor = operator();
    let id = add(h, json!({"contact": {"first_name": "Дана"}}), contract()).await;
    let usage = || {
        h.app.parse_json(&json!({"usage": {"page": "/courses/neural-networks-101", "interaction": "video_play"}})).unwrap()
    };
    let technical = || {
        h.app.parse_json(&json!({"technical": {"ip": "203.0.113.44", "browser": "Firefox 133", "os": "Android 14"}})).unwrap()
    };

    let refused = h
        .app
        .record_events(
            &actor,
            id,
            "learning_analytics",
            usage(),
            "analytics_cookies",
        )
        .await;
    assert!(
        matches!(refused, Err(CoreError::Refused(Refusal::NoConsent { .. }))),
        "{refused:?}"
    );
    assert!(
        h.store().events(id).await.unwrap().is_empty(),
        "nothing was stored"
    );
    // Usage data cannot be slipped in under another purpose either.
    assert!(matches!(
        h.app
            .record_events(&actor, id, "security", usage(), "feature_usage")
            .await,
        Err(CoreError::Invalid(_))
    ));

    let security = h
        .app
        .record_events(&actor, id, "security", technical(), "visit_technical")
        .await
        .unwrap();
    assert_eq!(security.len(), 1);

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
    h.app
        .record_events(
            &actor,
            id,
            "learning_analytics",
            usage(),
            "analytics_cookies",
        )
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_hours(1));
    h.app
        .record_events(
            &actor,
            id,
            "learning_analytics",
            usage(),
            "analytics_cookies",
        )
        .await
        .unwrap();

    let view = h.app.read(&actor, id, "learning_analytics").await.unwrap();
    assert_eq!(
        view.events.len(),
        2,
        "the purpose sees its usage events, not the technical one"
    );
    assert_eq!(
        view.events[0]["usage.page"],
        json!("/courses/neural-networks-101")
    );
    let export = h.copy(id).await.unwrap();
    let ip = export
        .values
        .iter()
        .find(|v| v.field == "technical.ip")
        .unwrap();
    assert_eq!(ip.event, Some(security[0]));
    assert_eq!(ip.source, "visit_technical");
    assert_eq!(ip.retention.rule, "logs");
    assert_eq!(
        ip.retention.delete_after.unwrap().to_string(),
        "2026-03-01T04:00:00Z",
        "one year after the visit"
    );

    // Withdrawing stops the next event at once; an objection stops security collection.
    h.app
        .record_consent(
            &actor,
            id,
            "learning_analytics",
            ConsentAction::Withdrawn,
            Channel::CookieBanner,
            None,
        )
        .await
        .unwrap();
    assert!(matches!(
        h.app
            .record_events(
                &actor,
                id,
                "learning_analytics",
                usage(),
                "analytics_cookies"
            )
            .await,
        Err(CoreError::Refused(Refusal::ConsentWithdrawn { .. }))
    ));
    h.app
        .record_basis(
            &actor,
            id,
            BasisEventKind::Objected,
            Some("security".into()),
            "cabinet",
        )
        .await
        .unwrap();
    assert!(matches!(
        h.app
            .record_events(&actor, id, "security", technical(), "visit_technical")
            .await,
        Err(CoreError::Refused(Refusal::Objected { .. }))
    ));
    assert_eq!(h.store().events(id).await.unwrap().len(), 3);

    // Usage data arriving with a new subject needs the consent in the same form.
    let with_usage = json!({"contact": {"first_name": "Ерлан"}, "usage": {"page": "/webinars"}});
    let values = h.app.parse_json(&with_usage).unwrap();
    assert!(matches!(
        h.app
            .add_subject(
                &actor,
                values.clone(),
                Collection {
                    consents: vec!["contact_data".into()],
                    ..Collection::from("registration_form")
                }
            )
            .await,
        Err(CoreError::Refused(Refusal::NoConsentForCategory { category, .. })) if category == "usage"
    ));
    let id2 = h
        .app
        .add_subject(&actor, values, consenting(&["learning_analytics"]))
        .await
        .unwrap();
    assert_eq!(h.store().events(id2).await.unwrap().len(), 1);

    let receipt = h.app.erase(&actor, id).await.unwrap();
    assert_eq!(receipt.deleted.events, 3);
    assert_eq!(
        receipt.deleted.consent_events, 3,
        "contact data's, and the two purposes'"
    );
    let stored = h.every_stored_byte().await;
    assert!(!contains(&stored, b"203.0.113.44") && !contains(&stored, b"neural-networks-101"));
}

/// Writers that give a person a key class at the same moment (each stores the key it made; the
/// key store keeps one): every write lands sealed under the one kept key, so every value reads
/// back — a writer whose key lost uses the winner's, never its own.
pub async fn two_writers_making_the_same_key_at_once_both_seal_under_the_kept_one(h: &Harness) {
    let actor = operator();
    let id = add(h, json!({"contact": {"first_name": "Дана"}}), contract()).await;
    let technical = |ip: &str| {
        h.app
            .parse_json(
                &json!({"technical": {"ip": ip, "browser": "Firefox 133", "os": "Android 14"}}),
            )
            .unwrap()
    };
    // Eight servers at once: on PostgreSQL, several read "no key yet" before any stores one.
    let mut servers = vec![];
    for _ in 0..8 {
        servers.push(h.reopen(h.master.clone()).await.unwrap());
    }
    let writes = servers.iter().enumerate().map(|(i, app)| {
        let events = technical(&format!("203.0.113.{}", i + 1));
        let actor = actor.clone();
        async move {
            app.record_events(&actor, id, "security", events, "visit_technical")
                .await
        }
    });
    for written in futures::future::join_all(writes).await {
        written.unwrap();
    }
    let copy = h.copy(id).await.expect("every value opens");
    let text = serde_json::to_string(&copy).unwrap();
    for i in 1..=8 {
        assert!(text.contains(&format!("203.0.113.{i}\"")), "{i}: {text}");
    }
}
