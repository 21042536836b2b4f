//! Accounts over HTTP (issue 20): registering an address a letter-writer holds goes through a
//! code, and the account opens on that same person.

use super::*;

async fn a_letter_writer_registers_through_a_code(api: Api) {
    use vintrova_core::requests::AnswerChannel;
    use vintrova_core::rights::RightKind;
    let app = &api.harness.app;
    let staff = vintrova_core::Actor::new("test", "dpo");
    let code_to = |to: &'static str| async move {
        let claimed = app.claim_outbox(10).await.unwrap();
        let email = claimed
            .iter()
            .map(|m| app.open_message(m).unwrap())
            .find(|e| e.to == to)
            .expect("a code went to the address");
        email
            .body
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect::<String>()
    };
    let letter = app
        .request_by_email(
            &staff,
            "dana.writer@mail.kz",
            RightKind::Information,
            "Что вы обо мне храните?",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let code = code_to("dana.writer@mail.kz").await;
    let writer = app
        .verify_request(&staff, letter.id, &code)
        .await
        .unwrap()
        .subject;

    let registration = json!({
        "data": {"contact": {"first_name": "Дана", "email": "dana.writer@mail.kz"}},
        "password": "очень-надёжный-пароль",
        "consents": ["contact_data"]
    });
    let held = api
        .authed("POST", "/api/v1/accounts", Some(registration))
        .await;
    assert_eq!(held.status, StatusCode::ACCEPTED, "{}", held.text());
    assert!(
        !held.text().contains(&writer.to_string()),
        "no person's id before the proof"
    );
    let claim = held.json()["id"].as_str().unwrap().to_string();
    let code = code_to("dana.writer@mail.kz").await;
    let wrong = api
        .authed(
            "POST",
            "/api/v1/accounts/confirmation",
            Some(json!({"id": claim, "code": "abcdef"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.text());
    let opened = api
        .authed(
            "POST",
            "/api/v1/accounts/confirmation",
            Some(json!({"id": claim, "code": code})),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text());
    assert_eq!(opened.json()["id"], writer.to_string());
    let signed_in = api
        .authed(
            "POST",
            "/api/v1/sessions",
            Some(json!({"email": "dana.writer@mail.kz", "password": "очень-надёжный-пароль"})),
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::CREATED);

    // The same on the site: the form asks for the code, and the code opens the account.
    let letter = app
        .request_by_email(
            &staff,
            "arman.writer@mail.kz",
            RightKind::Access,
            "Пришлите копию",
            AnswerChannel::Email,
        )
        .await
        .unwrap();
    let code = code_to("arman.writer@mail.kz").await;
    app.verify_request(&staff, letter.id, &code).await.unwrap();
    let mut browser = Browser::default();
    let page = browser.get(&api, "/register").await;
    let csrf = hidden(&page.text(), "csrf");
    let asked = browser
        .post(
            &api,
            "/register",
            &[
                ("csrf", &csrf),
                ("first_name", "Арман"),
                ("email", "arman.writer@mail.kz"),
                ("password", "Пароль-Армана-2025"),
                ("consent", "contact_data"),
            ],
        )
        .await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text());
    let (csrf, claim) = (hidden(&asked.text(), "csrf"), hidden(&asked.text(), "id"));
    let code = code_to("arman.writer@mail.kz").await;
    let done = browser
        .post(
            &api,
            "/register/confirm",
            &[("csrf", &csrf), ("id", &claim), ("code", &code)],
        )
        .await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.text());
    assert!(
        app.sign_in("arman.writer@mail.kz", "Пароль-Армана-2025")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_letter_writer_registers_through_a_code_over_http_on_sqlite() {
    a_letter_writer_registers_through_a_code(Api::new().await).await;
}

#[tokio::test]
async fn a_letter_writer_registers_through_a_code_over_http_on_postgresql() {
    a_letter_writer_registers_through_a_code(Api::on(Harness::postgres().await).await).await;
}

/// Issue 22: the cookie banner never asks what registration answered, and its "only necessary"
/// never silently takes back a consent given elsewhere — it says so, on the page where that
/// consent can be withdrawn.
#[tokio::test]
async fn the_banner_does_not_ask_again_or_silently_withdraw_a_consent_given_at_registration() {
    let api = Api::new().await;
    let mut browser = Browser::default();
    let page = browser.get(&api, "/register").await;
    let csrf = hidden(&page.text(), "csrf");
    let done = browser
        .post(
            &api,
            "/register",
            &[
                ("csrf", &csrf),
                ("email", "banner.once@mail.kz"),
                ("password", "Пароль-баннера-2025"),
                ("consent", "contact_data"),
                ("consent", "learning_analytics"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(browser.jar["__Host-vintrova-cookies"], "analytics");
    let me = browser.get(&api, "/me").await.text();
    assert!(!me.contains("value=\"refuse\""), "not asked again");

    let settings = browser.get(&api, "/cookies").await;
    let csrf = hidden(&settings.text(), "csrf");
    let refused = browser
        .post(
            &api,
            "/cookies",
            &[("csrf", &csrf), ("choice", "refuse"), ("next", "/me")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let to = refused.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(to.starts_with("/me/consents"), "{to}");
    let consents = browser.get(&api, &to).await.text();
    assert!(
        consents.contains("по-прежнему действует"),
        "it says so: {consents}"
    );
    let app = &api.harness.app;
    let id = app
        .find(
            &vintrova_core::Actor::new("test", "check"),
            "contact.email",
            "banner.once@mail.kz",
        )
        .await
        .unwrap()[0];
    let last = app
        .last_consent(id, "learning_analytics")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        last.action,
        vintrova_core::consent::ConsentAction::Granted,
        "still given"
    );
}

/// Issue 21 (item 10): the site's language at registration is the one we write in — a student
/// who registers in Kazakh is acknowledged in Kazakh.
#[tokio::test]
async fn a_student_who_registers_in_kazakh_is_written_to_in_kazakh() {
    let api = Api::new().await;
    let mut browser = Browser::default();
    let page = browser.get(&api, "/register?lang=kk").await;
    let csrf = hidden(&page.text(), "csrf");
    let done = browser
        .post(
            &api,
            "/register",
            &[
                ("csrf", &csrf),
                ("email", "kazakh.student@mail.kz"),
                ("password", "Қазақша-пароль-2025"),
                ("consent", "contact_data"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    let requests = browser.get(&api, "/me/requests").await;
    let csrf = hidden(&requests.text(), "csrf");
    browser
        .post(
            &api,
            "/me/requests",
            &[
                ("csrf", &csrf),
                ("right", "information"),
                ("channel", "email"),
                ("description", "Не сақтайсыздар?"),
            ],
        )
        .await;
    let app = &api.harness.app;
    let titles: Vec<String> = app
        .claim_outbox(100)
        .await
        .unwrap()
        .iter()
        .map(|m| app.open_message(m).unwrap())
        .filter(|e| e.to == "kazakh.student@mail.kz")
        .map(|e| e.subject)
        .collect();
    assert!(
        titles.iter().any(|t| t == "Сұранысыңыз қабылданды"),
        "{titles:?}"
    );
}

/// Issue 22: on a new device the banner does not ask what the person already answered — signing
/// in restores her answer from the consent ledger; someone who never answered is still asked.
#[tokio::test]
async fn signing_in_on_a_new_device_restores_the_cookie_answer_from_the_ledger() {
    let api = Api::new().await;
    let mut first = Browser::default();
    let page = first.get(&api, "/register").await;
    let csrf = hidden(&page.text(), "csrf");
    let password = "Пароль-устройства-2025";
    for (email, analytics) in [
        ("two.devices@mail.kz", true),
        ("never.asked@mail.kz", false),
    ] {
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", password),
            ("consent", "contact_data"),
        ];
        if analytics {
            fields.push(("consent", "learning_analytics"));
        }
        let done = Browser {
            jar: first.jar.clone(),
        }
        .post(&api, "/register", &fields)
        .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    }

    let sign_in = |email: &'static str| {
        let api = &api;
        async move {
            let mut phone = Browser::default();
            let csrf = hidden(&phone.get(api, "/sign-in").await.text(), "csrf");
            let signed = phone
                .post(
                    api,
                    "/sign-in",
                    &[("csrf", &csrf), ("email", email), ("password", password)],
                )
                .await;
            assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text());
            phone
        }
    };
    let mut phone = sign_in("two.devices@mail.kz").await;
    assert_eq!(phone.jar["__Host-vintrova-cookies"], "analytics");
    let me = phone.get(&api, "/me").await.text();
    assert!(!me.contains("value=\"refuse\""), "not asked again: {me}");

    // An unticked box is not recorded, so the ledger does not know her answer: she is asked.
    let mut other = sign_in("never.asked@mail.kz").await;
    assert!(!other.jar.contains_key("__Host-vintrova-cookies"));
    assert!(
        other
            .get(&api, "/me")
            .await
            .text()
            .contains("value=\"refuse\"")
    );
}
