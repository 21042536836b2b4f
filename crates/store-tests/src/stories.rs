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

/// R2.1, R3.3, R6.1: store, read for a purpose, copy, erase — and after erasure, unknown.
pub async fn a_subject_lives_and_is_erased(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;

    let view = h
        .app
        .read(&operator(), id, "personalization")
        .await
        .expect("contract in force");
    assert_eq!(
        view.values["professional.employer"],
        json!("ТОО «Нейросети Шымкента»")
    );
    assert_eq!(view.values["professional.it_experience_years"], json!(4));
    assert!(
        !view.values.contains_key("contact.email"),
        "personalization may not see contact data: {:?}",
        view.values.keys()
    );

    let export = h.copy(id).await.expect("export");
    assert_eq!(export.values.len(), 9);
    let phone = export
        .values
        .iter()
        .find(|v| v.field == "contact.phone")
        .expect("phone exported");
    assert_eq!(phone.value, json!("+77015554433"));
    assert_eq!(phone.category, "contact");
    assert_eq!(phone.source, "registration_form");
    assert_eq!(phone.collected_at, crate::day_one());
    assert_eq!(phone.retention.rule, "active_user");
    assert!(phone.purposes.iter().any(|p| p.purpose == "notifications"));
    let json = serde_json::to_value(&export).unwrap();
    assert!(json["values"][0]["legal_basis"].is_string());

    let receipt = h.app.erase(&operator(), id).await.expect("erase");
    assert!(receipt.subject_removed);
    assert!(receipt.kept.is_empty());
    assert_eq!(receipt.deleted.values, 9);
    assert_eq!(receipt.deleted.index_entries, 2);
    assert_eq!(receipt.key_classes_destroyed, ["learning", "profile"]);
    assert_eq!(receipt.keys_destroyed, 2);
    assert!(matches!(h.copy(id).await, Err(CoreError::UnknownSubject(x)) if x == id));
    assert!(matches!(
        h.app.erase(&operator(), id).await,
        Err(CoreError::UnknownSubject(_))
    ));
    let actions: Vec<String> = h
        .store()
        .audit_page(0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    // The copy answered a request the person filed and that was closed after.
    assert_eq!(
        actions,
        [
            "create",
            "read",
            "receive_request",
            "export",
            "close_request",
            "erase"
        ]
    );
}

/// No value is stored in clear anywhere the backend keeps bytes; after erasure not even its
/// ciphertext or blind index is left (R7.2, R8.2).
pub async fn no_value_is_stored_in_clear_and_erasure_leaves_no_trace(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;
    let other = add(
        h,
        json!({"contact": {"first_name": "Ерлан", "email": "yerlan.test@mail.kz"}}),
        contract(),
    )
    .await;
    h.app
        .read(&operator(), id, "personalization")
        .await
        .unwrap();
    let before = h.every_stored_byte().await;
    for needle in aigerim_needles() {
        assert!(
            !contains(&before, needle.as_bytes()),
            "plaintext found in storage: a value of field … leaked"
        );
    }

    let sealed: Vec<Vec<u8>> = h
        .store()
        .values(id)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.sealed)
        .collect();
    assert_eq!(sealed.len(), 9);
    let digests = index_digests(h, id).await;
    assert_eq!(digests.len(), 2, "email and phone are indexed");
    for blob in sealed.iter().chain(&digests) {
        assert!(
            contains(&before, blob),
            "the scan must see stored ciphertext, or it proves nothing"
        );
    }

    h.app.erase(&operator(), id).await.unwrap();
    let after = h.every_stored_byte().await;
    for (i, blob) in sealed.iter().enumerate() {
        assert!(
            !contains(&after, &blob[..32]),
            "ciphertext {i} of the erased subject survives"
        );
    }
    for digest in &digests {
        assert!(
            !contains(&after, digest),
            "a blind index of the erased subject survives"
        );
    }
    // The other person is untouched.
    assert_eq!(h.copy(other).await.unwrap().values.len(), 2);
}

async fn index_digests(h: &Harness, id: Uuid) -> Vec<Vec<u8>> {
    let app = &h.app;
    let mut out = Vec::new();
    for (field, raw) in [
        ("contact.email", "aigerim.nurlanova.test@почта.kz"),
        ("contact.phone", "+77015554433"),
    ] {
        let doc = json!({ "contact": { field.split_once('.').unwrap().1: raw } });
        let parsed = app.parse_json(&doc).unwrap();
        let digest = h
            .vault()
            .blind_index()
            .digest(field, parsed[0].index_form.as_deref().unwrap());
        assert_eq!(
            h.store().find_by_index(field, &digest).await.unwrap(),
            vec![id]
        );
        out.push(digest.to_vec());
    }
    out
}

/// R2.2 and bad input: every problem is named, nothing stored changes.
pub async fn bad_input_is_refused_whole_and_changes_nothing(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;
    let entries = audit_len(h).await;
    let before = h.copy(id).await.unwrap();
    let entries = entries + 3;

    let megabyte = "я".repeat(512 * 1024);
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            br#"{"contact": {"middle_name": "x"}}"#.to_vec(),
            "contact.middle_name",
            "not a field of the data map",
        ),
        (
            br#"{"hobbies": {"chess": true}}"#.to_vec(),
            "hobbies",
            "not a category",
        ),
        (
            br#"{"contact": {"email": "not-an-email"}}"#.to_vec(),
            "contact.email",
            "not an email address",
        ),
        (
            br#"{"contact": {"phone": "12"}}"#.to_vec(),
            "contact.phone",
            "phone",
        ),
        (
            format!(r#"{{"contact": {{"first_name": "{megabyte}"}}}}"#).into_bytes(),
            "contact.first_name",
            "524288 characters long",
        ),
        (
            b"{\"contact\": {\"first_name\": \"\xff\xfe\"}}".to_vec(),
            "(document)",
            "not valid UTF-8",
        ),
        (
            br#"{"payment": {"card_last4": "4111111111111111"}}"#.to_vec(),
            "payment.card_last4",
            "never stored",
        ),
        (
            br#"{"professional": {"it_experience_years": 300}}"#.to_vec(),
            "professional.it_experience_years",
            "out of range",
        ),
    ];
    for (input, field, problem) in cases {
        let err = h.app.parse(&input).expect_err("refused");
        let p = err
            .problems
            .iter()
            .find(|p| p.field == field)
            .unwrap_or_else(|| panic!("{field} not named: {err}"));
        assert!(
            p.problem.contains(problem),
            "{field}: {} does not say `{problem}`",
            p.problem
        );
        assert!(
            !err.to_string().contains("яяяя"),
            "the error repeats the value"
        );
    }
    // A mix of good and bad fields stores none of them.
    let mixed = json!({"contact": {"first_name": "Новое", "email": "broken"}});
    assert!(h.app.parse_json(&mixed).is_err());
    // An unknown source refuses the whole collection.
    let good = h
        .app
        .parse_json(&json!({"contact": {"first_name": "Новое"}}))
        .unwrap();
    let err = h
        .app
        .add_subject(&operator(), good.clone(), Collection::from("telepathy"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("source"), "{err}");
    let err = h
        .app
        .update_subject(&operator(), Uuid::now_v7(), good, "staff_entry")
        .await
        .unwrap_err();
    assert!(matches!(err, CoreError::UnknownSubject(_)));

    let after = h.copy(id).await.unwrap();
    let strip = |e: &vintrova_core::Export| serde_json::to_value(&e.values).unwrap();
    assert_eq!(strip(&before), strip(&after));
    assert_eq!(
        audit_len(h).await,
        entries + 3,
        "only the second copy was audited (its request filed, answered, closed)"
    );
}

