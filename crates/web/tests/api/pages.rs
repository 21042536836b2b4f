//! Issue 22: every word a person sees is in their language. A refused form comes back in the
//! page's language with what was typed and each problem beside its field; an error a browser
//! meets is a page (never JSON or the core's English), a server's with the id to quote.

use super::*;

/// What must never reach a page: the core's English, a field path, a rule or problem code.
fn raw_words(html: &str) -> Vec<&'static str> {
    [
        "contact.email",
        "expected",
        "not an email",
        "characters long",
        "password_length",
        "not_an_email",
        "problem-",
        "error-",
        "application/problem+json",
    ]
    .into_iter()
    .filter(|w| html.contains(w))
    .collect()
}

#[tokio::test]
async fn a_refused_registration_keeps_what_was_typed_and_says_what_is_wrong_in_each_language() {
    let api = Api::new().await;
    for (lang, email_words, password_words) in [
        (
            "ru",
            "Это не похоже на адрес электронной почты",
            "Пароль должен быть от 10 до 128 символов",
        ),
        (
            "kk",
            "Бұл электрондық пошта мекенжайына ұқсамайды",
            "Құпиясөз 10–128 таңбадан тұруы керек",
        ),
        (
            "en",
            "This does not look like an email address",
            "A password has 10 to 128 characters",
        ),
    ] {
        let mut browser = Browser::default();
        let page = browser.get(&api, &format!("/register?lang={lang}")).await;
        let csrf = hidden(&page.text(), "csrf");
        let refused = browser
            .post(
                &api,
                "/register",
                &[
                    ("csrf", &csrf),
                    ("first_name", "Айгерім"),
                    ("email", "aigerim-at-mail.kz"),
                    ("password", "short"),
                    ("consent", "contact_data"),
                    ("consent", "notifications"),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        let html = refused.text();
        assert!(html.contains(email_words), "{lang}: {html}");
        // The core checks the address first and stops there; the password is checked on an
        // address that reads.
        assert!(
            html.contains("value=\"Айгерім\"") && html.contains("value=\"aigerim-at-mail.kz\""),
            "{lang}: what was typed stays: {html}"
        );
        assert!(
            html.contains("id=\"email\"")
                && html.contains("aria-invalid=\"true\" aria-describedby=\"email-error\"")
                && html.contains("<a href=\"#email\">"),
            "{lang}: the problem stands beside its field and the list links to it: {html}"
        );
        assert!(
            html.contains("id=\"consent-contact_data\" name=\"consent\" value=\"contact_data\" required checked")
                && html.contains("value=\"notifications\" checked"),
            "{lang}: the ticked consents stay ticked: {html}"
        );
        assert!(
            !html.contains("value=\"short\""),
            "{lang}: a password never comes back"
        );
        assert_eq!(raw_words(&html), Vec::<&str>::new(), "{lang}: {html}");

        let short = browser
            .post(
                &api,
                "/register",
                &[
                    ("csrf", &csrf),
                    ("email", &format!("aigerim.{lang}@mail.kz")),
                    ("password", "short"),
                    ("consent", "contact_data"),
                ],
            )
            .await;
        assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY, "{lang}");
        assert!(
            short.text().contains(password_words),
            "{lang}: {}",
            short.text()
        );
        assert_eq!(raw_words(&short.text()), Vec::<&str>::new(), "{lang}");
    }
}

#[tokio::test]
async fn a_browser_meets_pages_in_its_language_never_json_for_a_broken_form_or_a_missing_page() {
    let api = Api::new().await;
    for (lang, form_words, missing_words) in [
        ("ru", "Форма не прочитана", "Страница не найдена"),
        ("kk", "Форма оқылмады", "Бет табылмады"),
        ("en", "The form could not be read", "Page not found"),
    ] {
        let mut browser = Browser::default();
        browser.get(&api, &format!("/sign-in?lang={lang}")).await;
        // A form without its fields (a half-sent body): a page, not the extractor's text.
        let broken = browser
            .post(&api, "/me/requests", &[("nothing", "x")])
            .await;
        assert!(broken.status.is_client_error(), "{lang}: {}", broken.status);
        let html = broken.text();
        assert!(html.contains(form_words), "{lang}: {html}");
        assert!(
            html.starts_with("<!doctype html>"),
            "{lang}: a page: {html}"
        );
        assert_eq!(raw_words(&html), Vec::<&str>::new(), "{lang}: {html}");
        let missing = browser.get(&api, "/no/such/page").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND);
        assert!(missing.text().contains(missing_words), "{lang}");
    }
    // The API keeps answering programs in problem details.
    let api_missing = api.send(get("/api/v1/no-such", "")).await;
    assert_eq!(api_missing.status, StatusCode::NOT_FOUND);
    assert!(api_missing.text().contains("\"type\""));
}
