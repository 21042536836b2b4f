//! Issue 22: the student's journey, whole — each request with its number and page, taken back
//! while pending, an answer told in the cabinet and by a letter in her language, and an
//! erasure filed only after she read what goes, what the law keeps and until when.

use super::*;
use vintrova_core::requests::{Fulfilment, RequestState};

async fn file(api: &Api, browser: &mut Browser, fields: &[(&str, &str)]) -> Reply {
    let page = browser.get(api, "/me/requests").await;
    let csrf = hidden(&page.text(), "csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    browser.post(api, "/me/requests", &all).await
}

/// The signed-in student's id, from her session.
async fn her(api: &Api, browser: &Browser) -> uuid::Uuid {
    let token = &browser.jar["__Host-vintrova-session"];
    api.harness.app.session(token).await.unwrap()
}

#[tokio::test]
async fn a_student_follows_withdraws_and_is_told_of_answers_to_her_requests() {
    let api = Api::new().await;
    let mut browser = Browser::default();
    registered(&api, &mut browser).await;
    let app = &api.harness.app;
    let filed = file(
        &api,
        &mut browser,
        &[("right", "information"), ("description", "Что вы храните?")],
    )
    .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.text());
    let subject = her(&api, &browser).await;
    let request = app.requests_of(subject).await.unwrap()[0].clone();
    let number = &vintrova_web::site::number(request.id);
    let list = browser.get(&api, "/me/requests").await.text();
    let link = format!("href=\"/me/requests/{}\"", request.id);
    assert!(list.contains(&link) && list.contains(number), "{list}");

    // Her request's own page, with the way to take it back.
    let page = browser
        .get(&api, &format!("/me/requests/{}", request.id))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(
        html.contains("Получить информацию об обработке данных")
            && html.contains("Отозвать запрос"),
        "{html}"
    );
    // Another's request, or no request, is simply not found.
    let stranger = browser
        .get(&api, &format!("/me/requests/{}", uuid::Uuid::now_v7()))
        .await;
    assert_eq!(stranger.status, StatusCode::NOT_FOUND);

    let csrf = hidden(&html, "csrf");
    let withdrawn = browser
        .post(
            &api,
            &format!("/me/requests/{}/withdraw", request.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(withdrawn.text().contains("отозван"), "{}", withdrawn.text());
    let stored = app.requests_of(subject).await.unwrap();
    assert_eq!(stored[0].state, RequestState::Withdrawn);
    assert!(stored[0].closed_at.is_some());
    // Withdrawn is closed: a second time is refused, in her words.
    let again = browser
        .post(
            &api,
            &format!("/me/requests/{}/withdraw", request.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert!(!again.text().contains("request_closed"), "{}", again.text());

    // A new request, answered by the officer: the cabinet says so, and a letter in her language.
    file(
        &api,
        &mut browser,
        &[
            ("right", "restriction"),
            ("description", "Пока не используйте мои данные"),
        ],
    )
    .await;
    let open = app
        .requests_of(subject)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.closed_at.is_none())
        .unwrap();
    app.claim_outbox(100).await.unwrap();
    app.fulfil(
        &vintrova_core::Actor::new("staff", "dpo"),
        open.id,
        Fulfilment::Restriction,
    )
    .await
    .unwrap();
    let list = browser.get(&api, "/me/requests").await.text();
    assert!(
        list.contains("Есть ответ на ваш запрос «Ограничить обработку»")
            && list.contains(&format!("href=\"/me/requests/{}\"", open.id)),
        "{list}"
    );
    let letters: Vec<_> = app
        .claim_outbox(100)
        .await
        .unwrap()
        .iter()
        .map(|m| app.open_message(m).unwrap())
        .filter(|e| e.to == PERSON_EMAIL)
        .collect();
    assert!(
        letters.iter().any(|e| e.subject == "Ответ на ваш запрос"
            && e.body.contains("«Ограничить обработку» выполнен")),
        "{letters:?}"
    );
}

#[tokio::test]
async fn an_erasure_is_filed_only_after_she_reads_what_goes_and_what_the_law_keeps() {
    let api = Api::new().await;
    let mut browser = Browser::default();
    registered(&api, &mut browser).await;
    let app = &api.harness.app;
    let subject = her(&api, &browser).await;
    let asked = file(
        &api,
        &mut browser,
        &[("right", "erasure"), ("description", "Удалите всё")],
    )
    .await;
    let html = asked.text();
    assert!(
        html.contains("Удалить мои данные?")
            && html.contains("Удаление необратимо")
            && html.contains("Что будет удалено")
            && html.contains("<li>Контактная информация</li>")
            && html.contains("Ничего: закон не требует хранить ваши данные")
            && html.contains("name=\"confirm\" value=\"yes\"")
            && html.contains("Не удалять"),
        "{html}"
    );
    assert!(
        app.requests_of(subject).await.unwrap().is_empty(),
        "nothing is filed before she confirms"
    );
    let csrf = hidden(&html, "csrf");
    let confirmed = browser
        .post(
            &api,
            "/me/requests",
            &[
                ("csrf", &csrf),
                ("right", "erasure"),
                ("description", "Удалите всё"),
                ("confirm", "yes"),
            ],
        )
        .await;
    let farewell = confirmed.text();
    assert!(
        farewell.contains("Запрос на удаление принят")
            && farewell.contains("квитанция придёт на вашу почту"),
        "{farewell}"
    );
    assert_eq!(app.requests_of(subject).await.unwrap().len(), 1);
}

/// Issue 22: what she holds reads as words in her language — money as tenge grouped the
/// locale's way, a course by its title, a payment's method and state by name, a phone number
/// grouped, a moment as a date — and her answered information request is a page that says
/// what is done with her data and for how long, never a code.
#[tokio::test]
async fn her_data_and_the_answer_to_her_information_request_read_as_words_in_her_language() {
    use vintrova_core::learning::{Level, Offering, OfferingKind};
    use vintrova_core::payments::DevProvider;
    let api = Api::new().await;
    let mut browser = Browser::default();
    registered(&api, &mut browser).await;
    let app = &api.harness.app;
    let subject = her(&api, &browser).await;
    let platform = vintrova_core::Actor::new("api", "platform");
    app.add_offering(&Offering {
        id: "neural-networks-101".into(),
        kind: OfferingKind::Course,
        level: Level::Beginner,
        title_ru: "Нейросети с нуля".into(),
        title_kk: "Нейрожелілер нөлден".into(),
        title_en: "Neural networks from scratch".into(),
    })
    .await
    .unwrap();
    app.enroll(
        &platform,
        subject,
        "neural-networks-101",
        "course_enrollment",
    )
    .await
    .unwrap();
    app.create_order(
        &platform,
        &DevProvider::new([7u8; 32]),
        subject,
        4_500_050,
        "KZT",
        "card",
    )
    .await
    .unwrap();
    app.record_consent(
        &platform,
        subject,
        "phone_number",
        vintrova_core::consent::ConsentAction::Granted,
        vintrova_core::consent::Channel::Cabinet,
        None,
    )
    .await
    .unwrap();
    let phone = app
        .parse_json(&json!({"contact": {"phone": "+77012345678"}}))
        .unwrap();
    app.update_subject(&platform, subject, phone, "cabinet")
        .await
        .unwrap();

    for (lang, words) in [
        (
            "ru",
            [
                "45\u{202f}000,50 ₸",
                "Нейросети с нуля",
                "банковская карта",
                "+7 701 234 56 78",
            ],
        ),
        (
            "en",
            [
                "45,000.50 ₸",
                "Neural networks from scratch",
                "bank card",
                "+7 701 234 56 78",
            ],
        ),
    ] {
        let page = browser.get(&api, &format!("/me?lang={lang}")).await.text();
        for word in words {
            assert!(page.contains(word), "{word} in {lang}: {page}");
        }
        assert_eq!(raw_codes(&page), Vec::<String>::new(), "{lang}");
    }

    let filed = file(
        &api,
        &mut browser,
        &[
            ("right", "information"),
            ("description", "Как вы используете мои данные?"),
        ],
    )
    .await;
    assert_eq!(filed.status, StatusCode::OK, "{}", filed.text());
    let request = app.requests_of(subject).await.unwrap()[0].clone();
    let dpo = vintrova_core::Actor::new("staff", "dpo");
    app.fulfil(&dpo, request.id, Fulfilment::Information)
        .await
        .unwrap();
    for (lang, words) in [
        (
            "ru",
            [
                "Как мы обрабатываем ваши данные",
                "3 года после завершения обучения",
                "пока вы пользуетесь услугами",
            ],
        ),
        (
            "kk",
            [
                "Деректеріңізді қалай өңдейміз",
                "оқуды аяқтағаннан кейін 3 жыл",
                "қызметтерді пайдаланып жүргеніңізше",
            ],
        ),
    ] {
        let page = browser
            .get(&api, &format!("/me/requests/{}?lang={lang}", request.id))
            .await
            .text();
        for word in words {
            assert!(page.contains(word), "{word} in {lang}: {page}");
        }
        assert_eq!(raw_codes(&page), Vec::<String>::new(), "{lang}");
    }
}

/// Found by the browser journey: request numbers were the time-ordered head of the id, so
/// requests filed within a minute shared one. Numbers are the random tail: distinct.
#[test]
fn requests_filed_together_have_different_numbers() {
    let numbers: std::collections::BTreeSet<String> = (0..50)
        .map(|_| vintrova_web::site::number(uuid::Uuid::now_v7()))
        .collect();
    assert_eq!(numbers.len(), 50);
}