/// R3.3: each basis is checked, and a refusal says which rule refused.
pub async fn the_purpose_gate_checks_each_basis(h: &Harness) {
    let id = add(h, aigerim(), vec![]).await;
    let actor = operator();
    let refusal = |r: Result<_, CoreError>| match r {
        Err(CoreError::Refused(refusal)) => refusal,
        other => panic!(
            "expected a refusal, got {:?}",
            other.map(|_: vintrova_core::PurposeView| ())
        ),
    };
    assert!(matches!(
        refusal(h.app.read(&actor, id, "personalization").await),
        Refusal::ContractNotInForce { .. }
    ));
    assert!(matches!(
        refusal(h.app.read(&actor, id, "notifications").await),
        Refusal::NoConsent { .. }
    ));
    assert!(h.app.read(&actor, id, "security").await.is_ok());

    let record = |kind, purpose: Option<&str>| {
        h.app
            .record_basis(&actor, id, kind, purpose.map(str::to_string), "staff_entry")
    };
    let consent = |purpose: &'static str, action| {
        h.app
            .record_consent(&actor, id, purpose, action, Channel::Cabinet, None)
    };
    consent("notifications", ConsentAction::Granted)
        .await
        .unwrap();
    let view = h.app.read(&actor, id, "notifications").await.unwrap();
    assert_eq!(
        view.values.keys().cloned().collect::<Vec<_>>(),
        [
            "contact.email",
            "contact.first_name",
            "contact.last_name",
            "contact.phone"
        ]
    );
    consent("notifications", ConsentAction::Withdrawn)
        .await
        .unwrap();
    assert!(matches!(
        refusal(h.app.read(&actor, id, "notifications").await),
        Refusal::ConsentWithdrawn { .. }
    ));
    record(BasisEventKind::Objected, Some("security"))
        .await
        .unwrap();
    assert!(matches!(
        refusal(h.app.read(&actor, id, "security").await),
        Refusal::Objected { .. }
    ));
    record(BasisEventKind::ContractStarted, None).await.unwrap();
    record(BasisEventKind::Restricted, None).await.unwrap();
    assert_eq!(
        refusal(h.app.read(&actor, id, "personalization").await),
        Refusal::Restricted
    );
    assert!(
        h.copy(id).await.is_ok(),
        "a restriction never blocks the person's own access"
    );
    assert!(matches!(
        refusal(h.app.read(&actor, id, "marketing").await),
        Refusal::UnknownPurpose(_)
    ));

    // A consent to a purpose that does not rest on consent is meaningless, and refused.
    assert!(matches!(
        consent("payments", ConsentAction::Granted).await,
        Err(CoreError::Invalid(_))
    ));
    let reads = h
        .store()
        .audit_page(0, 100)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.entry.action == "read")
        .count();
    assert_eq!(reads, 2, "only granted reads are audited as reads");
}

/// R6.1 erasure with R8.1: payment records stay for the 5 years tax law requires, the rest
/// goes at once; when the 5 years are over, erasure takes them too.
pub async fn erasure_keeps_what_tax_law_requires_until_it_expires(h: &Harness) {
    let mut doc = aigerim();
    doc["payment"] = json!({"amount": 4_500_000, "currency": "kzt", "method": "card", "card_last4": "4242", "provider_reference": "KSP-2025-000187"});
    let id = add(h, doc, contract()).await;

    h.clock.advance(SignedDuration::from_hours(24 * 200));
    let receipt = h.app.erase(&operator(), id).await.unwrap();
    assert!(!receipt.subject_removed);
    assert_eq!(receipt.kept.len(), 1);
    let kept = &receipt.kept[0];
    assert_eq!(kept.rule, "financial");
    assert_eq!(
        kept.until.to_string(),
        "2030-03-01T04:00:00Z",
        "five years after the payment, in Almaty"
    );
    assert_eq!(kept.fields, ["payment"], "the payment record, as one event");
    // The person's signed receipt says the same: what went, and what stays until when.
    let signed =
        vintrova_core::receipts::verify(&receipt.signed.text, &h.vault().signing().public())
            .unwrap();
    assert_eq!(
        signed.kept,
        [vintrova_core::receipts::KeptPart {
            categories: vec!["payment".into()],
            rule: "financial".into(),
            until: Some(kept.until),
        }]
    );
    assert!(signed.destroyed.contains(&"contact".to_string()));
    assert!(!signed.destroyed.contains(&"payment".to_string()));
    let export = h.copy(id).await.unwrap();
    assert!(
        export.values.iter().all(|v| v.category == "payment"),
        "only payment data is left"
    );
    assert_eq!(export.values.len(), 5);
    assert!(
        h.app
            .find(
                &operator(),
                "contact.email",
                "aigerim.nurlanova.test@почта.kz"
            )
            .await
            .unwrap()
            .is_empty()
    );

    h.clock.set("2030-03-01T04:00:01Z".parse().unwrap());
    let receipt = h.app.erase(&operator(), id).await.unwrap();
    assert!(receipt.subject_removed && receipt.kept.is_empty());
    assert!(matches!(
        h.copy(id).await,
        Err(CoreError::UnknownSubject(_))
    ));
}

/// Blind indexes find a person by email or phone however it is written; a correction moves
/// the index with the value (R6.1 rectification).
pub async fn subjects_are_found_by_email_and_phone_and_corrections_follow(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;
    let actor = operator();
    assert_eq!(
        h.app
            .find(&actor, "contact.email", " AIGERIM.Nurlanova.test@ПОЧТА.kz")
            .await
            .unwrap(),
        vec![id]
    );
    assert_eq!(
        h.app
            .find(&actor, "contact.phone", "8 (701) 555-44-33")
            .await
            .unwrap(),
        vec![id]
    );
    assert!(
        h.app
            .find(&actor, "contact.email", "nobody@mail.kz")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        h.app.find(&actor, "contact.first_name", "Айгерімжан").await,
        Err(CoreError::Invalid(_))
    ));

    let fix = h.app.parse_json(&json!({"contact": {"email": "aigerim.new@mail.kz"}, "professional": {"employer": "Vintrova"}})).unwrap();
    h.app
        .update_subject(&actor, id, fix, "staff_entry")
        .await
        .unwrap();
    assert!(
        h.app
            .find(&actor, "contact.email", "aigerim.nurlanova.test@почта.kz")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        h.app
            .find(&actor, "contact.email", "aigerim.new@mail.kz")
            .await
            .unwrap(),
        vec![id]
    );
    let export = h.copy(id).await.unwrap();
    let employer = export
        .values
        .iter()
        .find(|v| v.field == "professional.employer")
        .unwrap();
    assert_eq!(employer.value, json!("Vintrova"));
    assert_eq!(employer.source, "staff_entry");
    assert_eq!(export.values.len(), 9);
}

