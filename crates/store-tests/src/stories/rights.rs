//! Rights requests from receipt to answer, and the reminders before their deadlines.

use super::*;

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
        .unwrap()
        .opened()
        .expect("the account opens");
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
    let downloaded = h
        .app
        .download(&download.token)
        .await
        .unwrap()
        .read()
        .unwrap();
    assert_eq!(
        vintrova_core::AccessCopy::read(downloaded)
            .unwrap()
            .held()
            .len(),
        copy.held().len(),
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
    let held = copy.held();
    assert!(held.iter().any(|v| v.value == json!("Айгерімжан")));
    assert!(
        held.iter()
            .all(|v| copy.subject == id && !v.field.is_empty())
    );

    // An unknown address gets the same answer and the same work: a code goes out, and no
    // person is stored for it before the code comes back.
    let before = h.store().outbox_counts().await.unwrap();
    let people = h.store().subject_ids(None, 1_000).await.unwrap().len();
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
    assert_eq!(
        h.store().subject_ids(None, 1_000).await.unwrap().len(),
        people,
        "nobody is stored for an unproven letter"
    );
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

    // A rejection carries its reason, sealed (a letter naming her account, its code unsent).
    let rejected = h
        .app
        .request_for_subject(
            &actor,
            id,
            (RightKind::Restriction, AnswerChannel::Post),
            "Ограничьте",
            None,
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

    // The queue lists what is open: everything above was answered, and the stranger's letter,
    // its code spent, never became anyone's request.
    let queue = h.app.request_queue().await.unwrap();
    assert!(queue.is_empty(), "{queue:?}");

    h.clock.advance(SignedDuration::from_hours(24 * 8));
    assert!(
        matches!(h.app.download(&download.token).await, Err(CoreError::Gone)),
        "download links expire"
    );

    // The acknowledgements went out while the person was here.
    h.clock
        .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
    let recorder = Recorder::default();
    h.app.deliver(&recorder, 100).await.unwrap();
    assert!(
        recorder.sent.lock().unwrap().iter().any(|e| e
            .body
            .contains("«Получить информацию об обработке данных»")
            && e.body.contains("31 марта 2025 г.")),
        "an acknowledgement naming the right and the due date in the person's words"
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
        .unwrap()
        .opened()
        .expect("the account opens");
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
    assert_eq!(remind(h).await, 0, "30 days left");
    h.clock.advance(SignedDuration::from_hours(24 * 24));
    assert_eq!(remind(h).await, 1, "6 days left: the 7-day reminder");
    assert_eq!(remind(h).await, 0, "once per point");
    h.clock.advance(SignedDuration::from_hours(24 * 4));
    assert_eq!(remind(h).await, 1, "2 days left: the 3-day reminder");
    h.clock.advance(SignedDuration::from_hours(24 * 3));
    let queue = h.app.request_queue().await.unwrap();
    assert!(queue[0].overdue && queue[0].days_left < 0);
    assert_eq!(remind(h).await, 1, "overdue");

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

/// Issue 21 (R6.1, item 4): mail for an erased person goes with them. The acknowledgement of
/// their request and the link to their copy wait in the outbox, addressed to them; after the
/// erasure no message to their address is left, sent or not.
pub async fn mail_for_an_erased_person_is_erased_with_them(h: &Harness) {
    const ADDRESS: &str = "gulnar.mail@mail.kz";
    let actor = operator();
    let id = a_student_answered_with_her_copy(h, "Гүлнар", ADDRESS).await;
    // Every message still waiting, by its kind, that goes to the address.
    let to_them = || async {
        let claimed = h.app.claim_outbox(1_000).await.unwrap();
        h.clock
            .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
        let mut kinds: Vec<String> = claimed
            .iter()
            .filter(|m| h.app.open_message(m).is_ok_and(|e| e.to == ADDRESS))
            .map(|m| m.kind.clone())
            .collect();
        kinds.sort();
        kinds
    };
    assert_eq!(
        to_them().await,
        ["request:acknowledgement", "request:answer"],
        "the acknowledgement and the link to the copy wait for the person"
    );
    h.app.erase(&actor, id).await.unwrap();
    assert!(
        to_them().await.is_empty(),
        "no message to an erased person's address survives the erasure"
    );
}

/// Issue 21 (R1.2, item 10): every message in the person's language. Whoever chose Kazakh or
/// English is acknowledged and answered in it; whoever chose nothing, in Russian; a letter
/// written in Kazakh gets its code in Kazakh, and its writer is answered in Kazakh once the code
/// comes back. A language the site does not speak is refused by name.
pub async fn every_message_goes_in_the_language_the_person_chose(h: &Harness) {
    use vintrova_core::requests::{AnswerChannel, Fulfilment};
    use vintrova_core::rights::RightKind;
    let actor = operator();
    let mut expected = vec![];
    for (i, (chosen, ack, answer)) in [
        (Some("kk"), "Сұранысыңыз қабылданды", "Сұранысыңызға жауап"),
        (
            Some("en"),
            "We received your request",
            "The answer to your request",
        ),
        (None, "Ваш запрос получен", "Ответ на ваш запрос"),
    ]
    .into_iter()
    .enumerate()
    {
        let email = format!("language.{i}@mail.kz");
        let values = h
            .app
            .parse_json(&json!({"contact": {"email": email}}))
            .unwrap();
        let ticked = crate::ticked(h.app.policy(), &values, vec![]);
        let id = h
            .app
            .register(&actor, values, "Тіл-таңдау-2025-пароль", ticked)
            .await
            .unwrap()
            .opened()
            .expect("the account opens");
        if let Some(locale) = chosen {
            h.app.set_language(id, locale).await.unwrap();
        }
        let session = h
            .app
            .sign_in(&email, "Тіл-таңдау-2025-пароль")
            .await
            .unwrap();
        let request = h
            .app
            .request_in_cabinet(
                &actor,
                &session.token,
                RightKind::Information,
                "Что вы храните?",
                AnswerChannel::Email,
            )
            .await
            .unwrap();
        h.app
            .fulfil(&actor, request.id, Fulfilment::Information)
            .await
            .unwrap();
        expected.push((email.clone(), ack));
        expected.push((email, answer));
        if i == 0 {
            let wrong = h.app.set_language(id, "de").await;
            assert!(
                matches!(&wrong, Err(CoreError::Invalid(e)) if e.problems[0].field == "locale"),
                "{wrong:?}"
            );
        }
    }
    let letter = h
        .app
        .letter_received(
            &actor,
            "hat.jazdy@mail.kz",
            RightKind::Information,
            "Менің деректерім туралы",
            AnswerChannel::Email,
            (None, Some("kk")),
        )
        .await
        .unwrap();
    let read = |claimed: Vec<vintrova_core::outbox::OutboxEntry>| {
        claimed
            .iter()
            .map(|m| {
                let email = h.app.open_message(m).unwrap();
                (email.to, email.subject)
            })
            .collect::<Vec<(String, String)>>()
    };
    let mut sent = read(h.app.claim_outbox(1_000).await.unwrap());
    let code: String = {
        let claimed = h.app.claim_outbox(1_000).await.unwrap();
        assert!(claimed.is_empty(), "everything was read at once");
        let (_, title) = sent
            .iter()
            .find(|(to, _)| to == "hat.jazdy@mail.kz")
            .expect("the code went to the letter's address")
            .clone();
        assert_eq!(
            title, "Сұранысты растау коды",
            "the code in the letter's language"
        );
        h.clock
            .advance(vintrova_core::outbox::LEASE + SignedDuration::from_secs(1));
        code_from_outbox(h).await
    };
    let request = h
        .app
        .verify_request(&actor, letter.id, &code)
        .await
        .unwrap();
    h.app
        .fulfil(&actor, request.id, Fulfilment::Information)
        .await
        .unwrap();
    sent.extend(read(h.app.claim_outbox(1_000).await.unwrap()));
    expected.push(("hat.jazdy@mail.kz".into(), "Сұранысыңызға жауап"));
    for (to, title) in expected {
        assert!(
            sent.iter().any(|(t, s)| *t == to && s == title),
            "{to} gets «{title}»: {sent:?}"
        );
    }
}
