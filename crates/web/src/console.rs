//! The staff console's doors, server-rendered and usable without JavaScript: sign-in with the
//! second factor, enrollment from the one-time link, the home page with the incident clocks,
//! sign-out. Every form carries a CSRF token: before sign-in a double-submit cookie, after it
//! the token derived from the session. (The full console, in three languages, is issue 7's.)

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use vintrova_core::incidents::ClockState;
use vintrova_core::staff::{Permission, StaffMember, csrf_token};

use crate::AppState;
use crate::access::{STAFF_COOKIE, cookie, same_token};
use crate::staff::{cleared_cookie, session_cookie, staff_sign_in};

/// The pre-session CSRF cookie of the sign-in and enrollment forms.
const FORM_COOKIE: &str = "__Host-vintrova-form";

pub const STYLESHEET: &str = "body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#111;background:#fff;line-height:1.5}\
label{display:block;margin:.75rem 0 .25rem;font-weight:600}input{font:inherit;padding:.5rem;width:100%;max-width:24rem;border:1px solid #555;border-radius:4px}\
button{font:inherit;margin-top:1rem;padding:.5rem 1.25rem;background:#0b4f8a;color:#fff;border:0;border-radius:4px;cursor:pointer}\
button:focus,input:focus{outline:3px solid #f2a900}.error{color:#a00000;font-weight:600}.overdue{color:#a00000;font-weight:700}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.4rem;text-align:left}code{word-break:break-all}";

pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}

/// Escape text for HTML.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} — Vintrova</title><link rel=\"stylesheet\" href=\"/assets/console.css\"></head>\
<body><header><p>Vintrova · консоль сотрудников</p></header><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title)
    );
    (status, Html(html)).into_response()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's randomness");
    hex::encode(bytes)
}

/// A page with a form: sets the double-submit cookie its hidden field repeats.
fn form_page(status: StatusCode, title: &str, body: impl Fn(&str) -> String) -> Response {
    let token = random_hex();
    let mut response = page(status, title, &body(&token));
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{FORM_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict"
        ))
        .expect("hex is a header value"),
    );
    response
}

fn form_csrf_ok(headers: &HeaderMap, presented: &str) -> bool {
    cookie(headers, FORM_COOKIE).is_some_and(|c| same_token(c, presented))
}

fn csrf_refused() -> Response {
    page(
        StatusCode::FORBIDDEN,
        "Форма устарела",
        "<p class=\"error\">Форма устарела или открыта с другого сайта. <a href=\"/staff/sign-in\">Откройте её заново</a>.</p>",
    )
}

fn sign_in_form(error: Option<&str>) -> impl Fn(&str) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    move |csrf| {
        format!(
            "{error}<form method=\"post\" action=\"/staff/sign-in\">\
<input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<label for=\"login\">Логин</label><input id=\"login\" name=\"login\" autocomplete=\"username\" required maxlength=\"64\">\
<label for=\"password\">Пароль</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"128\">\
<label for=\"code\">Код из приложения-аутентификатора</label><input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"6\">\
<button type=\"submit\">Войти</button></form>"
        )
    }
}

pub async fn sign_in_page() -> Response {
    form_page(StatusCode::OK, "Вход для сотрудников", sign_in_form(None))
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    login: String,
    password: String,
    code: String,
    csrf: String,
}

pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    if !form_csrf_ok(&headers, &form.csrf) {
        return csrf_refused();
    }
    match staff_sign_in(&state, &form.login, &form.password, &form.code).await {
        Ok(session) => {
            let mut response = Redirect::to("/staff").into_response();
            response
                .headers_mut()
                .insert(header::SET_COOKIE, session_cookie(&session.token));
            response
        }
        Err(refusal) if refusal.status() == StatusCode::TOO_MANY_REQUESTS => refusal,
        Err(_) => form_page(
            StatusCode::UNAUTHORIZED,
            "Вход для сотрудников",
            sign_in_form(Some(
                "Неверный логин, пароль или код, либо учётная запись временно заблокирована после нескольких неудачных попыток.",
            )),
        ),
    }
}

#[derive(Debug, Deserialize)]
pub struct EnrollQuery {
    token: String,
}

