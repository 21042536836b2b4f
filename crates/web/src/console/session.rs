//! The console's way in and out: sign-in with the second factor, enrollment from the one-time
//! link, sign-out.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{Block, ConsolePage, Field, FormSpec, StaffVisit, form};
use crate::AppState;
use crate::access::same_token;
use crate::i18n::Tr;
use crate::site::{CsrfOnly, TokenQuery, Visit};
use crate::staff::{cleared_cookie, session_cookie, staff_sign_in};

fn sign_in_form(t: &Tr) -> FormSpec {
    form(
        "sign-in",
        "/staff/sign-in".into(),
        vec![
            Field::input("login", t.get("console-login"), "text"),
            Field::input("password", t.get("sign-in-password"), "password"),
            Field::input("code", t.get("console-code"), "text"),
        ],
        t.get("sign-in-submit"),
    )
}

fn public_page(
    state: &AppState,
    visit: Visit,
    status: StatusCode,
    title: String,
    blocks: Vec<Block>,
) -> Response {
    let mut c = visit.chrome(state);
    c.home = "/staff".into();
    c.brand = visit.t.get("console-name");
    c.nav = vec![];
    c.cookie_banner = false;
    visit.page(status, ConsolePage { c, title, blocks })
}

pub async fn sign_in_page(State(state): State<AppState>, visit: Visit) -> Response {
    let t = visit.t;
    public_page(
        &state,
        visit,
        StatusCode::OK,
        t.get("console-sign-in"),
        vec![Block::Form(sign_in_form(&t))],
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    login: String,
    password: String,
    code: String,
    csrf: String,
}

fn form_csrf_ok(visit: &Visit, presented: &str) -> bool {
    same_token(presented, &visit.form_token)
}

fn expired(state: &AppState, visit: Visit) -> Response {
    let t = visit.t;
    public_page(
        state,
        visit,
        StatusCode::FORBIDDEN,
        t.get("form-expired"),
        vec![Block::Text(t.get("form-expired"))],
    )
}

pub async fn sign_in(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<SignInForm>,
) -> Response {
    if !form_csrf_ok(&visit, &form.csrf) {
        return expired(&state, visit);
    }
    let t = visit.t;
    match staff_sign_in(&state, &form.login, &form.password, &form.code).await {
        Ok(session) => {
            let mut visit = visit;
            visit.cookies.push(session_cookie(&session.token));
            visit.redirect("/staff")
        }
        Err(refusal) if refusal.status() == StatusCode::TOO_MANY_REQUESTS => refusal,
        Err(_) => public_page(
            &state,
            visit,
            StatusCode::UNAUTHORIZED,
            t.get("console-sign-in"),
            vec![
                Block::Text(t.get("console-sign-in-failed")),
                Block::Form(sign_in_form(&t)),
            ],
        ),
    }
}

pub async fn enroll_page(
    State(state): State<AppState>,
    visit: Visit,
    Query(query): Query<TokenQuery>,
) -> Response {
    let t = visit.t;
    let Ok(setup) = state.app.enrollment(&query.token).await else {
        return public_page(
            &state,
            visit,
            StatusCode::GONE,
            t.get("console-link-gone"),
            vec![Block::Text(t.get("console-link-gone-text"))],
        );
    };
    let mut enroll = form(
        "enroll",
        "/staff/enroll".into(),
        vec![
            Field::input("password", t.get("reset-new-password"), "password"),
            Field::input("code", t.get("console-code"), "text"),
        ],
        t.get("console-enroll-submit"),
    );
    enroll.hidden.push(("token".into(), query.token.clone()));
    let blocks = vec![
        Block::Text(t.with("console-enroll-login", &[("login", setup.login.clone())])),
        Block::Text(t.get("console-enroll-secret")),
        Block::Code(setup.secret.clone()),
        Block::Text(t.get("console-enroll-qr")),
        Block::Svg(qr_svg(&setup.uri, &t.get("console-enroll"))),
        Block::Code(setup.uri.clone()),
        Block::Form(enroll),
    ];
    public_page(
        &state,
        visit,
        StatusCode::OK,
        t.get("console-enroll"),
        blocks,
    )
}

#[derive(Debug, Deserialize)]
pub struct EnrollForm {
    token: String,
    password: String,
    code: String,
    csrf: String,
}

pub async fn enroll(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<EnrollForm>,
) -> Response {
    if !form_csrf_ok(&visit, &form.csrf) {
        return expired(&state, visit);
    }
    let t = visit.t;
    match state
        .app
        .finish_enrollment(&form.token, &form.password, &form.code)
        .await
    {
        Ok(_) => visit.redirect("/staff/sign-in"),
        Err(e) => public_page(
            &state,
            visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            t.get("console-enroll"),
            vec![
                Block::Text(e.to_string()),
                Block::Text(t.get("console-enroll-again")),
            ],
        ),
    }
}

pub async fn sign_out(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !staff.csrf_ok(&form.csrf) {
        return staff.expired(&state);
    }
    let _ = state.app.staff_sign_out(&staff.token).await;
    let mut visit = staff.visit;
    visit.cookies.push(cleared_cookie());
    visit.redirect("/staff/sign-in")
}

/// The enrollment's `otpauth://` link as a QR code, drawn here as SVG: no script, no image
/// fetched from anywhere, so the strict CSP holds and the secret never leaves the page.
fn qr_svg(uri: &str, title: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            // Inline, without the XML declaration; named for screen readers (the link below it
            // says the same in text).
            let title = title
                .replace('&', "&amp;")
                .replace('"', "&quot;")
                .replace('<', "&lt;");
            svg.split_once("<svg")
                .map(|(_, rest)| format!("<svg role=\"img\" aria-label=\"{title}\"{rest}"))
                .unwrap_or_default()
        }
        // A link too long for a QR code still enrolls by typing the secret above.
        Err(_) => String::new(),
    }
}