/// Rotating the master key keeps everyone readable; the old key alone opens nothing.
pub async fn key_rotation_rewraps_without_touching_data(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;
    let sealed_before = h.store().values(id).await.unwrap();
    let next = h.master.successor();
    let count = h.vault().rotate(&next).await.unwrap();
    assert_eq!(
        count,
        4 + 2,
        "four system keys and the profile and learning keys"
    );
    assert_eq!(
        h.store().values(id).await.unwrap(),
        sealed_before,
        "the data is untouched"
    );

    let rotated = h.reopen(next).await.expect("the new key opens the store");
    assert_eq!(h.copy_with(&rotated, id).await.unwrap().values.len(), 9);
    // The subject's creation, and the copy: a request filed, answered and closed.
    assert_eq!(rotated.verify_audit().await.unwrap().entries, 4);
    match h.reopen(h.master.clone()).await {
        Err(CoreError::Vault(VaultError::MasterKeyVersion { file: 1, store: 2 })) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("the old master key still opens the store"),
    }
    let forged = vintrova_vault::MasterKey::generate(2);
    assert!(matches!(
        h.reopen(forged).await,
        Err(CoreError::Vault(VaultError::WrongMasterKey))
    ));
}

/// Every storage column is declared in the data map's schema, and every PD column is reached
/// by the data map (R2.2).
pub async fn every_storage_column_is_declared_in_the_data_map(h: &Harness) {
    let actual = h.store().schema().await.unwrap();
    let mut declared: Vec<(String, Vec<String>)> = STORAGE_SCHEMA
        .iter()
        .map(|(t, cols)| {
            (
                t.to_string(),
                cols.iter().map(|(c, _)| c.to_string()).collect(),
            )
        })
        .collect();
    declared.sort();
    let mut actual_sorted = actual.clone();
    actual_sorted.sort();
    assert_eq!(
        actual_sorted, declared,
        "a storage column is not declared in core::datamap::STORAGE_SCHEMA"
    );
    let pd: Vec<(&str, &str)> = STORAGE_SCHEMA
        .iter()
        .flat_map(|(t, cols)| {
            cols.iter()
                .filter(|(_, r)| matches!(r, ColumnRole::SealedPd | ColumnRole::BlindIndex))
                .map(move |(c, _)| (*t, *c))
        })
        .collect();
    for column in pd {
        assert!(
            h.app.data_map().pd_columns().contains(&column),
            "{column:?} holds PD but no field maps to it"
        );
    }
}

/// Concurrent writers keep one linear chain.
pub async fn concurrent_writes_keep_one_audit_chain(h: &Harness) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let doc = json!({"contact": {"first_name": format!("Студент{i}"), "email": format!("s{i}@mail.kz")}});
        tasks.push(add(h, doc, contract()));
    }
    // Polled together, so their transactions interleave.
    let ids: Vec<Uuid> = futures::future::join_all(tasks).await;
    assert_eq!(ids.len(), 12);
    assert_eq!(audit_len(h).await, 12);
}

/// How an attacker may tamper with the log, and the entry `audit verify` must name.
pub enum Tampering {
    Edit,
    Delete,
    Insert,
    Reorder,
    Truncate,
    /// Cut off the end and move the key store's anchor back too: only the head file outside
    /// the database still knows.
    TruncateAndRewind,
}

/// The audit chain verifies untouched, and each kind of tampering names the first bad entry.
pub async fn audit_tampering_is_detected(h: &Harness, how: Tampering) {
    for i in 0..3 {
        add(
            h,
            json!({"contact": {"first_name": format!("Имя{i}")}}),
            contract(),
        )
        .await;
    }
    assert_eq!(audit_len(h).await, 3);
    let sql = match how {
        Tampering::Edit => "UPDATE audit_log SET actor = 'test:someone-else' WHERE seq = 2",
        Tampering::Delete => "DELETE FROM audit_log WHERE seq = 2",
        Tampering::Insert => {
            "UPDATE audit_log SET seq = 4 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = 2;
             INSERT INTO audit_log (seq, at, actor, action, subject_id, categories, purpose, prev_hash, hash)
               SELECT 2, at, actor, 'read', subject_id, categories, purpose, prev_hash, hash FROM audit_log WHERE seq = 3"
        }
        Tampering::Reorder => {
            "UPDATE audit_log SET seq = -2 WHERE seq = 2;
             UPDATE audit_log SET seq = 2 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = -2"
        }
        Tampering::Truncate | Tampering::TruncateAndRewind => {
            "DELETE FROM audit_log WHERE seq = 3"
        }
    };
    h.tamper(sql).await;
    if matches!(how, Tampering::TruncateAndRewind) {
        let second = h.store().audit_page(1, 1).await.unwrap();
        h.rewind_key_store_anchor(2, &second[0].hash).await;
        // The database alone now tells a consistent story...
        let without_head = h.reopen(h.master.clone()).await.unwrap();
        assert_eq!(without_head.verify_audit().await.unwrap().entries, 2);
        assert!(h.head_file().exists());
    }
    // ...but not to a server that keeps its head outside it.
    match h.app.verify_audit().await {
        Err(CoreError::Tampered(brk)) => {
            let expected = match how {
                Tampering::Truncate | Tampering::TruncateAndRewind => 3,
                _ => 2,
            };
            assert_eq!(brk.seq, expected, "{}", brk.reason);
            if matches!(how, Tampering::TruncateAndRewind) {
                assert!(brk.reason.contains("head file"), "{}", brk.reason);
            }
        }
        other => panic!("tampering went unnoticed: {other:?}"),
    }
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

/// Accounts: registration takes exactly the consents ticked, sign-in never tells a wrong
/// password from an unknown email, sessions live on the server and end on sign-out, password
/// change and expiry, and closing the account ends the contract.
pub async fn accounts_open_sign_in_change_password_and_close(h: &Harness) {
    use vintrova_core::accounts::AuthError;
    let actor = operator();
    let password = "Шымкент-2025-пароль";
    let values = h.app.parse_json(&aigerim()).unwrap();
    // Contact data rests on consent, so an account needs it; the form says so before.
    let unconsenting = h
        .app
        .register(
            &actor,
            values.clone(),
            password,
            vec!["notifications".into()],
        )
        .await;
    assert!(
        matches!(&unconsenting, Err(CoreError::Invalid(e)) if e.problems[0].field == "consents" && e.problems[0].problem.contains("contact_data")),
        "{unconsenting:?}"
    );
    let ticked = crate::ticked(h.app.policy(), &values, vec!["notifications".into()]);
    assert_eq!(
        ticked,
        [
            "contact_data",
            "notifications",
            "phone_number",
            "professional_profile"
        ]
    );
    let id = h
        .app
        .register(&actor, values.clone(), password, ticked)
        .await
        .unwrap();
    let consents = h.copy(id).await.unwrap().consents;
    assert_eq!(consents.len(), 4, "only the ticked consents are recorded");
    assert!(
        h.app.read(&actor, id, "personalization").await.is_ok(),
        "the account is the contract"
    );
    assert!(matches!(
        h.app.read(&actor, id, "learning_analytics").await,
        Err(CoreError::Refused(Refusal::NoConsent { .. }))
    ));

    let again = h
        .app
        .register(
            &actor,
            values.clone(),
            "another-password",
            crate::ticked(&crate::shipped_policy(), &values, vec![]),
        )
        .await;
    assert!(
        matches!(&again, Err(CoreError::Invalid(e)) if e.problems[0].field == "contact.email"),
        "{again:?}"
    );
    assert!(matches!(
        h.app.register(&actor, h.app.parse_json(&json!({"contact": {"email": "short@mail.kz"}})).unwrap(), "short", vec!["contact_data".into()]).await,
        Err(CoreError::Invalid(e)) if e.problems[0].field == "password"
    ));

    let wrong = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "not the password")
        .await
        .unwrap_err();
    let unknown = h.app.sign_in("nobody@mail.kz", password).await.unwrap_err();
    assert_eq!(
        wrong.to_string(),
        unknown.to_string(),
        "no hint whether an email is registered"
    );
    assert!(matches!(
        wrong,
        CoreError::Auth(AuthError::WrongCredentials)
    ));

    let first = h
        .app
        .sign_in("AIGERIM.Nurlanova.test@почта.kz", password)
        .await
        .unwrap();
    let second = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", password)
        .await
        .unwrap();
    assert_eq!(h.app.session(&first.token).await.unwrap(), id);

    assert!(matches!(
        h.app
            .change_password(&actor, &first.token, "wrong current", "новый-пароль-2026")
            .await,
        Err(CoreError::Auth(AuthError::WrongCredentials))
    ));
    h.app
        .change_password(&actor, &first.token, password, "новый-пароль-2026")
        .await
        .unwrap();
    assert!(
        h.app.session(&first.token).await.is_ok(),
        "the session that changed it stays"
    );
    assert!(
        matches!(
            h.app.session(&second.token).await,
            Err(CoreError::Auth(AuthError::NoSession))
        ),
        "every other session ends"
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", password)
            .await
            .is_err()
    );
    let third = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-2026")
        .await
        .unwrap();

    h.app.sign_out(&first.token).await.unwrap();
    assert!(h.app.session(&first.token).await.is_err());
    h.clock.advance(SignedDuration::from_hours(24 * 31));
    assert!(
        h.app.session(&third.token).await.is_err(),
        "sessions expire"
    );

    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, "новый-пароль-2026".as_bytes())
            && !contains(&stored, third.token.as_bytes())
    );

    let fourth = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-2026")
        .await
        .unwrap();
    h.app.close_account(&actor, id).await.unwrap();
    assert!(
        h.app.session(&fourth.token).await.is_err(),
        "closing ends every session"
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-2026")
            .await
            .is_err()
    );
    assert!(matches!(
        h.app.read(&actor, id, "personalization").await,
        Err(CoreError::Refused(Refusal::ContractNotInForce { .. }))
    ));
    let receipt = h.app.erase(&actor, id).await.unwrap();
    assert!(receipt.subject_removed);
    let actions: Vec<String> = h
        .store()
        .audit_page(0, 200)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    for action in ["open_account", "change_password", "close_account"] {
        assert!(actions.iter().any(|a| a == action), "{action} is audited");
    }
}

