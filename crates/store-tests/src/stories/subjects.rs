//! A person's data from collection to erasure: sealed, found, corrected, copied, erased, and
//! nothing left in clear or undeclared.

use super::*;

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

/// R8.1 with issue 24: an erasure plans from its events' heads grouped by class — the newest
/// payment says how long the payments stay, not the first one planned.
pub async fn erasure_keeps_payments_until_the_newest_ones_tax_years_end(h: &Harness) {
    let mut doc = aigerim();
    doc["payment"] = json!({"amount": 4_500_000, "currency": "kzt", "method": "card", "card_last4": "4242", "provider_reference": "KSP-2025-000187"});
    let id = add(h, doc, contract()).await;
    // A year on, in the next tax year, she pays again.
    h.clock.advance(SignedDuration::from_hours(24 * 365));
    let payment = h
        .app
        .parse_json(&json!({"payment": {"amount": 1_200_000, "currency": "kzt", "method": "card", "card_last4": "4242", "provider_reference": "KSP-2026-000311"}}))
        .unwrap();
    h.app
        .record_events(&operator(), id, "payments", payment, "staff_entry")
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_hours(24 * 30));
    let receipt = h.app.erase(&operator(), id).await.unwrap();
    assert_eq!(receipt.kept.len(), 1, "{:?}", receipt.kept);
    assert_eq!(
        receipt.kept[0].until.unwrap().to_string(),
        "2031-12-31T19:00:00Z",
        "five years after the end of the newest payment's tax year (2026), in Almaty"
    );
    assert_eq!(
        h.copy(id).await.unwrap().values.len(),
        10,
        "both payments stay whole"
    );
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
        kept.until.unwrap().to_string(),
        "2030-12-31T19:00:00Z",
        "five years after the end of the payment's tax year (2025), in Almaty"
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
            until: kept.until,
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
    // Issue 21 (item 2): what stays opens only for the duty that keeps it — no purpose of the
    // policy reads it any more (the contract ended with the erasure), and the tax rule's duty
    // opens the payment records and nothing else.
    for purpose in h.app.policy().purposes.clone() {
        let view = h.app.read(&operator(), id, &purpose.key).await;
        assert!(
            !view
                .as_ref()
                .is_ok_and(|v| !v.values.is_empty() || !v.events.is_empty()),
            "{} still reads kept data: {view:?}",
            purpose.key
        );
    }
    use vintrova_core::duties::{DutyView, StaffDuty};
    let DutyView::View(kept_view) = h
        .app
        .read_for_duty(&operator(), id, StaffDuty::KeptByLaw("financial".into()))
        .await
        .unwrap()
    else {
        panic!("a view of the kept categories");
    };
    assert!(!kept_view.events.is_empty() || !kept_view.values.is_empty());
    assert!(
        kept_view
            .values
            .keys()
            .chain(kept_view.events.iter().flat_map(|e| e.keys()))
            .all(|field| field.starts_with("payment.")),
        "{kept_view:?}"
    );
    assert!(matches!(
        h.app
            .read_for_duty(&operator(), id, StaffDuty::KeptByLaw("support".into()))
            .await,
        Err(CoreError::Invalid(_))
    ));

    // Five years after the payment's instant the tax period's clock still runs.
    h.clock.set("2030-03-01T04:00:01Z".parse().unwrap());
    let receipt = h.app.erase(&operator(), id).await.unwrap();
    assert!(!receipt.subject_removed && receipt.kept.len() == 1);
    h.clock.set("2030-12-31T19:00:01Z".parse().unwrap());
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

/// Issue 19: two erasures of one person at the same moment are one erasure: one audit entry,
/// one receipt kept, and whoever is answered gets that one receipt — never two different ones.
pub async fn two_erasures_of_one_person_at_once_are_one_erasure_with_one_receipt(h: &Harness) {
    let actor = operator();
    let id = add(h, aigerim(), contract()).await;
    let (a, b) = tokio::join!(h.app.erase(&actor, id), h.app.erase(&actor, id));
    let answered: Vec<_> = [a, b].into_iter().filter_map(Result::ok).collect();
    assert!(!answered.is_empty(), "one of them erased");
    assert!(
        answered.iter().all(|r| r.signed == answered[0].signed),
        "two different receipts for one erasure"
    );
    let erasures = h
        .store()
        .audit_of(id)
        .await
        .unwrap()
        .iter()
        .filter(|r| r.entry.action == "erase")
        .count();
    assert_eq!(erasures, 1);
    let kept: i64 = match h.raw_pool() {
        crate::RawPool::Sqlite(p) => sqlx::query_scalar("SELECT count(*) FROM erasure_receipts")
            .fetch_one(p)
            .await
            .unwrap(),
        crate::RawPool::Postgres(p) => sqlx::query_scalar("SELECT count(*) FROM erasure_receipts")
            .fetch_one(p)
            .await
            .unwrap(),
    };
    assert_eq!(kept, 1, "one receipt kept");
    assert!(
        h.app
            .issued_receipt(&answered[0].signed.text)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        h.app.erase(&actor, id).await,
        Err(CoreError::UnknownSubject(_))
    ));
}

