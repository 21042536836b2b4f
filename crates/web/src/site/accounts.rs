//! Having an account: registering with unticked consents, signing in and out, and resetting a
//! forgotten password by a link sent by mail.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use vintrova_core::accounts::Registered;
use vintrova_core::consent::ConsentAction;
use vintrova_core::{Actor, CoreError};

use super::consents::{data_consents, purpose_consents};
use super::{
    Chrome, CsrfOnly, Entered, Flagged, SESSION_COOKIE, TextInput, TokenQuery, Visit, expired,
    failed, host_cookie,
};
use crate::AppState;
use crate::security::Door;

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    c: Chrome,
    f: Entered,
    inputs: Vec<TextInput>,
    /// Consents an account needs, each shown whole before it is given: (key, name, text).
    required: Vec<(String, String, String)>,
    consents: Vec<(String, String)>,
}

/// A registration held until its address is proven: the code sent there goes in here.
#[derive(Template)]
#[template(path = "register_code.html")]
struct CodePage {
    c: Chrome,
    id: String,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Chrome,
}

/// The registration form: the consents an account needs, shown whole, and the purposes one may
/// consent to, unticked.
fn register_form(state: &AppState, visit: &Visit, c: Chrome, f: Entered) -> RegisterPage {
    let policy = state.app.policy();
    let required = data_consents(policy.required_consents(), &visit.t).collect();
    let consents = purpose_consents(policy, &visit.t).collect();
    let t = &visit.t;
    let inputs = vec![
        f.input("first_name", t.get("register-first-name"), "text", "")
            .autocomplete("given-name")
            .max(100),
        f.input("last_name", t.get("register-last-name"), "text", "")
            .autocomplete("family-name")
            .max(100),
        f.input("email", t.get("register-email"), "email", "")
            .autocomplete("email")
            .max(254)
            .required(),
        f.input("password", t.get("register-password"), "password", "")
            .autocomplete("new-password")
            .max(128)
            .required(),
    ];
    RegisterPage {
        c,
        f,
        inputs,
        required,
        consents,
    }
}

pub async fn register_page(State(state): State<AppState>, visit: Visit) -> Response {
    let c = visit.chrome(&state);
    let page = register_form(&state, &visit, c, Entered::default());
    visit.page(StatusCode::OK, page)
}