/// Orders and payments: the provider confirms by signed callback, failures and refunds are
/// records too, nothing is rewritten, and the payment records outlive an erasure for the five
/// years tax law requires.
pub async fn payments_are_confirmed_by_signed_callbacks_and_kept_five_years(h: &Harness) {
    use vintrova_core::payments::{DevProvider, OrderState, Outcome};
    let actor = operator();
    let provider = DevProvider::new([7u8; 32]);
    let forger = DevProvider::new([8u8; 32]);
    let id = add(h, aigerim(), contract()).await;

    let created = h
        .app
        .create_order(&actor, &provider, id, 4_500_000, "kzt", "card")
        .await
        .unwrap();
    assert_eq!(created.order.state, OrderState::Pending);
    let export = h.copy(id).await.unwrap();
    let reference = export
        .values
        .iter()
        .find(|v| v.field == "payment.provider_reference")
        .and_then(|v| v.value.as_str())
        .unwrap()
        .to_string();
    assert!(created.checkout_url.contains(&reference));

    let (body, _) = provider.callback(
        &reference,
        Outcome::Succeeded {
            card_last4: Some("4242".into()),
        },
    );
    let (_, forged) = forger.callback(
        &reference,
        Outcome::Succeeded {
            card_last4: Some("4242".into()),
        },
    );
    assert!(matches!(
        h.app.payment_callback(&provider, &body, &forged).await,
        Err(CoreError::Provider(_))
    ));
    assert_eq!(
        h.app
            .record::<vintrova_core::payments::Order>(created.order.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        OrderState::Pending
    );

    let (body, signature) = provider.callback(
        &reference,
        Outcome::Succeeded {
            card_last4: Some("4242".into()),
        },
    );
    assert_eq!(
        h.app
            .payment_callback(&provider, &body, &signature)
            .await
            .unwrap()
            .state,
        OrderState::Paid
    );
    let events = h.store().events(id).await.unwrap().len();
    h.app
        .payment_callback(&provider, &body, &signature)
        .await
        .unwrap();
    assert_eq!(
        h.store().events(id).await.unwrap().len(),
        events,
        "a repeated callback records nothing"
    );

    assert_eq!(
        h.app
            .refund_order(&actor, &provider, created.order.id)
            .await
            .unwrap()
            .state,
        OrderState::RefundPending
    );
    let (body, signature) = provider.callback(&reference, Outcome::Refunded);
    assert_eq!(
        h.app
            .payment_callback(&provider, &body, &signature)
            .await
            .unwrap()
            .state,
        OrderState::Refunded
    );
    let statuses: Vec<String> = h
        .copy(id)
        .await
        .unwrap()
        .values
        .into_iter()
        .filter(|v| v.field == "payment.status")
        .map(|v| v.value.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        statuses,
        ["pending", "succeeded", "refunded"],
        "the history of the payment, each a record"
    );

    let failing = h
        .app
        .create_order(&actor, &provider, id, 990_000, "KZT", "kaspi")
        .await
        .unwrap();
    let other_ref = {
        let export = h.copy(id).await.unwrap();
        export
            .values
            .iter()
            .filter(|v| v.field == "payment.provider_reference")
            .map(|v| v.value.as_str().unwrap().to_string())
            .find(|r| *r != reference)
            .unwrap()
    };
    let (body, signature) = provider.callback(&other_ref, Outcome::Failed);
    assert_eq!(
        h.app
            .payment_callback(&provider, &body, &signature)
            .await
            .unwrap()
            .state,
        OrderState::Failed
    );
    assert!(matches!(
        h.app
            .refund_order(&actor, &provider, failing.order.id)
            .await,
        Err(CoreError::Invalid(_))
    ));

    let no_contract = add(
        h,
        json!({"contact": {"first_name": "Без договора"}}),
        vec![],
    )
    .await;
    assert!(matches!(
        h.app
            .create_order(&actor, &provider, no_contract, 100, "KZT", "card")
            .await,
        Err(CoreError::Refused(Refusal::ContractNotInForce { .. }))
    ));

    let receipt = h.app.erase(&actor, id).await.unwrap();
    assert_eq!(receipt.kept.len(), 1);
    assert_eq!(receipt.kept[0].rule, "financial");
    assert_eq!(
        h.app
            .records::<vintrova_core::payments::Order>(id)
            .await
            .unwrap()
            .len(),
        2,
        "orders stay with their records"
    );
    h.clock
        .advance(SignedDuration::from_hours(24 * 365 * 5 + 48));
    let receipt = h.app.erase(&actor, id).await.unwrap();
    assert!(receipt.subject_removed);
    assert_eq!(receipt.deleted.records, 2);
    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, reference.as_bytes()),
        "the provider reference is never stored in clear"
    );
}

