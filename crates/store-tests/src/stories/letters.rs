//! Letters: requests that come by mail from an address, held apart from people until their
//! code comes back; their writers registering later, and how long they are kept.

use super::*;

/// Issue 20: letters from strangers. A letter is held apart from people until its code comes
/// back: a refused one stores nothing at all; one from an unknown address stores no person,
/// never blocks a registration with that address, and — proven after the person registered —
/// becomes that person's request, received when the letter was; an unproven one goes when its
/// code expires; one proven by a stranger brings one new person with the request, in one go.
pub async fn a_letter_is_held_apart_from_people_until_its_code_comes_back(h: &Harness) {
    use vintrova_core::requests::{AnswerChannel, RequestState, VerificationError};
    use vintrova_core::rights::RightKind;
    let actor = operator();
    let people = || async { h.store().subject_ids(None, 1_000).await.unwrap().len() };
    let messages = || async { h.store().outbox_counts().await.unwrap() };

    let (before, queued) = (people().await, messages().await);
    let refused = h
        .app
        .request_by_email(
            &actor,
            "later.student@mail.kz",
            RightKind::Access,
            &"слишком длинно ".repeat(400),
            AnswerChannel::Email,
        )
        .await;
    assert!(matches!(refused, Err(CoreError::Invalid(_))), "{refused:?}");
    assert_eq!(
        (people().await, messages().await),
        (before, queued),
        "a refused letter stores nothing"
    );

    let letter = h
        .app
        .request_by_email(
            &actor,
            "Later.Student@mail.kz",
            RightKind::Access,
            "Пришлите мои данные",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    assert_eq!(people().await, before, "no person for an unproven letter");
    // Staff see it waiting — its right and deadline, never its address.
    let waiting = h.app.letters_waiting().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].letter.id, waiting[0].letter.right),
        (letter.id, RightKind::Access)
    );
    assert_eq!(waiting[0].letter.due_on, letter.due_on);
    assert!(!waiting[0].code_expired);
    assert!(
        !serde_json::to_string(&waiting)
            .unwrap()
            .contains("later.student")
    );
    let code = code_from_outbox(h).await;

    // The address is free: its owner registers with it.
    let values = h
        .app
        .parse_json(&json!({"contact": {"first_name": "Дана", "email": "later.student@mail.kz"}}))
        .unwrap();
    let ticked = crate::ticked(h.app.policy(), &values, vec![]);
    let registered = h
        .app
        .register(&actor, values, "Шымкент-2025-пароль", ticked)
        .await
        .unwrap()
        .opened()
        .expect("the account opens");
    // Proven afterwards, the letter is that person's request, dated when it arrived.
    let request = h
        .app
        .verify_request(&actor, letter.id, &code)
        .await
        .unwrap();
    assert_eq!(request.subject, registered);
    assert_eq!(request.id, letter.id);
    assert_eq!(request.received_at, letter.received_at);
    assert_eq!(request.state, RequestState::Verified);
    assert_eq!(people().await, before + 1, "the registered person only");
    assert!(
        h.app.letters_waiting().await.unwrap().is_empty(),
        "admitted, no longer waiting"
    );
    assert!(
        matches!(
            h.app.verify_request(&actor, letter.id, &code).await,
            Err(CoreError::Verification(VerificationError::Spent) | CoreError::Invalid(_))
        ),
        "a letter is admitted once"
    );

    // Unproven, a letter goes with its code.
    h.app
        .request_by_email(
            &actor,
            "never.answers@mail.kz",
            RightKind::Erasure,
            "Удалите",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    h.clock.advance(SignedDuration::from_hours(2));
    assert!(h.app.letters_waiting().await.unwrap()[0].code_expired);
    let swept = h
        .app
        .sweep(&actor, vintrova_core::sweep::SweepOptions::default())
        .await
        .unwrap();
    assert_eq!(swept.leftovers.letters, 1);
    assert!(h.app.letters_waiting().await.unwrap().is_empty());

    // Proven by a stranger: one new person with the request.
    let stranger_letter = h
        .app
        .request_by_email(
            &actor,
            "stranger.writes@mail.kz",
            RightKind::Information,
            "Что вы обо мне храните?",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let people_before = people().await;
    let code = code_from_outbox(h).await;
    let request = h
        .app
        .verify_request(&actor, stranger_letter.id, &code)
        .await
        .unwrap();
    assert_eq!(people().await, people_before + 1);
    assert_eq!(
        h.app
            .find(&actor, "contact.email", "stranger.writes@mail.kz")
            .await
            .unwrap(),
        vec![request.subject]
    );
    assert_eq!(h.app.requests_of(request.subject).await.unwrap().len(), 1);
}

/// Issue 20: a letter never blocks a registration. Someone who proved their address by a letter
/// holds it without an account; whoever registers that address must prove it too: until the
/// code comes back nothing of the registration touches the person (no account, no value, no
/// sign-in), a wrong code counts, a letter's door does not take it; proven, the account opens
/// on that same person — their request with it — once; after that the address is taken.
pub async fn a_letter_writer_registers_by_proving_the_address_and_keeps_their_requests(
    h: &Harness,
) {
    use vintrova_core::accounts::Registered;
    use vintrova_core::requests::{AnswerChannel, VerificationError};
    use vintrova_core::rights::RightKind;
    let actor = operator();
    let letter = h
        .app
        .request_by_email(
            &actor,
            "writer.first@mail.kz",
            RightKind::Access,
            "Пришлите мои данные",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let code = code_from_outbox(h).await;
    let request = h
        .app
        .verify_request(&actor, letter.id, &code)
        .await
        .unwrap();
    let writer = request.subject;

    let registration = || {
        let values = h
            .app
            .parse_json(
                &json!({"contact": {"first_name": "Жанар", "email": "Writer.First@mail.kz"}}),
            )
            .unwrap();
        let ticked = crate::ticked(h.app.policy(), &values, vec![]);
        (values, ticked)
    };
    let (values, ticked) = registration();
    let Registered::AddressToProve(held) = h
        .app
        .register(&actor, values, "Караганда-2025-пароль", ticked)
        .await
        .unwrap()
    else {
        panic!("an address a letter-writer holds is proven before the account opens");
    };
    assert!(h.store().account(writer).await.unwrap().is_none());
    assert!(
        h.app
            .sign_in("writer.first@mail.kz", "Караганда-2025-пароль")
            .await
            .is_err(),
        "no sign-in before the address is proven"
    );
    let fields = |id| async move {
        h.copy(id)
            .await
            .unwrap()
            .values
            .into_iter()
            .map(|v| v.field)
            .collect::<Vec<_>>()
    };
    assert!(
        !fields(writer)
            .await
            .contains(&"contact.first_name".to_string()),
        "nothing of the registration joins the person before the proof"
    );
    assert!(
        h.app.letters_waiting().await.unwrap().is_empty(),
        "a held registration is not a letter for staff to answer"
    );
    let code = code_from_outbox(h).await;
    assert!(
        matches!(
            h.app.verify_request(&actor, held.id, &code).await,
            Err(CoreError::Verification(VerificationError::Spent))
        ),
        "a registration's code proves no request"
    );
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert!(matches!(
        h.app.confirm_registration(&actor, held.id, wrong).await,
        Err(CoreError::Verification(VerificationError::WrongCode(4)))
    ));

    let opened = h
        .app
        .confirm_registration(&actor, held.id, &code)
        .await
        .unwrap();
    assert_eq!(opened, writer, "the same person, not a new one");
    assert!(
        h.app
            .sign_in("writer.first@mail.kz", "Караганда-2025-пароль")
            .await
            .is_ok()
    );
    assert!(
        fields(writer)
            .await
            .contains(&"contact.first_name".to_string())
    );
    assert!(
        h.app
            .requests_of(writer)
            .await
            .unwrap()
            .iter()
            .any(|r| r.id == request.id),
        "their request comes with them"
    );
    assert!(
        matches!(
            h.app.confirm_registration(&actor, held.id, &code).await,
            Err(CoreError::Verification(VerificationError::Spent))
        ),
        "a registration is confirmed once"
    );
    let (values, ticked) = registration();
    assert!(
        matches!(
            h.app
                .register(&actor, values, "другой-пароль-2025", ticked)
                .await,
            Err(CoreError::Invalid(_))
        ),
        "with an account, the address is taken"
    );
}

/// Issue 20: nobody is kept without a term. Someone known only by a letter never used the
/// services, so "while they use them" cannot keep them: what they left stays while a request of
/// theirs is open, then by the rule that keeps a closed request — two years from the day it
/// closed, not a day less, not a day more.
pub async fn a_letter_writer_is_kept_by_the_support_rule_from_the_day_their_request_closes(
    h: &Harness,
) {
    use jiff::ToSpan;
    use vintrova_core::requests::AnswerChannel;
    use vintrova_core::rights::RightKind;
    use vintrova_core::sweep::SweepOptions;
    let actor = operator();
    let letter = h
        .app
        .request_by_email(
            &actor,
            "only.wrote@mail.kz",
            RightKind::Information,
            "Что вы обо мне храните?",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let code = code_from_outbox(h).await;
    let writer = h
        .app
        .verify_request(&actor, letter.id, &code)
        .await
        .unwrap()
        .subject;
    let held = || async {
        h.app
            .find(&operator(), "contact.email", "only.wrote@mail.kz")
            .await
            .unwrap()
            == vec![writer]
    };
    let actor = &actor;
    let sweep_on = |days: i64| async move {
        let at = h
            .app
            .now()
            .to_zoned_datetime(h.app.policy().zone())
            .checked_add(days.days())
            .unwrap()
            .timestamp();
        h.clock.set(at);
        h.app.sweep(actor, SweepOptions::default()).await.unwrap()
    };
    sweep_on(3 * 365).await;
    assert!(held().await, "kept while their request is open");
    h.app
        .reject_request(actor, letter.id, "Запрос отозван")
        .await
        .unwrap();
    let closed = h.app.now().to_zoned_datetime(h.app.policy().zone());
    let two_years = closed.checked_add(2.years()).unwrap();
    let days = (two_years.date() - closed.date()).get_days() as i64;
    sweep_on(days - 1).await;
    assert!(
        held().await,
        "a day before the support term ends, still kept"
    );
    let swept = sweep_on(1).await;
    assert!(!held().await, "on the day the support term ends, gone");
    assert!(swept.subjects_removed >= 1, "{swept:?}");
}

/// Issue 21 (R6.3): the clock starts at receipt. A letter entered days after it arrived
/// carries the time it arrived — its deadline counts from then and the request keeps it once
/// proven — while the audit entry records when it was entered and when it arrived; an arrival
/// in the future is refused by name.
pub async fn a_letter_entered_late_counts_its_thirty_days_from_its_arrival(h: &Harness) {
    use vintrova_core::requests::AnswerChannel;
    use vintrova_core::rights::{RightKind, deadline};
    let actor = operator();
    let entered = h.app.now();
    let arrived = entered - SignedDuration::from_hours(72);
    let letter = h
        .app
        .letter_received(
            &actor,
            "late.letter@mail.kz",
            RightKind::Access,
            "Прошу копию",
            AnswerChannel::Email,
            (Some(arrived), None),
        )
        .await
        .unwrap();
    assert_eq!(letter.received_at, arrived);
    assert_eq!(
        letter.due_on,
        deadline(arrived, &h.app.policy().zone()).due_on
    );
    let entry = h
        .store()
        .audit_page(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .rfind(|r| r.entry.action == "receive_request")
        .unwrap();
    assert_eq!(entry.entry.at, entered, "entered now");
    assert!(
        entry
            .entry
            .purpose
            .as_deref()
            .is_some_and(|p| p.ends_with(&format!("@received:{arrived}"))),
        "{entry:?}"
    );
    let code = code_from_outbox(h).await;
    let request = h
        .app
        .verify_request(&actor, letter.id, &code)
        .await
        .unwrap();
    assert_eq!(request.received_at, arrived);
    assert_eq!(request.due_on, letter.due_on);

    let future = h
        .app
        .letter_received(
            &actor,
            "late.letter@mail.kz",
            RightKind::Erasure,
            "Удалите",
            AnswerChannel::Email,
            (Some(h.app.now() + SignedDuration::from_hours(1)), None),
        )
        .await;
    assert!(
        matches!(&future, Err(CoreError::Invalid(i)) if i.problems[0].field == "received_at"),
        "{future:?}"
    );
}

/// Issue 22: the officer sends a new code — for a request naming a person, or a letter from an
/// address not yet proven. The old code stops working at once, the new one has all its tries
/// again, it goes where the first went, and a request no longer waiting has nothing to resend.
pub async fn a_new_code_ends_the_old_one_for_requests_and_letters(h: &Harness) {
    use vintrova_core::requests::{AnswerChannel, CODE_ATTEMPTS, RequestState, VerificationError};
    use vintrova_core::rights::RightKind;
    let actor = operator();
    let person = add(
        h,
        json!({"contact": {"first_name": "Дана", "email": "dana.resend@mail.kz"}}),
        contract(),
    )
    .await;
    let request = h
        .app
        .request_for_subject(
            &actor,
            person,
            (RightKind::Access, AnswerChannel::Email),
            "Пришлите копию",
            None,
        )
        .await
        .unwrap();
    let old = code_from_outbox(h).await;
    // Four wrong tries of five: the new code starts again from none.
    for _ in 0..CODE_ATTEMPTS - 1 {
        let _ = h.app.verify_request(&actor, request.id, "000000").await;
    }
    h.app.resend_code(&actor, request.id).await.unwrap();
    let (to, new) = mailed_code(h).await;
    assert_eq!(to, "dana.resend@mail.kz", "where the first went");
    assert_ne!(old, new);
    assert!(
        matches!(
            h.app.verify_request(&actor, request.id, &old).await,
            Err(CoreError::Verification(VerificationError::WrongCode(_)))
        ),
        "the old code no longer works"
    );
    let verified = h
        .app
        .verify_request(&actor, request.id, &new)
        .await
        .unwrap();
    assert_eq!(
        verified.state,
        RequestState::Verified,
        "the new one does, tries renewed"
    );
    assert!(
        matches!(
            h.app.resend_code(&actor, request.id).await,
            Err(CoreError::Invalid(_))
        ),
        "a verified request waits for no code"
    );

    // A letter from an address not yet proven: the new code goes to the letter's address.
    let letter = h
        .app
        .request_by_email(
            &actor,
            "unproven.writer@mail.kz",
            RightKind::Information,
            "Что вы обо мне храните?",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let old = code_from_outbox(h).await;
    h.app.resend_code(&actor, letter.id).await.unwrap();
    let (to, new) = mailed_code(h).await;
    assert_eq!(to, "unproven.writer@mail.kz");
    assert!(h.app.verify_request(&actor, letter.id, &old).await.is_err());
    let admitted = h.app.verify_request(&actor, letter.id, &new).await.unwrap();
    assert_eq!(admitted.state, RequestState::Verified);
    assert!(
        matches!(
            h.app.resend_code(&actor, uuid::Uuid::now_v7()).await,
            Err(CoreError::Invalid(_))
        ),
        "nothing to resend for what does not exist"
    );
}

/// Issue 23: a letter from the mailbox waits in the inbox with its arrival time — its 30 days
/// count from there — once, however many servers read it; opened (and audited) it shows who
/// wrote and what; classified, it becomes a held letter whose code goes to the sender in the
/// language of the letter; set aside, it leaves. Nothing of it is stored in clear.
pub async fn a_letter_from_the_mailbox_waits_to_be_classified_from_its_arrival(h: &Harness) {
    use vintrova_core::requests::mailbox::ArrivedMail;
    let officer = Actor::new("staff", "dpo:test");
    let arrived = h.app.now() - SignedDuration::from_hours(50);
    let mail = ArrivedMail {
        message_id: "<kk-letter-1@mail.kz>".into(),
        received_at: arrived,
        from: "sender.inbox.test@mail.kz".into(),
        subject: "Деректерді жою".into(),
        body: "Сәлеметсіз бе! Менің барлық деректерімді жоюыңызды сұраймын. Әсел Қайратқызы".into(),
    };
    let reader = Actor::new("system", "mailbox");
    let id = h
        .app
        .mail_arrived(&reader, &mail)
        .await
        .unwrap()
        .expect("kept");
    let other = h.reopen(h.master.clone()).await.unwrap();
    assert_eq!(
        other.mail_arrived(&reader, &mail).await.unwrap(),
        None,
        "the same message read by another server is the same letter"
    );
    let spam = ArrivedMail {
        message_id: "<spam-2@example.com>".into(),
        subject: "Cheap watches".into(),
        body: "Buy now".into(),
        ..mail.clone()
    };
    let spam_id = h.app.mail_arrived(&reader, &spam).await.unwrap().unwrap();
    let inbox = h.app.inbox().await.unwrap();
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].id, id);
    assert_eq!(inbox[0].received_at, arrived);
    assert_eq!(inbox[0].locale, "kk");
    assert_eq!(inbox[1].locale, "en");
    assert_eq!(
        inbox[0].due_on,
        vintrova_core::rights::deadline(arrived, &h.app.policy().zone()).due_on,
        "30 days from the arrival, not from classification"
    );
    let stored = h.every_stored_byte().await;
    for clear in [
        "sender.inbox.test@mail.kz",
        "Әсел Қайратқызы",
        "kk-letter-1",
    ] {
        assert!(
            !contains(&stored, clear.as_bytes()),
            "`{clear}` stored in clear"
        );
    }

    let opened = h.app.open_inbox_letter(&officer, id).await.unwrap();
    assert_eq!(opened.from, mail.from);
    assert!(opened.body.contains("Әсел Қайратқызы"));

    let held = h
        .app
        .classify_letter(&officer, id, vintrova_core::rights::RightKind::Erasure)
        .await
        .unwrap();
    assert_eq!((held.id, held.received_at), (id, arrived));
    let waiting = h.app.letters_waiting().await.unwrap();
    assert!(waiting.iter().any(|w| w.letter.id == id));
    let claimed = h.app.claim_outbox(10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let sent = h.app.open_message(&claimed[0]).unwrap();
    assert_eq!(sent.to, mail.from);
    let (title, _) = vintrova_core::letters::Letter::RequestCode { code: "000000" }.write("kk");
    assert_eq!(
        sent.subject, title,
        "the code goes in the letter's language"
    );
    assert!(
        h.app
            .classify_letter(&officer, id, vintrova_core::rights::RightKind::Access)
            .await
            .is_err(),
        "classified once"
    );

    h.app.dismiss_letter(&officer, spam_id).await.unwrap();
    assert!(h.app.inbox().await.unwrap().is_empty());
    assert!(matches!(
        h.app.dismiss_letter(&officer, spam_id).await,
        Err(CoreError::Invalid(e)) if e.problems[0].field == "letter"
    ));
}

/// A letter in the mailbox runs the thirty days from its arrival whether or not anyone has
/// classified it: the data protection service is reminded of it like a request, and once it is
/// entered as a request, a point already told is not told again.
pub async fn a_letter_nobody_classified_is_reminded_on_its_own_clock(h: &Harness) {
    use vintrova_core::requests::mailbox::ArrivedMail;
    let reader = Actor::new("system", "mailbox");
    let mail = ArrivedMail {
        message_id: "<forgotten-1@mail.kz>".into(),
        received_at: h.app.now(),
        from: "forgotten.sender@mail.kz".into(),
        subject: "Удалите мои данные".into(),
        body: "Прошу удалить все мои данные. Гульнара".into(),
    };
    let id = h.app.mail_arrived(&reader, &mail).await.unwrap().unwrap();
    assert_eq!(remind(h).await, 0, "30 days left");
    h.clock.advance(SignedDuration::from_hours(24 * 24));
    assert_eq!(
        remind(h).await,
        1,
        "6 days left and still unclassified: the 7-day reminder"
    );
    h.app
        .classify_letter(
            &Actor::new("staff", "dpo:test"),
            id,
            vintrova_core::rights::RightKind::Erasure,
        )
        .await
        .unwrap();
    assert_eq!(
        remind(h).await,
        0,
        "the request keeps the letter's id: the 7-day point was told"
    );
    h.clock.advance(SignedDuration::from_hours(24 * 4));
    assert_eq!(remind(h).await, 1, "the 3-day reminder");
    let recorder = Recorder::default();
    h.app.deliver(&recorder, 50).await.unwrap();
    let sent = recorder.sent.lock().unwrap().clone();
    let reminders: Vec<_> = sent
        .iter()
        .filter(|e| e.message_id.starts_with("<reminder-"))
        .collect();
    assert_eq!(reminders.len(), 2);
    for r in reminders {
        assert!(r.subject.contains(&id.to_string()), "{}", r.subject);
        assert!(
            !r.body.contains("forgotten.sender") && !r.body.contains("Гульнара"),
            "reminders never name the person"
        );
    }
}