/// Issue 20: one address, one person. An address another person holds cannot be taken — not
/// by rectification, not by a new person, not by registering — however it is written (Unicode
/// or punycode, any case); a look-up by either spelling finds its one holder; and the store's
/// own index refuses a second holder that got past core's check.
pub async fn one_address_is_one_person_however_written_and_wherever_changed(h: &Harness) {
    let actor = operator();
    let holder = add(
        h,
        json!({"contact": {"first_name": "Жанар", "email": "zhanar@пример.kz"}}),
        contract(),
    )
    .await;
    let other = add(
        h,
        json!({"contact": {"first_name": "Тимур", "email": "timur@mail.kz"}}),
        contract(),
    )
    .await;
    let taken = |r: Result<(), CoreError>| {
        matches!(r, Err(CoreError::Invalid(i))
            if i.problems[0].field == "contact.email"
            && i.problems[0].problem.contains("another account holds it"))
    };
    for spelling in ["Zhanar@XN--E1AFMKFD.KZ", "zhanar@ПРИМЕР.kz"] {
        let values = h
            .app
            .parse_json(&json!({"contact": {"email": spelling}}))
            .unwrap();
        assert!(
            taken(
                h.app
                    .update_subject(&actor, other, values.clone(), "staff_entry")
                    .await
            ),
            "rectification took {spelling}"
        );
        assert!(
            taken(
                h.app
                    .add_subject(&actor, values.clone(), consenting(&[]))
                    .await
                    .map(|_| ())
            ),
            "a new person took {spelling}"
        );
        let ticked = crate::ticked(h.app.policy(), &values, vec![]);
        // The holder has no account: registering their address opens none until it is
        // proven, and then on the holder (`a_letter_writer_registers_by_proving_…`).
        assert!(
            matches!(
                h.app
                    .register(&actor, values, "Шымкент-2025-пароль", ticked)
                    .await,
                Ok(vintrova_core::accounts::Registered::AddressToProve(_))
            ),
            "registration took {spelling}"
        );
        assert_eq!(
            h.app.find(&actor, "contact.email", spelling).await.unwrap(),
            vec![holder]
        );
    }
    // The holder may write their own address again, in any spelling.
    let own = h
        .app
        .parse_json(&json!({"contact": {"email": "ZHANAR@xn--e1afmkfd.kz"}}))
        .unwrap();
    h.app
        .update_subject(&actor, holder, own, "staff_entry")
        .await
        .unwrap();

    // Past core (a race, or a second server), the store refuses the second holder itself.
    let digest = h
        .vault()
        .blind_index()
        .digest("contact.email", "zhanar@пример.kz")
        .to_vec();
    let sealer = vintrova_core::audit::ChainSealer::new(h.vault().chain());
    let audit = vintrova_core::audit::AuditDraft {
        at: h.app.now(),
        actor: "test:race".into(),
        action: "update".into(),
        subject: Some(other),
        categories: vec![],
        purpose: None,
        stated_purpose: None,
        event: None,
    };
    let raced = h
        .store()
        .upsert_values(
            other,
            &[],
            &[vintrova_core::store::IndexEntry {
                field: "contact.email".into(),
                digest,
            }],
            &audit,
            &sealer,
        )
        .await;
    assert!(
        matches!(&raced, Err(vintrova_core::store::StoreError::Taken(f)) if f == "contact.email"),
        "{raced:?}"
    );
}