/// Learning: a catalog with levels, enrollment under the contract, progress and completion
/// (which starts the 3-year clock), rosters by course, and recommendations by level that a
/// restriction stops with its reason.
pub async fn learning_enrolls_tracks_progress_and_recommends_by_level(h: &Harness) {
    use vintrova_core::learning::{EnrollmentState, Level, Offering, OfferingKind};
    let actor = operator();
    let offer = |id: &str, kind, level| Offering {
        id: id.into(),
        kind,
        level,
        title_ru: format!("Курс {id}"),
        title_kk: format!("Курс {id}"),
        title_en: format!("Course {id}"),
    };
    for o in [
        offer("neural-networks-101", OfferingKind::Course, Level::Beginner),
        offer("python-for-ml", OfferingKind::Course, Level::Beginner),
        offer("transformers", OfferingKind::Course, Level::Intermediate),
        offer("llm-webinar", OfferingKind::Webinar, Level::Intermediate),
        offer(
            "mlops-consulting",
            OfferingKind::Consultation,
            Level::Advanced,
        ),
    ] {
        h.app.add_offering(&o).await.unwrap();
    }
    assert!(matches!(
        h.app
            .add_offering(&offer("Bad Slug!", OfferingKind::Course, Level::Beginner))
            .await,
        Err(CoreError::Invalid(_))
    ));
    assert_eq!(h.app.catalog().await.unwrap().len(), 5);

    let beginner = add(
        h,
        json!({"contact": {"first_name": "Дана"}, "education": {"level": "Бакалавриат"}}),
        contract(),
    )
    .await;
    let recs = h.app.recommendations(&actor, beginner).await.unwrap();
    assert_eq!(recs.level, Level::Beginner);
    let ids: Vec<&str> = recs.offerings.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["neural-networks-101", "python-for-ml"]);

    let enrollment = h
        .app
        .enroll(&actor, beginner, "neural-networks-101", "course_enrollment")
        .await
        .unwrap();
    assert!(matches!(
        h.app
            .enroll(&actor, beginner, "no-such-course", "course_enrollment")
            .await,
        Err(CoreError::Invalid(_))
    ));
    let after_enrolling = h.app.recommendations(&actor, beginner).await.unwrap();
    assert_eq!(
        after_enrolling.offerings.len(),
        1,
        "what one already takes is not recommended"
    );

    h.clock.advance(SignedDuration::from_hours(24 * 30));
    h.app
        .record_progress(&actor, enrollment.id, 60)
        .await
        .unwrap();
    assert!(matches!(
        h.app.record_progress(&actor, enrollment.id, 140).await,
        Err(CoreError::Invalid(_))
    ));
    h.clock.advance(SignedDuration::from_hours(24 * 30));
    let done = h.app.complete(&actor, enrollment.id).await.unwrap();
    assert_eq!(done.state, EnrollmentState::Completed);
    assert_eq!(done.completed_at, Some(h.app.now()));
    assert!(
        matches!(
            h.app.record_progress(&actor, enrollment.id, 10).await,
            Err(CoreError::Invalid(_))
        ),
        "completion is final"
    );
    assert_eq!(
        h.app.recommendations(&actor, beginner).await.unwrap().level,
        Level::Intermediate,
        "a completed course moves the level up"
    );

    assert_eq!(
        h.app
            .roster("neural-networks-101")
            .await
            .unwrap()
            .iter()
            .map(|e| e.subject)
            .collect::<Vec<_>>(),
        [beginner]
    );
    assert!(h.app.roster("transformers").await.unwrap().is_empty());

    let export = h.copy(beginner).await.unwrap();
    let progress: Vec<i64> = export
        .values
        .iter()
        .filter(|v| v.field == "education.progress")
        .map(|v| v.value.as_i64().unwrap())
        .collect();
    assert_eq!(
        progress,
        [0, 60, 100],
        "progress is a history, never rewritten"
    );
    let course = export
        .values
        .iter()
        .find(|v| v.field == "education.course")
        .unwrap();
    assert_eq!(course.retention.rule, "graduate");
    assert_eq!(
        course.retention.delete_after.unwrap().to_string(),
        "2028-04-30T04:00:00Z",
        "three years after completion"
    );

    let no_contract = add(h, json!({"contact": {"first_name": "Гость"}}), vec![]).await;
    assert!(matches!(
        h.app
            .enroll(&actor, no_contract, "python-for-ml", "webinar_signup")
            .await,
        Err(CoreError::Refused(Refusal::ContractNotInForce { .. }))
    ));
    h.app
        .record_basis(
            &actor,
            beginner,
            BasisEventKind::Restricted,
            None,
            "staff_entry",
        )
        .await
        .unwrap();
    assert!(matches!(
        h.app.recommendations(&actor, beginner).await,
        Err(CoreError::Refused(Refusal::Restricted))
    ));

    let receipt = h.app.erase(&actor, beginner).await.unwrap();
    assert_eq!(receipt.deleted.records, 1);
    assert!(
        h.app
            .roster("neural-networks-101")
            .await
            .unwrap()
            .is_empty()
    );
}

/// Support: tickets with messages from the person and from staff, sealed; closing starts the
/// two-year clock of the support rule for that ticket's messages.
pub async fn support_tickets_keep_messages_sealed_until_two_years_after_closing(h: &Harness) {
    use vintrova_core::support::{Author, TicketState};
    let actor = operator();
    let id = add(h, aigerim(), contract()).await;
    let question = "Не открывается ноутбук в уроке 3.\nБраузер: Firefox, ошибка 502.";
    let ticket = h
        .app
        .open_ticket(&actor, id, "Ноутбук не открывается", question)
        .await
        .unwrap();
    assert_eq!(ticket.state, TicketState::Open);
    let answered = h
        .app
        .reply(
            &actor,
            ticket.id,
            Author::Staff,
            "Исправили, попробуйте снова.",
        )
        .await
        .unwrap();
    assert_eq!(answered.state, TicketState::Answered);
    h.app
        .reply(&actor, ticket.id, Author::Person, "Работает, спасибо!")
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_hours(24));
    let closed = h.app.close_ticket(&actor, ticket.id).await.unwrap();
    assert_eq!(closed.closed_at, Some(h.app.now()));
    assert!(matches!(
        h.app
            .reply(&actor, ticket.id, Author::Person, "ещё вопрос")
            .await,
        Err(CoreError::Invalid(_))
    ));

    let export = h.copy(id).await.unwrap();
    let messages: Vec<(&str, &str)> = export
        .values
        .iter()
        .filter(|v| v.field == "contact.support_message")
        .map(|v| (v.source.as_str(), v.value.as_str().unwrap()))
        .collect();
    assert_eq!(
        messages,
        [
            ("support_request", question),
            ("staff_entry", "Исправили, попробуйте снова."),
            ("support_request", "Работает, спасибо!")
        ]
    );
    let first = export
        .values
        .iter()
        .find(|v| v.field == "contact.support_message")
        .unwrap();
    assert_eq!(first.retention.rule, "support");
    assert_eq!(
        first.retention.delete_after.unwrap().to_string(),
        "2027-03-02T04:00:00Z",
        "two years after closing"
    );
    let phone = export
        .values
        .iter()
        .find(|v| v.field == "contact.phone")
        .unwrap();
    assert_eq!(
        phone.retention.rule, "active_user",
        "the rest of the contact data follows the account"
    );

    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, "Работает, спасибо".as_bytes())
            && !contains(&stored, "ошибка 502".as_bytes())
    );
    let stranger = add(h, json!({"contact": {"first_name": "Гость"}}), vec![]).await;
    assert!(matches!(
        h.app.open_ticket(&actor, stranger, "Вопрос", "Текст").await,
        Err(CoreError::Refused(Refusal::ContractNotInForce { .. }))
    ));
    assert_eq!(h.app.erase(&actor, id).await.unwrap().deleted.records, 1);
}