pub async fn enroll_page(
    State(state): State<AppState>,
    Query(query): Query<EnrollQuery>,
) -> Response {
    let setup = match state.app.enrollment(&query.token).await {
        Ok(setup) => setup,
        Err(_) => {
            return page(
                StatusCode::GONE,
                "Ссылка недействительна",
                "<p>Ссылка для входа уже использована или истекла. Попросите администратора выпустить новую.</p>",
            );
        }
    };
    let token = escape(&query.token);
    form_page(
        StatusCode::OK,
        "Регистрация сотрудника",
        move |csrf| {
            format!(
                "<p>Логин: <strong>{login}</strong></p>\
<p>Добавьте второй фактор в приложение-аутентификатор (ключ для ручного ввода):</p><p><code>{secret}</code></p>\
<p>Или откройте: <code>{uri}</code></p>\
<form method=\"post\" action=\"/staff/enroll\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<input type=\"hidden\" name=\"token\" value=\"{token}\">\
<label for=\"password\">Новый пароль (10–128 символов)</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"10\" maxlength=\"128\">\
<label for=\"code\">Код из приложения</label><input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" required maxlength=\"6\">\
<button type=\"submit\">Завершить регистрацию</button></form>",
                login = escape(&setup.login),
                secret = escape(&setup.secret),
                uri = escape(&setup.uri),
            )
        },
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
    headers: HeaderMap,
    Form(form): Form<EnrollForm>,
) -> Response {
    if !form_csrf_ok(&headers, &form.csrf) {
        return csrf_refused();
    }
    match state
        .app
        .finish_enrollment(&form.token, &form.password, &form.code)
        .await
    {
        Ok(_) => Redirect::to("/staff/sign-in").into_response(),
        Err(e) => page(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Регистрация не завершена",
            &format!(
                "<p class=\"error\" role=\"alert\">{}</p><p><a href=\"/staff/enroll?token={}\">Попробовать снова</a></p>",
                escape(&e.to_string()),
                escape(&form.token)
            ),
        ),
    }
}

async fn signed_in(state: &AppState, headers: &HeaderMap) -> Option<(StaffMember, String)> {
    let token = cookie(headers, STAFF_COOKIE)?;
    let member = state.app.staff_session(token).await.ok()?;
    Some((member, token.to_string()))
}

/// The console's home: who is signed in, whether their paperwork opens personal data, and the
/// incident register's clocks for those who may see it.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some((member, token)) = signed_in(&state, &headers).await else {
        return Redirect::to("/staff/sign-in").into_response();
    };
    if let Err(e) = state.app.permit(Some(&member), Permission::Console, None) {
        return page(
            StatusCode::FORBIDDEN,
            "Доступ закрыт",
            &escape(&e.to_string()),
        );
    }
    let today = state
        .app
        .now()
        .to_zoned_datetime(state.app.policy().zone())
        .date();
    let standing = match member.paperwork.standing(today) {
        Ok(()) => format!(
            "<p>Доступ к персональным данным открыт до {}.</p>",
            member
                .paperwork
                .training_lapses_on
                .map(|d| d.to_string())
                .unwrap_or_default()
        ),
        Err(reason) => format!(
            "<p class=\"error\">Доступ к персональным данным закрыт: {}</p>",
            escape(&reason.to_string())
        ),
    };
    let incidents = if state
        .app
        .permit(Some(&member), Permission::ViewIncidents, None)
        .is_ok()
    {
        incident_table(&state).await
    } else {
        String::new()
    };
    let csrf = csrf_token(&token);
    page(
        StatusCode::OK,
        "Консоль",
        &format!(
            "<p>Вы вошли как <strong>{login}</strong>, роль: {role}.</p>{standing}{incidents}\
<form method=\"post\" action=\"/staff/sign-out\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<button type=\"submit\">Выйти</button></form>",
            login = escape(&member.login),
            role = member.role.as_str(),
        ),
    )
}

async fn incident_table(state: &AppState) -> String {
    let Ok(incidents) = state.app.incidents().await else {
        return "<p class=\"error\">Реестр инцидентов недоступен.</p>".into();
    };
    if incidents.is_empty() {
        return "<h2>Инциденты</h2><p>Инцидентов нет.</p>".into();
    }
    let rows: String = incidents
        .iter()
        .map(|i| {
            let clock = match i.authority.state {
                ClockState::Running => format!(
                    "осталось {} ч {} мин",
                    i.authority.minutes_left.unwrap_or(0) / 60,
                    i.authority.minutes_left.unwrap_or(0) % 60
                ),
                ClockState::Overdue => "<span class=\"overdue\">просрочено</span>".into(),
                ClockState::Met => "уведомлён в срок".into(),
                ClockState::MetLate => "уведомлён с опозданием".into(),
            };
            format!(
                "<tr><td>{detected}</td><td>{description}</td><td>{due}</td><td>{clock}</td><td>{status}</td></tr>",
                detected = i.detected_at,
                description = escape(&i.description),
                due = i.authority.due_at,
                status = if i.is_open() { "открыт" } else { "закрыт" },
            )
        })
        .collect();
    format!(
        "<h2>Инциденты</h2><table><caption>Уведомление уполномоченного органа — в течение одного рабочего дня</caption>\
<thead><tr><th scope=\"col\">Обнаружен</th><th scope=\"col\">Описание</th><th scope=\"col\">Срок</th><th scope=\"col\">Часы</th><th scope=\"col\">Статус</th></tr></thead><tbody>{rows}</tbody></table>"
    )
}

#[derive(Debug, Deserialize)]
pub struct SignOutForm {
    csrf: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignOutForm>,
) -> Response {
    let Some(token) = cookie(&headers, STAFF_COOKIE) else {
        return Redirect::to("/staff/sign-in").into_response();
    };
    if !same_token(&form.csrf, &csrf_token(token)) {
        return csrf_refused();
    }
    let _ = state.app.staff_sign_out(token).await;
    let mut response = Redirect::to("/staff/sign-in").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cleared_cookie());
    response
}