/// Issue 21 (R8.1): a legal hold binds erasure as it binds the sweep. What it covers is kept —
/// with no end while the hold has none — and the person's signed receipt names the hold by
/// its reference; everything else goes.
pub async fn a_legal_hold_binds_erasure_and_the_receipt_names_it(h: &Harness) {
    let actor = operator();
    let id = add(h, aigerim(), contract()).await;
    let reference = "Дело 2-1234/2026";
    h.app
        .place_hold(
            &actor,
            vintrova_core::holds::HoldScope {
                subject: Some(id),
                categories: vec!["professional".into()],
            },
            reference,
            None,
        )
        .await
        .unwrap();
    let receipt = h.app.erase(&actor, id).await.unwrap();
    assert!(
        !receipt.subject_removed,
        "the hold keeps the person's record"
    );
    let kept = receipt
        .kept
        .iter()
        .find(|k| k.rule == format!("hold:{reference}"))
        .expect("the held category is kept, by the hold");
    assert_eq!(kept.until, None, "until the hold is released");
    assert!(kept.fields.iter().any(|f| f.starts_with("professional.")));
    let signed =
        vintrova_core::receipts::verify(&receipt.signed.text, &h.vault().signing().public())
            .unwrap();
    assert!(
        signed
            .kept
            .iter()
            .any(|k| k.rule == format!("hold:{reference}") && k.categories == ["professional"])
    );
    assert!(signed.destroyed.contains(&"contact".to_string()));
    let values = h.store().values(id).await.unwrap();
    assert!(!values.is_empty() && values.iter().all(|v| v.field.starts_with("professional.")));
}

/// Issue 21 (R6.1): a partial erasure ends the relationship. What tax law keeps stays, but the
/// person's account closes, their sessions end and their contract ends — in the erasure's own
/// transaction — so nothing else carries on as if they were still a customer.
pub async fn a_partial_erasure_ends_the_relationship(h: &Harness) {
    let actor = operator();
    let values = h.app.parse_json(&aigerim()).unwrap();
    let ticked = crate::ticked(h.app.policy(), &values, vec![]);
    let password = "Шымкент-2025-пароль";
    let id = h
        .app
        .register(&actor, values, password, ticked)
        .await
        .unwrap()
        .opened()
        .expect("the account opens");
    let payment = h
        .app
        .parse_json(&json!({"payment": {"amount": 4_500_000, "currency": "kzt", "method": "card", "card_last4": "4242", "provider_reference": "KSP-2026-000901"}}))
        .unwrap();
    h.app
        .record_events(&actor, id, "payments", payment, "staff_entry")
        .await
        .unwrap();
    let session = h
        .app
        .sign_in("aigerim.nurlanova.test@почта.kz", password)
        .await
        .unwrap();
    assert!(h.app.contract_in_force_of(id).await.unwrap());

    let receipt = h.app.erase(&actor, id).await.unwrap();
    assert!(!receipt.subject_removed);
    assert_eq!(receipt.kept.len(), 1, "the payment, for tax law");
    assert!(h.app.session(&session.token).await.is_err(), "sessions end");
    assert!(
        !h.app.contract_in_force_of(id).await.unwrap(),
        "the contract ends"
    );
    let account = h.store().account(id).await.unwrap().unwrap();
    assert_eq!(
        account.status,
        vintrova_core::accounts::AccountStatus::Closed
    );
}

/// Issue 20: the migration that brings in "one address, one person" settles an address two
/// people held before it (taken by rectification) in favour of the oldest holder — look-ups
/// found the oldest before — and drops the younger's look-up entry, not their data.
pub async fn the_one_address_migration_keeps_the_oldest_holder(h: &Harness) {
    let older = add(
        h,
        json!({"contact": {"first_name": "Жанар", "email": "zhanar.old@mail.kz"}}),
        contract(),
    )
    .await;
    let younger = add(
        h,
        json!({"contact": {"first_name": "Тимур", "email": "timur.young@mail.kz"}}),
        contract(),
    )
    .await;
    // As before the rule: the younger holds the older's address too.
    h.tamper(
        "DROP INDEX blind_index_one_address;
         UPDATE blind_index SET digest = (
             SELECT b.digest FROM blind_index b WHERE b.field = 'contact.email'
             ORDER BY b.subject_id LIMIT 1)
         WHERE field = 'contact.email' AND subject_id = (
             SELECT b.subject_id FROM blind_index b WHERE b.field = 'contact.email'
             ORDER BY b.subject_id DESC LIMIT 1);",
    )
    .await;
    let actor = operator();
    assert_eq!(
        h.app
            .find(&actor, "contact.email", "zhanar.old@mail.kz")
            .await
            .unwrap(),
        vec![older, younger],
        "two holders before the migration"
    );
    h.tamper(match h.raw_pool() {
        crate::RawPool::Sqlite(_) => {
            include_str!("../../../store-sql/migrations/sqlite/0017_one_address.sql")
        }
        crate::RawPool::Postgres(_) => {
            include_str!("../../../store-sql/migrations/postgres/0018_one_address.sql")
        }
    })
    .await;
    assert_eq!(
        h.app
            .find(&actor, "contact.email", "zhanar.old@mail.kz")
            .await
            .unwrap(),
        vec![older]
    );
    assert!(
        !h.store().values(younger).await.unwrap().is_empty(),
        "the younger's data stays"
    );
}