/// Notices reach only people who consented to them and did not object to direct marketing;
/// each one sent is recorded and audited, each one not sent is counted by its rule.
pub async fn notices_go_only_where_consent_holds_and_no_objection(h: &Harness) {
    use vintrova_core::notifications::NoticeKind;
    let actor = operator();
    let consenting = |purposes: &[&str]| {
        let c = consenting(purposes);
        async move {
            let values = h.app.parse_json(&json!({"contact": {"first_name": "Ученик", "email": format!("s{}@mail.kz", uuid::Uuid::now_v7().simple())}})).unwrap();
            h.app.add_subject(&operator(), values, c).await.unwrap()
        }
    };
    let yes = consenting(&["notifications"]).await;
    let no = consenting(&[]).await;
    let withdrawn = consenting(&["notifications"]).await;
    let objecting = consenting(&["notifications"]).await;
    h.app
        .record_consent(
            &actor,
            withdrawn,
            "notifications",
            ConsentAction::Withdrawn,
            Channel::Cabinet,
            None,
        )
        .await
        .unwrap();
    h.app
        .record_basis(
            &actor,
            objecting,
            BasisEventKind::Objected,
            Some("notifications".into()),
            "cabinet",
        )
        .await
        .unwrap();

    let report = h
        .app
        .notify_all(&actor, NoticeKind::CourseUpdate)
        .await
        .unwrap();
    assert_eq!(report.queued, 1);
    let counts: Vec<(&str, u64)> = report
        .not_sent
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        counts,
        [("consent_withdrawn", 1), ("no_consent", 1), ("objected", 1)]
    );
    assert_eq!(h.store().notices(yes).await.unwrap().len(), 1);
    for other in [no, withdrawn, objecting] {
        assert!(h.store().notices(other).await.unwrap().is_empty());
    }
    let notified: Vec<_> = h
        .store()
        .audit_page(0, 500)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.entry.action == "notify")
        .collect();
    assert_eq!(notified.len(), 1);
    assert_eq!(notified[0].entry.subject, Some(yes));
    assert_eq!(h.app.erase(&actor, yes).await.unwrap().deleted.notices, 1);
}

/// A password reset: the same answer for every address, one use within the hour, and every
/// session ends.
pub async fn password_reset_tokens_work_once_within_the_hour_and_tell_nothing(h: &Harness) {
    use vintrova_core::accounts::AuthError;
    let actor = operator();
    let values = h.app.parse_json(&aigerim()).unwrap();
    h.app
        .register(
            &actor,
            values.clone(),
            "первый-пароль-123",
            crate::ticked(&crate::shipped_policy(), &values, vec![]),
        )
        .await
        .unwrap();
    let session = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "первый-пароль-123")
        .await
        .unwrap();

    let unknown = h
        .app
        .request_password_reset(&actor, "nobody@mail.kz")
        .await
        .unwrap();
    let known = h
        .app
        .request_password_reset(&actor, "Aigerim.Nurlanova.Test@почта.kz")
        .await
        .unwrap();
    assert_eq!(
        unknown.token.len(),
        known.token.len(),
        "no hint whether an address is registered"
    );
    assert_eq!(unknown.expires_at, known.expires_at);
    let bad =
        |r: Result<(), CoreError>| matches!(r, Err(CoreError::Auth(AuthError::BadResetToken)));
    assert!(bad(h
        .app
        .reset_password(&actor, &unknown.token, "новый-пароль-456")
        .await));

    let expired = h
        .app
        .request_password_reset(&actor, "aigerim.nurlanova.test@почта.kz")
        .await
        .unwrap();
    h.app
        .reset_password(&actor, &known.token, "новый-пароль-456")
        .await
        .unwrap();
    assert!(
        bad(h
            .app
            .reset_password(&actor, &known.token, "третий-пароль-789")
            .await),
        "a token works once"
    );
    assert!(
        h.app.session(&session.token).await.is_err(),
        "every session ends"
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", "первый-пароль-123")
            .await
            .is_err()
    );
    assert!(
        h.app
            .sign_in("aigerim.nurlanova.test@почта.kz", "новый-пароль-456")
            .await
            .is_ok()
    );

    h.clock.advance(SignedDuration::from_mins(61));
    assert!(
        bad(h
            .app
            .reset_password(&actor, &expired.token, "третий-пароль-789")
            .await),
        "a token lasts an hour"
    );
    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, known.token.as_bytes()),
        "only the token's digest is stored"
    );
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

