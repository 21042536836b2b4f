//! The platform's records: payments, learning, support tickets, notices and the outbox.

use super::*;

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
    // Five years after the end of the payment's tax year (at most six after the payment).
    h.clock
        .advance(SignedDuration::from_hours(24 * (365 * 6 + 2)));
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

    // A notice Vintrova sends itself, with its date or its account of what happened, is never
    // announced bare by staff: refused whole, nothing queued (issue 22).
    for kind in [
        NoticeKind::Incident,
        NoticeKind::AccountIdle,
        NoticeKind::PolicyChange,
        NoticeKind::TransferAbroad,
        NoticeKind::AccessDigest,
    ] {
        assert!(
            matches!(
                h.app.notify_all(&actor, kind).await,
                Err(CoreError::Invalid(e)) if e.problems[0].field == "kind"
            ),
            "{kind:?}"
        );
    }

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