/// The registration form: repeated `consent` fields, so read as pairs.
pub async fn register(
    State(state): State<AppState>,
    visit: Visit,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let one = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    if !visit.csrf_ok(&one("csrf")) {
        return expired(&state, visit);
    }
    let consents: Vec<String> = fields
        .iter()
        .filter(|(k, _)| k == "consent")
        .map(|(_, v)| v.clone())
        .collect();
    let ticked_analytics = consents.iter().any(|c| c == "learning_analytics");
    let email = one("email");
    if let Err(throttled) = state
        .limits
        .account(Door::Registration, &email, state.app.now())
    {
        return visit.throttled(throttled);
    }
    let mut contact = json!({ "email": email });
    for name in ["first_name", "last_name"] {
        let value = one(name);
        if !value.is_empty() {
            contact[name] = Value::String(value);
        }
    }
    let outcome = match state.app.parse_json(&json!({ "contact": contact })) {
        Ok(values) => {
            state
                .app
                .register(
                    &Actor::new("site", "registration"),
                    values,
                    &one("password"),
                    consents,
                )
                .await
        }
        Err(invalid) => Err(CoreError::Invalid(invalid)),
    };
    match outcome {
        Ok(Registered::Open(id)) => {
            remember_language(&state, id, &visit).await;
            // The registration answered the cookie banner's question: it is not asked again.
            let analytics = ticked_analytics;
            // Registered is signed in: straight to her data, no second form.
            match state.app.sign_in(&email, &one("password")).await {
                Ok(session) => {
                    let mut visit = visit;
                    visit
                        .cookies
                        .push(host_cookie(SESSION_COOKIE, &session.token, None));
                    visit.cookies.push(host_cookie(
                        super::CHOICE_COOKIE,
                        if analytics { "analytics" } else { "essential" },
                        Some(31_536_000),
                    ));
                    visit.redirect("/me")
                }
                Err(_) => {
                    let mut c = visit.chrome(&state);
                    c.message = Some(visit.t.get("register-done"));
                    visit.page(StatusCode::CREATED, SignInPage { c })
                }
            }
        }
        Ok(Registered::AddressToProve(held)) => {
            let c = visit.chrome(&state);
            visit.page(
                StatusCode::ACCEPTED,
                CodePage {
                    c,
                    id: held.id.to_string(),
                },
            )
        }
        Err(CoreError::Invalid(invalid)) => {
            let (f, problems) =
                Entered::typed(&fields).refused(&visit.t, state.app.policy(), &invalid);
            let mut c = visit.chrome(&state);
            c.problems = problems;
            let page = register_form(&state, &visit, c, f);
            visit.page(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Err(e) => failed(&state, visit, e),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    id: String,
    code: String,
}

/// The code of a held registration, back: the account opens on the person who held the address.
pub async fn register_confirm(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<CodeForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let Ok(id) = form.id.trim().parse() else {
        return expired(&state, visit);
    };
    match state
        .app
        .confirm_registration(&Actor::new("site", "registration"), id, &form.code)
        .await
    {
        Ok(_) => {
            let mut c = visit.chrome(&state);
            c.message = Some(visit.t.get("register-done"));
            visit.page(StatusCode::CREATED, SignInPage { c })
        }
        Err(CoreError::Verification(wrong)) => {
            let mut c = visit.chrome(&state);
            c.problems = vec![Flagged::text(
                crate::refusals::say(&visit.t, state.app.policy(), CoreError::Verification(wrong))
                    .text,
            )];
            visit.page(
                StatusCode::UNPROCESSABLE_ENTITY,
                CodePage { c, id: form.id },
            )
        }
        Err(e) => failed(&state, visit, e),
    }
}

/// The language of the site the person registers or signs in on is the one we write to them in.
async fn remember_language(state: &AppState, subject: uuid::Uuid, visit: &Visit) {
    if let Err(e) = state.app.set_language(subject, visit.t.code()).await {
        tracing::warn!(error = %e, "could not keep the language a person uses");
    }
}

pub async fn sign_in_page(State(state): State<AppState>, visit: Visit) -> Response {
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, SignInPage { c })
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: String,
    email: String,
    password: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<SignInForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, Some((Door::SignIn, &form.email))) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    match state.app.sign_in(&form.email, &form.password).await {
        Ok(session) => {
            remember_language(&state, session.subject, &visit).await;
            let restored = restored_choice(&state, session.subject, &visit).await;
            let mut visit = visit;
            visit
                .cookies
                .push(host_cookie(SESSION_COOKIE, &session.token, None));
            if let Some(choice) = restored {
                visit
                    .cookies
                    .push(host_cookie(super::CHOICE_COOKIE, choice, Some(31_536_000)));
            }
            visit.redirect("/me")
        }
        Err(_) => {
            let mut c = visit.chrome(&state);
            c.problems = vec![Flagged::text(visit.t.get("sign-in-failed"))];
            visit.page(StatusCode::UNAUTHORIZED, SignInPage { c })
        }
    }
}

/// On a device that has not answered the cookie banner, the answer the person already gave
/// (at registration, in their consents, on another device's banner) is its answer: the banner
/// does not ask again what the ledger knows. Nothing is restored when she never answered.
async fn restored_choice(state: &AppState, subject: Uuid, visit: &Visit) -> Option<&'static str> {
    if visit.cookie_choice.is_some() {
        return None;
    }
    match state.app.last_consent(subject, "learning_analytics").await {
        Ok(last) => last.map(|e| match e.action {
            ConsentAction::Granted => "analytics",
            ConsentAction::Withdrawn => "essential",
        }),
        Err(e) => {
            tracing::warn!(error = %e, "the consent ledger could not be read");
            None
        }
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    if let Some((token, _)) = &visit.session {
        let _ = state.app.sign_out(token).await;
    }
    let mut visit = visit;
    visit.session = None;
    visit.cookies.push(host_cookie(SESSION_COOKIE, "", Some(0)));
    visit.redirect("/")
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetPage {
    c: Chrome,
    token: Option<String>,
}

pub async fn reset_page(State(state): State<AppState>, visit: Visit) -> Response {
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, ResetPage { c, token: None })
}

#[derive(Deserialize)]
pub struct ResetForm {
    csrf: String,
    email: String,
}

/// Ask for a reset link: the same answer for every address; a registered one gets the link by
/// mail, pointing at this server's configured address (never the request's Host header).
pub async fn reset(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<ResetForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, Some((Door::PasswordReset, &form.email))) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let base = state.public_url.trim_end_matches('/').to_string();
    let sent = state
        .app
        .send_password_reset(
            &Actor::new("site", "password-reset"),
            &form.email,
            visit.t.code(),
            |token| format!("{base}/password-reset/confirm?token={token}"),
        )
        .await;
    match sent {
        Ok(()) => {
            let mut c = visit.chrome(&state);
            c.message = Some(visit.t.get("reset-sent"));
            visit.page(StatusCode::OK, ResetPage { c, token: None })
        }
        Err(e) => failed(&state, visit, e),
    }
}

pub async fn reset_confirm_page(
    State(state): State<AppState>,
    visit: Visit,
    Query(q): Query<TokenQuery>,
) -> Response {
    let c = visit.chrome(&state);
    visit.page(
        StatusCode::OK,
        ResetPage {
            c,
            token: Some(q.token),
        },
    )
}

#[derive(Deserialize)]
pub struct ResetConfirmForm {
    csrf: String,
    token: String,
    password: String,
}

pub async fn reset_confirm(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<ResetConfirmForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let t = visit.t;
    match state
        .app
        .reset_password(
            &Actor::new("site", "password-reset"),
            &form.token,
            &form.password,
        )
        .await
    {
        Ok(()) => {
            let mut c = visit.chrome(&state);
            c.message = Some(t.get("reset-done"));
            visit.page(StatusCode::OK, SignInPage { c })
        }
        Err(CoreError::Invalid(invalid)) => {
            let (_, problems) = Entered::default().refused(&t, state.app.policy(), &invalid);
            let mut c = visit.chrome(&state);
            c.problems = problems;
            visit.page(
                StatusCode::UNPROCESSABLE_ENTITY,
                ResetPage {
                    c,
                    token: Some(form.token),
                },
            )
        }
        Err(CoreError::Auth(_)) => {
            let mut c = visit.chrome(&state);
            c.problems = vec![Flagged::text(t.get("reset-invalid"))];
            visit.page(StatusCode::UNAUTHORIZED, ResetPage { c, token: None })
        }
        Err(e) => failed(&state, visit, e),
    }
}