/// The outbox: messages are written with the change that causes them, sealed at rest, delivered
/// with retries; a worker that dies between sending and acknowledging loses its lease, and the
/// repeat carries the same Message-ID; delivered messages are purged.
pub async fn the_outbox_delivers_every_message_once_or_again_with_the_same_id(h: &Harness) {
    use vintrova_core::notifications::NoticeKind;
    use vintrova_core::outbox::{LEASE, Transport};
    let actor = operator();
    let mut people = Vec::new();
    for i in 0..4 {
        let values = h.app.parse_json(&json!({"contact": {"first_name": "Ученик", "email": format!("outbox.student{i}@mail.kz")}})).unwrap();
        people.push(
            h.app
                .add_subject(&actor, values, consenting(&["notifications"]))
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        h.app
            .notify_all(&actor, NoticeKind::CourseUpdate)
            .await
            .unwrap()
            .queued,
        4
    );
    let stored = h.every_stored_byte().await;
    assert!(
        !contains(&stored, b"outbox.student0@mail.kz"),
        "waiting messages are sealed"
    );

    // A worker claims two messages, sends them, and dies before acknowledging.
    let crashed = Recorder::default();
    let claimed = h.app.claim_outbox(2).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for entry in &claimed {
        crashed
            .send(&h.app.open_message(entry).unwrap())
            .await
            .unwrap();
    }
    // Another worker sees only the two unclaimed ones while the lease holds…
    let recorder = Recorder::default();
    assert_eq!(h.app.deliver(&recorder, 10).await.unwrap().sent, 2);
    // …and the rest once it has run out.
    h.clock.advance(LEASE + SignedDuration::from_secs(1));
    assert_eq!(h.app.deliver(&recorder, 10).await.unwrap().sent, 2);
    assert_eq!(
        h.app.deliver(&recorder, 10).await.unwrap().sent,
        0,
        "nothing is delivered twice by a live worker"
    );

    let delivered: Vec<(String, String)> = recorder
        .sent
        .lock()
        .unwrap()
        .iter()
        .map(|e| (e.message_id.clone(), e.to.clone()))
        .collect();
    let mut addresses: Vec<&str> = delivered.iter().map(|(_, to)| to.as_str()).collect();
    addresses.sort();
    assert_eq!(
        addresses,
        [
            "outbox.student0@mail.kz",
            "outbox.student1@mail.kz",
            "outbox.student2@mail.kz",
            "outbox.student3@mail.kz"
        ],
        "none is missing"
    );
    for repeat in crashed.sent.lock().unwrap().iter() {
        assert!(
            delivered
                .iter()
                .any(|(id, to)| *id == repeat.message_id && *to == repeat.to),
            "a repeat carries the same Message-ID"
        );
    }
    assert!(
        recorder.sent.lock().unwrap()[0].subject.contains("курсы"),
        "Russian by default"
    );

    // A failing server: retried with backoff, not lost; once delivered, the message is purged.
    let values = h
        .app
        .parse_json(&json!({"contact": {"email": "late.student@mail.kz"}}))
        .unwrap();
    let late = h
        .app
        .add_subject(&actor, values, consenting(&["notifications"]))
        .await
        .unwrap();
    h.app
        .notify(&actor, NoticeKind::NewFeature, &[late])
        .await
        .unwrap();
    let sealed = h.app.claim_outbox(10).await.unwrap()[0]
        .sealed
        .clone()
        .unwrap();
    assert!(
        contains(&h.every_stored_byte().await, &sealed),
        "the scan sees the sealed message"
    );
    h.clock.advance(LEASE + SignedDuration::from_secs(1));
    recorder
        .failing
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(h.app.deliver(&recorder, 10).await.unwrap().retried, 1);
    recorder
        .failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        h.app.deliver(&recorder, 10).await.unwrap().sent,
        0,
        "not before its backoff"
    );
    h.clock.advance(SignedDuration::from_mins(2));
    assert_eq!(h.app.deliver(&recorder, 10).await.unwrap().sent, 1);
    assert_eq!(
        h.store().outbox_counts().await.unwrap(),
        [("sent".to_string(), 5)]
    );
    assert!(
        !contains(&h.every_stored_byte().await, &sealed),
        "a delivered message is purged"
    );
}

/// Read the one-time code out of the message the outbox holds for the next delivery.
async fn code_from_outbox(h: &Harness) -> String {
    let claimed = h.app.claim_outbox(10).await.unwrap();
    let email = h.app.open_message(claimed.last().unwrap()).unwrap();
    h.clock
        .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
    email
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect()
}

