//! Issue 22: the officer's desk — each request with its number, channel, who asked and what they
//! wrote (in its row and on its page, read under the duty to answer and audited); an erasure carried
//! out only after its preview; what was done said back; closed requests kept in view.

use super::*;
use vintrova_core::transparency::Accessor;

#[tokio::test]
async fn the_officer_opens_a_request_sees_who_asked_confirms_an_erasure_and_keeps_closed_ones_in_view()
 {
    let api = Api::new().await;
    let mut browser = Browser::default();
    registered(&api, &mut browser).await;
    let app = &api.harness.app;
    let subject = app
        .session(&browser.jar["__Host-vintrova-session"])
        .await
        .unwrap();
    let page = browser.get(&api, "/me/requests").await;
    let csrf = hidden(&page.text(), "csrf");
    browser
        .post(
            &api,
            "/me/requests",
            &[
                ("csrf", &csrf),
                ("right", "erasure"),
                ("description", "Удалите всё, я ухожу"),
                ("confirm", "yes"),
            ],
        )
        .await;
    let request = app.requests_of(subject).await.unwrap()[0].clone();
    let number = vintrova_web::site::number(request.id);

    let dpo = api.staff("desk.dpo", Role::Dpo).await;
    let mut staff = dpo.browser();
    // The home page leads to the queue, with its count.
    let home = staff.get(&api, "/staff").await.text();
    assert!(
        home.contains("<a href=\"/staff/requests\">Открытых запросов: 1; просрочено: 0;"),
        "{home}"
    );
    let queue = staff.get(&api, "/staff/requests").await.text();
    assert!(
        queue.contains(&format!("href=\"/staff/requests/{}\"", request.id))
            && queue.contains(&number)
            && queue.contains("личный кабинет"),
        "the row has the number, its page and the channel: {queue}"
    );
    // The row says who asked and what they wrote, and that look is on the person's record.
    let read_for_the_request = |looked: &[vintrova_core::transparency::Access]| {
        looked
            .iter()
            .filter(|a| {
                a.who == Accessor::Staff("dpo".into())
                    && a.action == "read"
                    && a.purpose.as_deref() == Some("rights_request")
                    && a.categories == ["contact"]
            })
            .count()
    };
    assert!(
        queue.contains(PERSON_NAME) && queue.contains("Удалите всё, я ухожу"),
        "the row names the requester and what they asked: {queue}"
    );
    assert!(
        !queue.contains(PERSON_EMAIL),
        "the address stays on the request's page"
    );
    let looked = app.who_looked(subject).await.unwrap();
    assert_eq!(read_for_the_request(&looked), 1, "{looked:?}");

    // The request's page: who asked and what they wrote, and the read is on the record.
    let detail = staff
        .get(&api, &format!("/staff/requests/{}", request.id))
        .await
        .text();
    assert!(
        detail.contains(PERSON_NAME)
            && detail.contains(PERSON_EMAIL)
            && detail.contains("Удалите всё, я ухожу"),
        "{detail}"
    );
    let looked = app.who_looked(subject).await.unwrap();
    assert_eq!(read_for_the_request(&looked), 2, "{looked:?}");

    // Carrying out the erasure first shows what it destroys and keeps; nothing goes yet.
    let csrf = hidden(&detail, "csrf");
    let preview = staff
        .post(
            &api,
            &format!("/staff/requests/{}/fulfil", request.id),
            &[("csrf", &csrf)],
        )
        .await
        .text();
    assert!(
        preview.contains("необратимо")
            && preview.contains("Контактная информация")
            && preview.contains("name=\"confirm\" value=\"yes\""),
        "{preview}"
    );
    assert!(
        app.is_known(subject).await.unwrap(),
        "nothing is erased before the confirmation"
    );
    let done = staff
        .post(
            &api,
            &format!("/staff/requests/{}/fulfil", request.id),
            &[("csrf", &csrf), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        done.headers[header::LOCATION],
        "/staff/requests?done=fulfilled"
    );
    assert!(
        !app.is_known(subject).await.unwrap(),
        "erased once confirmed"
    );
    let queue = staff
        .get(&api, "/staff/requests?done=fulfilled")
        .await
        .text();
    assert!(
        queue.contains("Запрос исполнен; человек получит ответ."),
        "{queue}"
    );
    // The erasure took the person's requests with them.
    assert!(!queue.contains(&number), "{queue}");
}

#[tokio::test]
async fn a_refused_request_is_said_back_and_stays_in_view_among_the_closed() {
    let api = Api::new().await;
    let mut browser = Browser::default();
    registered(&api, &mut browser).await;
    let app = &api.harness.app;
    let subject = app
        .session(&browser.jar["__Host-vintrova-session"])
        .await
        .unwrap();
    let request = api
        .harness
        .verified_request(subject, vintrova_core::rights::RightKind::Restriction)
        .await
        .unwrap();
    let dpo = api.staff("desk.dpo", Role::Dpo).await;
    let mut staff = dpo.browser();
    let detail = staff
        .get(&api, &format!("/staff/requests/{request}"))
        .await
        .text();
    let csrf = hidden(&detail, "csrf");
    let refused = staff
        .post(
            &api,
            &format!("/staff/requests/{request}/reject"),
            &[("csrf", &csrf), ("reason", "Обработка уже ограничена")],
        )
        .await;
    assert_eq!(
        refused.headers[header::LOCATION],
        "/staff/requests?done=rejected"
    );
    let queue = staff
        .get(&api, "/staff/requests?done=rejected")
        .await
        .text();
    assert!(
        queue.contains("Запрос отклонён; человек получит причину.")
            && queue.contains("Закрытые запросы")
            && queue.contains(&format!("href=\"/staff/requests/{request}\""))
            && queue.contains("Отклонён"),
        "{queue}"
    );
    // Its page keeps the answer the person read.
    let page = staff
        .get(&api, &format!("/staff/requests/{request}"))
        .await
        .text();
    assert!(page.contains("Обработка уже ограничена"), "{page}");
}

/// Issue 22: the officer resends a code from the request's page (the old one stops working),
/// corrects data from a form that opens holding what is held, and the auditor reads who did it
/// by login, never by id.
#[tokio::test]
async fn the_officer_resends_a_code_rectifies_from_a_prefilled_form_and_the_audit_names_logins() {
    use vintrova_core::requests::AnswerChannel;
    use vintrova_core::rights::RightKind;
    let api = Api::new().await;
    let mut browser = Browser::default();
    registered(&api, &mut browser).await;
    let app = &api.harness.app;
    let subject = app
        .session(&browser.jar["__Host-vintrova-session"])
        .await
        .unwrap();
    let dpo = api.staff("desk.dpo", Role::Dpo).await;
    let mut staff = dpo.browser();
    let officer = vintrova_core::Actor::new("staff", "dpo");
    let letter = app
        .request_for_subject(
            &officer,
            subject,
            (RightKind::Rectification, AnswerChannel::Email),
            "Исправьте фамилию",
            None,
        )
        .await
        .unwrap();
    let code_in = |mails: Vec<vintrova_core::outbox::Email>| -> String {
        let mail = mails
            .into_iter()
            .rev()
            .find(|m| m.to == PERSON_EMAIL)
            .unwrap();
        mail.body
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect()
    };
    let opened = |claimed: Vec<vintrova_core::outbox::OutboxEntry>| {
        claimed
            .iter()
            .map(|m| app.open_message(m).unwrap())
            .collect::<Vec<_>>()
    };
    let old = code_in(opened(app.claim_outbox(100).await.unwrap()));
    // Until the code comes back, anyone could have written it in the person's name: the row
    // opens nobody and nothing is read on their record.
    let queue = staff.get(&api, "/staff/requests").await.text();
    assert!(
        queue.contains("после проверки кода")
            && !queue.contains(PERSON_NAME)
            && !queue.contains("Исправьте фамилию"),
        "{queue}"
    );
    assert!(
        app.who_looked(subject)
            .await
            .unwrap()
            .iter()
            .all(|a| a.purpose.as_deref() != Some("rights_request")),
        "nothing read before the code"
    );
    let page = staff
        .get(&api, &format!("/staff/requests/{}", letter.id))
        .await
        .text();
    assert!(page.contains("Отправить новый код"), "{page}");
    let csrf = hidden(&page, "csrf");
    let resent = staff
        .post(
            &api,
            &format!("/staff/requests/{}/resend", letter.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        resent.headers[header::LOCATION],
        "/staff/requests?done=resent"
    );
    // The first letter is still leased: this claim takes only the new one.
    let new = code_in(opened(app.claim_outbox(100).await.unwrap()));
    assert_ne!(old, new);
    let with_old = staff
        .post(
            &api,
            &format!("/staff/requests/{}/verify", letter.id),
            &[("csrf", &csrf), ("code", &old)],
        )
        .await;
    assert_ne!(
        with_old.status,
        StatusCode::SEE_OTHER,
        "the old code is dead"
    );
    let verified = staff
        .post(
            &api,
            &format!("/staff/requests/{}/verify", letter.id),
            &[("csrf", &csrf), ("code", &new)],
        )
        .await;
    assert_eq!(
        verified.status,
        StatusCode::SEE_OTHER,
        "{}",
        verified.text()
    );

    // The rectification form holds what is held now; the officer changes one field.
    let page = staff
        .get(&api, &format!("/staff/requests/{}", letter.id))
        .await
        .text();
    assert!(
        page.contains(&format!("value=\"{PERSON_NAME}\""))
            && page.contains(&format!("value=\"{PERSON_EMAIL}\""))
            && page.contains("Исправить данные"),
        "{page}"
    );
    let fixed = staff
        .post(
            &api,
            &format!("/staff/requests/{}/rectify", letter.id),
            &[
                ("csrf", &csrf),
                ("contact.first_name", PERSON_NAME),
                ("contact.email", PERSON_EMAIL),
                ("contact.last_name", "Исправленная"),
                ("professional.employer", ""),
            ],
        )
        .await;
    assert_eq!(
        fixed.headers[header::LOCATION],
        "/staff/requests?done=fulfilled",
        "{}",
        fixed.text()
    );
    let held = browser.get(&api, "/me").await.text();
    assert!(held.contains("Исправленная"), "{held}");
    let closed = app.request(letter.id).await.unwrap().unwrap();
    assert!(closed.closed_at.is_some());

    // The auditor reads who did it by login and role.
    let auditor = api.staff("desk.auditor", Role::Auditor).await;
    let log = auditor.browser().get(&api, "/staff/audit").await.text();
    assert!(
        log.contains("desk.dpo (ответственный за защиту данных)")
            && log.contains("новый код подтверждения отправлен")
            && !log.contains("staff:dpo:"),
        "{log}"
    );
}

/// Issue 23: a letter from the mailbox waits on the queue without saying who wrote or what; its
/// page opens it (in the officer's language, every word translated); entered as a request, a
/// code goes to the sender and the letter joins the letters waiting for their code; another,
/// set aside, leaves.
#[tokio::test]
async fn the_officer_classifies_letters_from_the_mailbox() {
    use vintrova_core::requests::mailbox::ArrivedMail;
    let api = Api::new().await;
    let app = &api.harness.app;
    let reader = vintrova_core::Actor::new("system", "mailbox");
    let arrive = |id: &str, body: &str| ArrivedMail {
        message_id: id.into(),
        received_at: app.now(),
        from: "mailbox.desk.test@mail.kz".into(),
        subject: "Запрос".into(),
        body: body.into(),
    };
    let asked = app
        .mail_arrived(&reader, &arrive("<a@mail.kz>", "Прошу копию моих данных"))
        .await
        .unwrap()
        .unwrap();
    let spam = app
        .mail_arrived(&reader, &arrive("<b@mail.kz>", "Купите часы"))
        .await
        .unwrap()
        .unwrap();
    let dpo = api.staff("inbox.dpo", Role::Dpo).await;
    let mut staff = dpo.browser();
    let queue = staff.get(&api, "/staff/requests").await.text();
    assert!(
        queue.contains("Письма из почтового ящика для разбора")
            && queue.contains(&format!("href=\"/staff/inbox/{asked}\"")),
        "{queue}"
    );
    assert!(
        !queue.contains("mailbox.desk.test") && !queue.contains("Прошу копию"),
        "the queue opens no letter"
    );
    let page = staff
        .get(&api, &format!("/staff/inbox/{asked}"))
        .await
        .text();
    assert!(
        page.contains("mailbox.desk.test@mail.kz") && page.contains("Прошу копию моих данных"),
        "{page}"
    );
    assert!(raw_codes(&page).is_empty(), "{:?}", raw_codes(&page));
    let csrf = hidden(&page, "csrf");
    let done = staff
        .post(
            &api,
            &format!("/staff/inbox/{asked}/classify"),
            &[("csrf", &csrf), ("right", "access")],
        )
        .await;
    assert_eq!(
        done.headers[header::LOCATION],
        "/staff/requests?done=classified"
    );
    let waiting = app.letters_waiting().await.unwrap();
    assert!(waiting.iter().any(|w| w.letter.id == asked));
    let dismissed = staff
        .post(
            &api,
            &format!("/staff/inbox/{spam}/dismiss"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        dismissed.headers[header::LOCATION],
        "/staff/requests?done=dismissed"
    );
    assert!(app.inbox().await.unwrap().is_empty());
    let said = staff
        .get(&api, "/staff/requests?done=dismissed")
        .await
        .text();
    assert!(said.contains("Письмо отложено"), "{said}");
}

/// Issue 24: an access answer is its link — the copy is stored once, behind it — and carries
/// the copy itself, grouped as the link serves it, only when the caller asks.
#[tokio::test]
async fn an_access_answer_is_its_link_and_carries_the_copy_only_when_asked() {
    let api = Api::new().await;
    let dpo = api.staff("answer.dpo", Role::Dpo).await;
    let mut answers = vec![];
    for (n, query) in ["", "?copy=true"].into_iter().enumerate() {
        let mut someone = person();
        someone["data"]["contact"]["email"] = json!(format!("answer{n}@finance.kz"));
        let created = api.authed("POST", "/api/v1/subjects", Some(someone)).await;
        let id: uuid::Uuid = created.json()["id"].as_str().unwrap().parse().unwrap();
        let request = api
            .harness
            .verified_request(id, RightKind::Access)
            .await
            .unwrap();
        let answer = api
            .fulfil(&dpo, request, query, json!({"right": "access"}))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
        answers.push((id, answer.json()));
    }
    let (_, linked) = &answers[0];
    assert!(linked.get("copy").is_none(), "{linked}");
    assert!(linked["download"]["token"].is_string(), "{linked}");
    let (id, asked) = &answers[1];
    assert_eq!(asked["copy"]["format"], "vintrova.copy/2");
    assert_eq!(asked["copy"]["subject"], id.to_string());
    // What the answer carries is what the link serves.
    let token = asked["download"]["token"].as_str().unwrap();
    let served = api
        .call(
            "GET",
            &format!("/api/v1/downloads/{token}?format=json"),
            None,
            None,
        )
        .await;
    assert_eq!(served.json()["categories"], asked["copy"]["categories"]);
    assert_eq!(held_values(&served.json()), 5);
}