/// Issue 19: on PostgreSQL, destroyed keys' rows are reclaimed at once — the key table is
/// vacuumed by the erasure itself, not left for autovacuum. (On SQLite secure delete and the WAL
/// checkpoint do this; `no_value_is_stored_in_clear_and_erasure_leaves_no_trace` reads the files.)
pub async fn an_erasure_vacuums_the_key_table_on_postgresql(h: &Harness) {
    let crate::RawPool::Postgres(pool) = h.raw_pool() else {
        return;
    };
    let vacuums = || async {
        sqlx::query_scalar::<_, i64>(
            "SELECT vacuum_count FROM pg_stat_user_tables WHERE schemaname = 'vault' AND relname = 'vault_keys'",
        )
        .fetch_one(pool)
        .await
        .unwrap()
    };
    let id = add(h, aigerim(), contract()).await;
    let before = vacuums().await;
    h.app.erase(&operator(), id).await.unwrap();
    assert!(
        vacuums().await > before,
        "the key table was vacuumed by the erasure"
    );
}

/// Issue 21 (R7.1, item 12): personal data crosses a network to PostgreSQL only encrypted. A URL
/// to a server off this machine that does not require TLS is refused before any connection,
/// saying what to add; with `sslmode=require` the connection is encrypted (the server says so).
pub async fn postgresql_off_this_machine_needs_tls_and_tls_is_spoken(h: &Harness) {
    for url in [
        "postgres://vintrova@192.0.2.10:5432/vintrova",
        "postgres://vintrova@db.example.kz/vintrova?sslmode=prefer",
        "postgresql://vintrova@[2001:db8::1]:5432/vintrova?sslmode=disable",
    ] {
        let refused = vintrova_store_sql::postgres::open(url).await;
        let Err(e) = refused else {
            panic!("{url} was opened without TLS");
        };
        assert!(
            e.to_string().contains("sslmode=verify-full"),
            "the refusal says how to fix it: {e}"
        );
    }
    let Some(url) = h.postgres_url() else {
        return;
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    let (store, _keys) =
        vintrova_store_sql::postgres::open(&format!("{url}{separator}sslmode=require"))
            .await
            .expect("TLS to the local server");
    let encrypted: bool =
        sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert!(encrypted, "the connection speaks TLS");
}

/// Issue 24: a long history is opened in shares on several threads; the copy still holds every
/// visit once, each with its own values, oldest first (the copy orders by moment, whatever
/// order the shares are opened in).
pub async fn a_long_history_is_copied_whole_and_in_order(h: &Harness) {
    let id = add(h, aigerim(), contract()).await;
    let visits: Vec<_> = (0..2_345)
        .map(|i| {
            let visit = json!({"technical": {"ip": format!("10.{}.{}.1", i / 250, i % 250), "browser": "Firefox 133", "os": "Android 14"}});
            h.app.parse_json(&visit).unwrap()
        })
        .collect();
    let events = h
        .app
        .import_events(&operator(), id, "security", visits, "visit_technical")
        .await
        .unwrap();
    let copy = h.copy(id).await.unwrap();
    let copied: Vec<(Option<Uuid>, &str)> = copy
        .values
        .iter()
        .filter(|v| v.field == "technical.ip")
        .map(|v| (v.event, v.value.as_str().unwrap()))
        .collect();
    let expected: Vec<String> = (0..events.len())
        .map(|i| format!("10.{}.{}.1", i / 250, i % 250))
        .collect();
    assert_eq!(copied.len(), 2_345);
    assert_eq!(
        copied.iter().map(|c| c.0).collect::<Vec<_>>(),
        events.iter().map(|e| Some(*e)).collect::<Vec<_>>(),
        "every visit once, oldest first"
    );
    assert_eq!(
        copied.iter().map(|c| c.1).collect::<Vec<_>>(),
        expected.iter().map(String::as_str).collect::<Vec<_>>(),
        "each visit with its own values"
    );
}