/// Every right, from receipt to answer, with identity first and the rejection paths.
pub async fn every_right_is_answered_after_verification_within_thirty_days(h: &Harness) {
    use vintrova_core::requests::{
        Answer, AnswerChannel, Fulfilment, RequestState, VerificationError,
    };
    use vintrova_core::rights::RightKind;
    let actor = operator();
    let values = h.app.parse_json(&aigerim()).unwrap();
    let id = h
        .app
        .register(
            &actor,
            values.clone(),
            "пароль-для-запросов",
            crate::ticked(
                &crate::shipped_policy(),
                &values,
                vec!["notifications".into(), "learning_analytics".into()],
            ),
        )
        .await
        .unwrap();
    let session = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "пароль-для-запросов")
        .await
        .unwrap()
        .token;
    add(
        h,
        json!({"contact": {"first_name": "Студент-сосед", "email": "neighbour.student@mail.kz"}}),
        contract(),
    )
    .await;

    // Information, from the cabinet: the session is the verification.
    let info = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::Information,
            "Что вы обо мне храните?",
            AnswerChannel::Cabinet,
        )
        .await
        .unwrap();
    assert_eq!(info.state, RequestState::Verified);
    assert_eq!(
        info.due_on.to_string(),
        "2025-03-31",
        "30 days after receipt, in Almaty"
    );
    let again = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::Information,
            "Повторно",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    assert_eq!(
        again.id, info.id,
        "a duplicate merges into the open request"
    );
    let Answer::Information(answer) = h
        .app
        .fulfil(&actor, info.id, Fulfilment::Information)
        .await
        .unwrap()
    else {
        panic!("information")
    };
    let contact = answer
        .categories
        .iter()
        .find(|c| c.category == "contact")
        .unwrap();
    assert!(
        contact.purposes.contains(&"notifications".to_string())
            && contact.retention_rule == "active_user"
    );
    assert!(
        matches!(
            h.app.fulfil(&actor, info.id, Fulfilment::Information).await,
            Err(CoreError::Invalid(_))
        ),
        "answered once"
    );

    // Access, by letter: nothing before the code comes back, and the code has limits.
    let access = h
        .app
        .request_by_email(
            &actor,
            "Aigerim.Nurlanova.Test@почта.kz",
            RightKind::Access,
            "Прошу копию данных",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    assert_eq!(access.state, RequestState::AwaitingVerification);
    assert!(
        matches!(
            h.app.fulfil(&actor, access.id, Fulfilment::Access).await,
            Err(CoreError::Invalid(_))
        ),
        "nothing disclosed before verification"
    );
    let code = code_from_outbox(h).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        h.app.verify_request(&actor, access.id, wrong).await,
        Err(CoreError::Verification(VerificationError::WrongCode(4)))
    ));
    h.app
        .verify_request(&actor, access.id, &code)
        .await
        .unwrap();
    let Answer::Access { copy, download } = h
        .app
        .fulfil(&actor, access.id, Fulfilment::Access)
        .await
        .unwrap()
    else {
        panic!("access")
    };
    let others = serde_json::to_string(&copy).unwrap();
    assert!(
        !others.contains("Студент-сосед") && !others.contains("neighbour.student@mail.kz"),
        "nothing of anyone else"
    );
    let downloaded = h.app.download(&download.token).await.unwrap();
    assert_eq!(
        downloaded["values"].as_array().unwrap().len(),
        copy.values.len(),
        "the link gives the same copy"
    );
    let answer_mail = h
        .app
        .claim_outbox(10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| h.app.open_message(&m).unwrap())
        .find(|e| e.body.contains(&download.token));
    assert!(
        answer_mail.is_some(),
        "the answer by email carries the link"
    );
    h.clock
        .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
    assert!(copy.values.iter().any(|v| v.value == json!("Айгерімжан")));
    assert!(
        copy.values
            .iter()
            .all(|v| copy.subject == id && !v.field.is_empty())
    );

    // An unknown address gets the same answer and the same work: a code goes out.
    let before = h.store().outbox_counts().await.unwrap();
    let stranger = h
        .app
        .request_by_email(
            &actor,
            "nobody.here@mail.kz",
            RightKind::Access,
            "Копия",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    assert_eq!(stranger.state, RequestState::AwaitingVerification);
    assert_ne!(stranger.subject, id);
    let after = h.store().outbox_counts().await.unwrap();
    assert_ne!(
        before, after,
        "a code message was queued for the unknown address too"
    );
    for _ in 0..5 {
        let _ = h.app.verify_request(&actor, stranger.id, "999999").await;
    }
    assert!(
        matches!(
            h.app.verify_request(&actor, stranger.id, "999999").await,
            Err(CoreError::Verification(VerificationError::Spent))
        ),
        "five tries, then spent"
    );

    // A rejection carries its reason, sealed.
    let rejected = h
        .app
        .request_by_email(
            &actor,
            "aigerim.nurlanova.test@почта.kz",
            RightKind::Restriction,
            "Ограничьте",
            AnswerChannel::Post,
        )
        .await
        .unwrap();
    let rejected = h
        .app
        .reject_request(
            &actor,
            rejected.id,
            "Не удалось подтвердить личность заявителя",
        )
        .await
        .unwrap();
    assert_eq!(rejected.state, RequestState::Rejected);
    assert!(
        !contains(
            &h.every_stored_byte().await,
            "Не удалось подтвердить".as_bytes()
        ),
        "the reason is sealed"
    );

    // Rectification, restriction, withdrawal and objection, from the cabinet.
    let fix = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::Rectification,
            "Исправьте место работы",
            AnswerChannel::Cabinet,
        )
        .await
        .unwrap();
    assert!(
        matches!(
            h.app.fulfil(&actor, fix.id, Fulfilment::Erasure).await,
            Err(CoreError::Invalid(_))
        ),
        "the fulfilment must match the right"
    );
    let corrected = h
        .app
        .parse_json(&json!({"professional": {"employer": "Vintrova"}}))
        .unwrap();
    h.app
        .fulfil(&actor, fix.id, Fulfilment::Rectification(corrected))
        .await
        .unwrap();
    let withdrawal = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::ConsentWithdrawal,
            "Отзываю согласия",
            AnswerChannel::Cabinet,
        )
        .await
        .unwrap();
    let Answer::ConsentWithdrawal { withdrawn } = h
        .app
        .fulfil(&actor, withdrawal.id, Fulfilment::ConsentWithdrawal(None))
        .await
        .unwrap()
    else {
        panic!("withdrawal")
    };
    assert_eq!(withdrawn, ["learning_analytics", "notifications"]);
    let objection = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::MarketingObjection,
            "Не присылайте рассылки",
            AnswerChannel::Cabinet,
        )
        .await
        .unwrap();
    h.app
        .fulfil(&actor, objection.id, Fulfilment::MarketingObjection)
        .await
        .unwrap();
    assert!(matches!(
        h.app.read(&actor, id, "notifications").await,
        Err(CoreError::Refused(Refusal::Objected { .. }))
    ));
    let restriction = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::Restriction,
            "Ограничьте обработку",
            AnswerChannel::Cabinet,
        )
        .await
        .unwrap();
    h.app
        .fulfil(&actor, restriction.id, Fulfilment::Restriction)
        .await
        .unwrap();
    assert!(matches!(
        h.app.read(&actor, id, "personalization").await,
        Err(CoreError::Refused(Refusal::Restricted))
    ));

    // The queue lists what is open, most urgent first.
    let queue = h.app.request_queue().await.unwrap();
    assert_eq!(
        queue.iter().map(|r| r.request.id).collect::<Vec<_>>(),
        [stranger.id]
    );

    h.clock.advance(SignedDuration::from_hours(24 * 8));
    assert!(
        matches!(h.app.download(&download.token).await, Err(CoreError::Gone)),
        "download links expire"
    );

    // Erasure: the request is answered, then the person is gone.
    let erasure = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::Erasure,
            "Удалите всё",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let Answer::Erasure(receipt) = h
        .app
        .fulfil(&actor, erasure.id, Fulfilment::Erasure)
        .await
        .unwrap()
    else {
        panic!("erasure")
    };
    assert!(receipt.subject_removed);
    assert!(matches!(
        h.copy(id).await,
        Err(CoreError::UnknownSubject(_))
    ));
    let actions: Vec<String> = h
        .store()
        .audit_page(0, 500)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.entry.action)
        .collect();
    // The erasure's answer, its signed receipt, still reaches the person: it was written with
    // the erasure, from the address read before it went.
    h.clock
        .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
    let recorder = Recorder::default();
    h.app.deliver(&recorder, 100).await.unwrap();
    let sent = recorder.sent.lock().unwrap().clone();
    assert!(
        sent.iter()
            .any(|e| e.to == "aigerim.nurlanova.test@почта.kz" && e.attachment.is_some()),
        "the answer to the erasure request"
    );
    assert!(
        sent.iter()
            .any(|e| e.body.contains("(information)") && e.body.contains("2025-03-31")),
        "an acknowledgement with the due date"
    );
    for action in ["receive_request", "verify_request", "close_request"] {
        assert!(actions.iter().any(|a| a == action), "{action} is audited");
    }
}

/// Staff are reminded at the configured points before a deadline and when it passes, once per
/// point, in messages that name the request and never the person.
pub async fn staff_are_reminded_before_deadlines_once_per_point(h: &Harness) {
    use vintrova_core::requests::AnswerChannel;
    use vintrova_core::rights::RightKind;
    let actor = operator();
    let values = h.app.parse_json(&aigerim()).unwrap();
    h.app
        .register(
            &actor,
            values.clone(),
            "пароль-для-напоминаний",
            crate::ticked(&crate::shipped_policy(), &values, vec![]),
        )
        .await
        .unwrap();
    let session = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", "пароль-для-напоминаний")
        .await
        .unwrap()
        .token;
    let request = h
        .app
        .request_in_cabinet(
            &actor,
            &session,
            RightKind::Access,
            "Копию, пожалуйста",
            AnswerChannel::Cabinet,
        )
        .await
        .unwrap();
    let points = [7, 3, 1];
    assert_eq!(
        h.app.remind_staff(&points).await.unwrap(),
        0,
        "30 days left"
    );
    h.clock.advance(SignedDuration::from_hours(24 * 24));
    assert_eq!(
        h.app.remind_staff(&points).await.unwrap(),
        1,
        "6 days left: the 7-day reminder"
    );
    assert_eq!(
        h.app.remind_staff(&points).await.unwrap(),
        0,
        "once per point"
    );
    h.clock.advance(SignedDuration::from_hours(24 * 4));
    assert_eq!(
        h.app.remind_staff(&points).await.unwrap(),
        1,
        "2 days left: the 3-day reminder"
    );
    h.clock.advance(SignedDuration::from_hours(24 * 3));
    let queue = h.app.request_queue().await.unwrap();
    assert!(queue[0].overdue && queue[0].days_left < 0);
    assert_eq!(h.app.remind_staff(&points).await.unwrap(), 1, "overdue");

    let recorder = Recorder::default();
    h.app.deliver(&recorder, 50).await.unwrap();
    let reminders: Vec<_> = recorder
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.message_id.starts_with("<reminder-"))
        .cloned()
        .collect();
    assert_eq!(reminders.len(), 3);
    for r in &reminders {
        assert_eq!(
            r.to, "info@vintrova.com",
            "reminders go to the data protection service"
        );
        assert!(r.subject.contains(&request.id.to_string()));
        assert!(
            !r.body.contains("aigerim") && !r.body.contains("Айгер"),
            "reminders never name the person"
        );
    }
}
