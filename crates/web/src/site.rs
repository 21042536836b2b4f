//! The public site and the person's privacy center, server-rendered in three languages and
//! usable without JavaScript: home, the policy rendered from `policy/vintrova.toml`, the cookie
//! banner (refusing as easy as accepting), registration with unticked consents, sign-in, "my
//! data", consents with one-click withdrawal, and rights requests.
//!
//! Every form carries a CSRF token: a double-submit cookie before sign-in, the session's own
//! token after. The person's session travels in a `__Host-` cookie; no personal datum is ever
//! in a URL.

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;
use vintrova_core::consent::{Channel, ConsentAction};
use vintrova_core::requests::AnswerChannel;
use vintrova_core::rights::RightKind;
use vintrova_core::staff::csrf_token;
use vintrova_core::{Actor, CoreError};
use vintrova_policy::LegalBasis;

use crate::AppState;
use crate::access::{cookie, same_token};
use crate::i18n::{LANG_COOKIE, Lang, Tr};
use crate::security::Door;

/// The person's session.
pub const SESSION_COOKIE: &str = "__Host-vintrova-session";
/// The pre-session forms' double-submit token.
pub const FORM_COOKIE: &str = "__Host-vintrova-form";
/// The cookie banner's answer: `analytics` or `essential`. Itself essential.
pub const CHOICE_COOKIE: &str = "__Host-vintrova-cookies";

pub(crate) fn host_cookie(name: &str, value: &str, max_age: Option<u32>) -> HeaderValue {
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict{age}"
    ))
    .expect("tokens and words are header values")
}

/// One visit: its language, who is signed in, its CSRF token, and the cookies to set.
pub struct Visit {
    pub t: Tr,
    path: String,
    session: Option<(String, Uuid)>,
    pub(crate) form_token: String,
    pub(crate) cookies: Vec<HeaderValue>,
    cookie_choice: Option<String>,
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

impl FromRequestParts<AppState> for Visit {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let query = Query::<LangQuery>::try_from_uri(&parts.uri)
            .map(|q| q.0.lang)
            .unwrap_or(None);
        let lang = Lang::of(query.as_deref(), &parts.headers);
        let mut cookies = vec![];
        if query.as_deref().and_then(Lang::parse).is_some() {
            cookies.push(host_cookie(LANG_COOKIE, lang.code(), Some(31_536_000)));
        }
        let session = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => state
                .app
                .session(token)
                .await
                .ok()
                .map(|subject| (token.to_string(), subject)),
            None => None,
        };
        let form_token = match cookie(&parts.headers, FORM_COOKIE) {
            Some(token) if token.len() == 64 => token.to_string(),
            _ => {
                let token = vintrova_core::accounts::random_token()
                    .expect("the operating system's randomness");
                cookies.push(host_cookie(FORM_COOKIE, &token, None));
                token
            }
        };
        Ok(Visit {
            t: Tr::new(lang),
            path: parts.uri.path().to_string(),
            session,
            form_token,
            cookies,
            cookie_choice: cookie(&parts.headers, CHOICE_COOKIE).map(str::to_string),
        })
    }
}

impl Visit {
    /// The token this visit's forms carry.
    fn csrf(&self) -> String {
        match &self.session {
            Some((token, _)) => csrf_token(token),
            None => self.form_token.clone(),
        }
    }

    fn csrf_ok(&self, presented: &str) -> bool {
        same_token(presented, &self.csrf())
    }

    /// Let a form in: its CSRF token must be this visit's, and when it names an account, the
    /// account's knocks on `door` must be within their limit. Otherwise, the answer to send.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the page to answer with, made once per request"
    )]
    fn admit(
        self,
        state: &AppState,
        csrf: &str,
        account: Option<(Door, &str)>,
    ) -> Result<Visit, Response> {
        if !self.csrf_ok(csrf) {
            return Err(expired(state, self));
        }
        if let Some((door, account)) = account
            && let Err(throttled) = state.limits.account(door, account, state.app.now())
        {
            return Err(self.respond(throttled.into_response()));
        }
        Ok(self)
    }

    fn subject(&self) -> Option<Uuid> {
        self.session.as_ref().map(|(_, s)| *s)
    }

    /// The session token: the person's own copy is claimed with it, never with an id.
    fn session_token(&self) -> Option<&str> {
        self.session.as_ref().map(|(t, _)| t.as_str())
    }

    fn actor(&self) -> Option<Actor> {
        self.subject().map(|s| Actor::new("person", &s.to_string()))
    }

    pub(crate) fn chrome(&self, state: &AppState) -> Chrome {
        let policy = state.app.policy();
        let t = self.t;
        let contact = &policy.contact;
        let days: Vec<String> = contact
            .hours
            .days
            .iter()
            .map(|d| t.get(&format!("day-{}", format!("{d:?}").to_lowercase())))
            .collect();
        let mut nav = vec![("/policy".to_string(), t.get("nav-policy"))];
        if self.session.is_some() {
            nav.push(("/me".into(), t.get("nav-my-data")));
            nav.push(("/me/consents".into(), t.get("nav-consents")));
            nav.push(("/me/requests".into(), t.get("nav-requests")));
            nav.push(("/me/profile".into(), t.get("nav-profile")));
            nav.push(("/me/activity".into(), t.get("nav-activity")));
            nav.push(("/me/access".into(), t.get("nav-access")));
        } else {
            nav.push(("/register".into(), t.get("nav-register")));
            nav.push(("/sign-in".into(), t.get("nav-sign-in")));
        }
        Chrome {
            t,
            path: self.path.clone(),
            home: "/".into(),
            brand: t.get("site-name"),
            nav,
            sign_out: self.session.is_some().then(|| "/sign-out".to_string()),
            signed_in: self.session.is_some(),
            cookie_banner: self.cookie_choice.is_none(),
            csrf: self.csrf(),
            languages: Lang::ALL
                .into_iter()
                .map(|l| (l.code(), Tr::new(l).get("lang-name"), l == t.lang))
                .collect(),
            message: None,
            problems: vec![],
            contact_name: contact.name.get(t.code()).to_string(),
            contact_email: contact.email.clone(),
            contact_phone: contact.phone.clone(),
            hours: t.with(
                "footer-hours",
                &[
                    ("days", days.join(", ")),
                    ("opens", contact.hours.opens.strftime("%H:%M").to_string()),
                    ("closes", contact.hours.closes.strftime("%H:%M").to_string()),
                ],
            ),
            operator: policy.operator.name.clone(),
        }
    }

    /// Render a page with this visit's cookies.
    pub(crate) fn page(self, status: StatusCode, page: impl Template) -> Response {
        let body = page.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "a page failed to render");
            String::from("<!doctype html><title>Vintrova</title><p>Error</p>")
        });
        self.respond((status, Html(body)).into_response())
    }

    pub(crate) fn respond(self, mut response: Response) -> Response {
        for c in self.cookies {
            response.headers_mut().append(header::SET_COOKIE, c);
        }
        response
    }

    pub(crate) fn redirect(self, to: &str) -> Response {
        self.respond(Redirect::to(to).into_response())
    }
}

/// What every page shares: language, navigation, the banner, the footer's contacts.
pub struct Chrome {
    pub t: Tr,
    pub path: String,
    pub home: String,
    pub brand: String,
    pub nav: Vec<(String, String)>,
    /// Where the sign-out form posts, when someone is signed in.
    pub sign_out: Option<String>,
    pub signed_in: bool,
    pub cookie_banner: bool,
    pub csrf: String,
    pub languages: Vec<(&'static str, String, bool)>,
    pub message: Option<String>,
    pub problems: Vec<String>,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub hours: String,
    pub operator: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    notice: Option<String>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Chrome,
    title: String,
    text: String,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    c: Chrome,
    version: String,
    operator: String,
    address: String,
    categories: Vec<(String, String, String)>,
    purposes: Vec<(String, String, String)>,
    retention: Vec<(String, String, String)>,
    recipients: Vec<(String, String, String)>,
    rights: Vec<String>,
    /// The key that signs erasure receipts: PEM, and its fingerprint.
    receipt_key: String,
    receipt_fingerprint: String,
}

#[derive(Template)]
#[template(path = "register.html")]
struct RegisterPage {
    c: Chrome,
    /// Consents an account needs, each shown whole before it is given: (key, name, text).
    required: Vec<(String, String, String)>,
    consents: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    c: Chrome,
}

struct DataRow {
    field: String,
    value: String,
    purposes: String,
    basis: String,
    source: String,
    deleted: String,
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    c: Chrome,
    rows: Vec<DataRow>,
}

struct ConsentRow {
    key: String,
    name: String,
    /// For a consent to data: what it covers and what withdrawing it does.
    text: String,
    state: String,
    granted: bool,
}

#[derive(Template)]
#[template(path = "consents.html")]
struct ConsentsPage {
    c: Chrome,
    rows: Vec<ConsentRow>,
}

struct RequestRow {
    right: String,
    received: String,
    state: String,
    due: String,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    c: Chrome,
    rows: Vec<RequestRow>,
    rights: Vec<(String, String)>,
}

fn basis(t: &Tr, basis: LegalBasis) -> String {
    t.get(&format!("basis-{}", basis.as_str()))
}

fn right_name(t: &Tr, right: RightKind) -> String {
    t.get(&format!("right-{}", right.as_str()))
}

/// Home, with the notice of a policy change until it takes effect (R10.1).
pub async fn home(State(state): State<AppState>, visit: Visit) -> Response {
    let notice = match state.app.pending_policy().await {
        Ok(pending) => pending.map(|v| {
            visit
                .t
                .with("home-notice", &[("date", visit.t.date(v.effective))])
        }),
        Err(e) => return failed(&state, visit, e),
    };
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, HomePage { c, notice })
}

pub async fn policy(State(state): State<AppState>, visit: Visit) -> Response {
    let policy = state.app.policy().clone();
    render_policy(&state, visit, &policy)
}

/// One version of the archive, rendered like the policy in force.
pub async fn policy_version(
    State(state): State<AppState>,
    visit: Visit,
    axum::extract::Path(version): axum::extract::Path<String>,
) -> Response {
    let found = match state.app.policy_versions().await {
        Ok(versions) => versions.into_iter().find(|v| v.version == version),
        Err(e) => return failed(&state, visit, e),
    };
    match found.and_then(|v| vintrova_policy::load(&v.text).ok()) {
        Some(policy) => render_policy(&state, visit, &policy),
        None => not_found(State(state), visit).await,
    }
}

#[derive(Template)]
#[template(path = "archive.html")]
struct ArchivePage {
    c: Chrome,
    rows: Vec<(String, String, String, bool)>,
}

/// The public archive: every published version, with its date and whether it changed much.
pub async fn policy_archive(State(state): State<AppState>, visit: Visit) -> Response {
    let versions = match state.app.policy_versions().await {
        Ok(v) => v,
        Err(e) => return failed(&state, visit, e),
    };
    let t = visit.t;
    let rows = versions
        .iter()
        .rev()
        .map(|v| {
            (
                v.version.clone(),
                t.date(v.effective),
                t.day_of(v.published_at),
                v.material,
            )
        })
        .collect();
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, ArchivePage { c, rows })
}

fn render_policy(state: &AppState, visit: Visit, p: &vintrova_policy::Policy) -> Response {
    let t = visit.t;
    let lang = t.code();
    let category_name = |key: &str| {
        p.category(key)
            .map_or(key.to_string(), |c| c.name.get(lang).to_string())
    };
    let page = PolicyPage {
        version: t.with(
            "policy-version",
            &[
                ("version", p.version.clone()),
                ("date", t.date(p.effective)),
            ],
        ),
        operator: t.with("policy-operator", &[("name", p.operator.name.clone())]),
        address: p.contact.address.clone(),
        categories: p
            .categories
            .iter()
            .map(|c| {
                let fields: Vec<&str> = c.fields.iter().map(|f| f.name.get(lang)).collect();
                (
                    c.name.get(lang).to_string(),
                    fields.join(", "),
                    basis(&t, c.legal_basis),
                )
            })
            .collect(),
        purposes: p
            .purposes
            .iter()
            .map(|pu| {
                let categories: Vec<String> =
                    pu.categories.iter().map(|c| category_name(c)).collect();
                (
                    pu.name.get(lang).to_string(),
                    basis(&t, pu.legal_basis),
                    categories.join(", "),
                )
            })
            .collect(),
        retention: p
            .retention_rules
            .iter()
            .map(|r| {
                (
                    r.name.get(lang).to_string(),
                    r.term.clone(),
                    r.ground.get(lang).to_string(),
                )
            })
            .collect(),
        recipients: p
            .recipients
            .iter()
            .map(|r| {
                let countries: Vec<String> = r
                    .countries
                    .iter()
                    .map(|code| {
                        p.countries
                            .iter()
                            .find(|c| &c.code == code)
                            .map_or(code.clone(), |c| c.name.get(lang).to_string())
                    })
                    .collect();
                (
                    r.name.get(lang).to_string(),
                    r.role.get(lang).to_string(),
                    countries.join(", "),
                )
            })
            .collect(),
        rights: RightKind::ALL.iter().map(|r| right_name(&t, *r)).collect(),
        receipt_key: state.app.receipt_key().to_pem(),
        receipt_fingerprint: state.app.receipt_key().fingerprint(),
        c: visit.chrome(state),
    };
    visit.page(StatusCode::OK, page)
}

#[derive(Deserialize)]
pub struct LangSwitch {
    to: String,
    next: Option<String>,
}

/// Switch language and go back where the person was (a local path only).
pub async fn switch_language(Query(q): Query<LangSwitch>) -> Response {
    let lang = Lang::parse(&q.to).unwrap_or(Lang::Ru);
    let next = q
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        host_cookie(LANG_COOKIE, lang.code(), Some(31_536_000)),
    );
    response
}

#[derive(Template)]
#[template(path = "cookies.html")]
struct CookiesPage {
    c: Chrome,
    current: String,
}

/// Cookie preferences: the banner's question, asked again whenever the person wants.
pub async fn cookies_page(State(state): State<AppState>, visit: Visit) -> Response {
    let t = visit.t;
    let current = t.get(match visit.cookie_choice.as_deref() {
        Some("analytics") => "cookie-now-analytics",
        Some(_) => "cookie-now-essential",
        None => "cookie-now-none",
    });
    let mut c = visit.chrome(&state);
    c.cookie_banner = false;
    visit.page(StatusCode::OK, CookiesPage { c, current })
}

#[derive(Deserialize)]
pub struct CookieChoice {
    csrf: String,
    choice: String,
    next: Option<String>,
}

/// The banner's answer: remembered in an essential cookie, and for a signed-in person recorded
/// in the consent ledger as a cookie-banner consent to analytics.
pub async fn cookies(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<CookieChoice>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let accept = form.choice == "accept";
    if let (Some(actor), Some(subject)) = (visit.actor(), visit.subject()) {
        let action = if accept {
            ConsentAction::Granted
        } else {
            ConsentAction::Withdrawn
        };
        if let Err(e) = state
            .app
            .record_consent(
                &actor,
                subject,
                "learning_analytics",
                action,
                Channel::CookieBanner,
                None,
            )
            .await
        {
            tracing::warn!(error = %e, "the cookie choice could not be recorded");
        }
    }
    let next = form
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//"))
        .unwrap_or_else(|| "/".into());
    let mut visit = visit;
    visit.cookies.push(host_cookie(
        CHOICE_COOKIE,
        if accept { "analytics" } else { "essential" },
        Some(31_536_000),
    ));
    visit.redirect(&next)
}

fn expired(state: &AppState, visit: Visit) -> Response {
    let c = visit.chrome(state);
    let t = visit.t;
    visit.page(
        StatusCode::FORBIDDEN,
        MessagePage {
            c,
            title: t.get("form-expired"),
            text: t.get("form-expired"),
        },
    )
}

/// Every consent a person can give: to the purposes on consent, then to data (R2.3, R3.2), as
/// (key, name, text of a consent to data).
fn consent_choices(state: &AppState, t: &Tr) -> Vec<(String, String, String)> {
    let policy = state.app.policy();
    policy
        .purposes
        .iter()
        .filter(|p| p.legal_basis == LegalBasis::Consent)
        .map(|p| {
            (
                p.key.clone(),
                p.name.get(t.code()).to_string(),
                String::new(),
            )
        })
        .chain(policy.consents.iter().map(|c| {
            (
                c.key.clone(),
                c.name.get(t.code()).to_string(),
                c.text.get(t.code()).to_string(),
            )
        }))
        .collect()
}

/// The registration form: the consents an account needs, shown whole, and the purposes one may
/// consent to, unticked.
fn register_form(state: &AppState, visit: &Visit, c: Chrome) -> RegisterPage {
    let policy = state.app.policy();
    let required = policy
        .required_consents()
        .map(|r| {
            (
                r.key.clone(),
                r.name.get(visit.t.code()).to_string(),
                r.text.get(visit.t.code()).to_string(),
            )
        })
        .collect();
    let consents = policy
        .purposes
        .iter()
        .filter(|p| p.legal_basis == LegalBasis::Consent)
        .map(|p| (p.key.clone(), p.name.get(visit.t.code()).to_string()))
        .collect();
    RegisterPage {
        c,
        required,
        consents,
    }
}

pub async fn register_page(State(state): State<AppState>, visit: Visit) -> Response {
    let c = visit.chrome(&state);
    let page = register_form(&state, &visit, c);
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
    let email = one("email");
    if let Err(throttled) = state
        .limits
        .account(Door::Registration, &email, state.app.now())
    {
        return visit.respond(throttled.into_response());
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
        Ok(_) => {
            let mut c = visit.chrome(&state);
            c.message = Some(visit.t.get("register-done"));
            visit.page(StatusCode::CREATED, SignInPage { c })
        }
        Err(CoreError::Invalid(invalid)) => {
            let mut c = visit.chrome(&state);
            c.problems = problems_of(&invalid);
            let page = register_form(&state, &visit, c);
            visit.page(StatusCode::UNPROCESSABLE_ENTITY, page)
        }
        Err(e) => failed(&state, visit, e),
    }
}

/// A refused form's problems, field by field, never repeating a value.
fn problems_of(invalid: &vintrova_core::values::InvalidInput) -> Vec<String> {
    invalid
        .problems
        .iter()
        .map(|p| format!("{}: {} — {}", p.field, p.problem, p.expected))
        .collect()
}

fn failed(state: &AppState, visit: Visit, e: CoreError) -> Response {
    let problem = crate::problem::Problem::from(e);
    let c = visit.chrome(state);
    visit.page(
        problem.status_code(),
        MessagePage {
            c,
            title: "Vintrova".into(),
            text: problem.page_text(),
        },
    )
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
            let mut visit = visit;
            visit
                .cookies
                .push(host_cookie(SESSION_COOKIE, &session.token, None));
            visit.redirect("/me")
        }
        Err(_) => {
            let mut c = visit.chrome(&state);
            c.problems = vec![visit.t.get("sign-in-failed")];
            visit.page(StatusCode::UNAUTHORIZED, SignInPage { c })
        }
    }
}

/// A form that carries nothing but its CSRF token (sign-out, a button).
#[derive(Deserialize)]
pub struct CsrfOnly {
    pub(crate) csrf: String,
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

/// "My data": every value held, with its purposes, basis, source and deletion date.
pub async fn my_data(State(state): State<AppState>, visit: Visit) -> Response {
    let (Some(actor), Some(session)) = (visit.actor(), visit.session_token()) else {
        return visit.redirect("/sign-in");
    };
    let export = match state.app.own_copy(&actor, session).await {
        Ok(export) => export,
        Err(e) => return failed(&state, visit, e),
    };
    let t = visit.t;
    let p = state.app.policy();
    let lang = t.code();
    let rows = export
        .values
        .iter()
        .map(|v| DataRow {
            field: p.field(&v.field).map_or(v.field.clone(), |(c, f)| {
                format!("{} — {}", c.name.get(lang), f.name.get(lang))
            }),
            value: match &v.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            },
            purposes: v
                .purposes
                .iter()
                .map(|u| {
                    p.purpose(&u.purpose)
                        .map_or(u.purpose.clone(), |pu| pu.name.get(lang).to_string())
                })
                .collect::<Vec<_>>()
                .join("; "),
            basis: basis(&t, v.legal_basis),
            source: p
                .sources
                .iter()
                .find(|s| s.key == v.source)
                .map_or(v.source.clone(), |s| s.name.get(lang).to_string()),
            deleted: v
                .retention
                .delete_after
                .map_or_else(|| t.get("me-while-used"), |at| t.day_of(at)),
        })
        .collect();
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, MePage { c, rows })
}

pub async fn consents_page(State(state): State<AppState>, visit: Visit) -> Response {
    render_consents(&state, visit, None).await
}

async fn render_consents(state: &AppState, visit: Visit, message: Option<String>) -> Response {
    let (Some(actor), Some(session)) = (visit.actor(), visit.session_token()) else {
        return visit.redirect("/sign-in");
    };
    let export = match state.app.own_copy(&actor, session).await {
        Ok(export) => export,
        Err(e) => return failed(state, visit, e),
    };
    let t = visit.t;
    let rows = consent_choices(state, &t)
        .into_iter()
        .map(|(key, name, text)| {
            let last = export.consents.iter().rev().find(|e| e.purpose == key);
            let (state, granted) = match last {
                Some(e) if e.action == ConsentAction::Granted => (
                    t.with("consents-granted", &[("date", t.day_of(e.at))]),
                    true,
                ),
                Some(e) => (
                    t.with("consents-withdrawn", &[("date", t.day_of(e.at))]),
                    false,
                ),
                None => (t.get("consents-none"), false),
            };
            ConsentRow {
                key,
                name,
                text,
                state,
                granted,
            }
        })
        .collect();
    let mut c = visit.chrome(state);
    c.message = message;
    visit.page(StatusCode::OK, ConsentsPage { c, rows })
}

#[derive(Deserialize)]
pub struct ConsentForm {
    csrf: String,
    purpose: String,
    action: String,
}

/// One click: give or withdraw a consent, recorded in the ledger from the cabinet.
pub async fn change_consent(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<ConsentForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let (Some(actor), Some(subject)) = (visit.actor(), visit.subject()) else {
        return visit.redirect("/sign-in");
    };
    let action = if form.action == "granted" {
        ConsentAction::Granted
    } else {
        ConsentAction::Withdrawn
    };
    let ends_service = action == ConsentAction::Withdrawn
        && state
            .app
            .policy()
            .consent_term(&form.purpose)
            .is_some_and(|term| term.required);
    match state
        .app
        .record_consent(
            &actor,
            subject,
            &form.purpose,
            action,
            Channel::Cabinet,
            None,
        )
        .await
    {
        // The account closed with the consent it needs, and its sessions with it.
        Ok(_) if ends_service => {
            let mut visit = visit;
            visit.session = None;
            visit.cookies.push(host_cookie(SESSION_COOKIE, "", Some(0)));
            visit.redirect("/")
        }
        Ok(_) => {
            let done = visit.t.get("consents-done");
            render_consents(&state, visit, Some(done)).await
        }
        Err(e) => failed(&state, visit, e),
    }
}

pub async fn requests_page(State(state): State<AppState>, visit: Visit) -> Response {
    render_requests(&state, visit, None, vec![]).await
}

async fn render_requests(
    state: &AppState,
    visit: Visit,
    message: Option<String>,
    problems: Vec<String>,
) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let requests = match state.app.requests_of(subject).await {
        Ok(r) => r,
        Err(e) => return failed(state, visit, e),
    };
    let t = visit.t;
    let rows = requests
        .iter()
        .map(|r| RequestRow {
            right: right_name(&t, r.right),
            received: t.day_of(r.received_at),
            state: t.get(&format!("state-{}", r.state.as_str())),
            due: t.date(r.due_on),
        })
        .collect();
    let rights = RightKind::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), right_name(&t, *r)))
        .collect();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut c = visit.chrome(state);
    c.message = message;
    c.problems = problems;
    visit.page(status, RequestsPage { c, rows, rights })
}

#[derive(Deserialize)]
pub struct RequestForm {
    csrf: String,
    right: String,
    #[serde(default)]
    description: String,
}

/// File a rights request from the cabinet: the session is the identity check.
pub async fn file_request(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<RequestForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let (Some(actor), Some((token, _))) = (visit.actor(), visit.session.clone()) else {
        return visit.redirect("/sign-in");
    };
    let Some(right) = RightKind::parse(&form.right) else {
        return render_requests(&state, visit, None, vec![]).await;
    };
    if let Err(throttled) = state
        .limits
        .account(Door::RequestIntake, &token, state.app.now())
    {
        return visit.respond(throttled.into_response());
    }
    match state
        .app
        .request_in_cabinet(
            &actor,
            &token,
            right,
            &form.description,
            AnswerChannel::Cabinet,
        )
        .await
    {
        Ok(request) => {
            let filed = visit
                .t
                .with("requests-filed", &[("date", visit.t.date(request.due_on))]);
            render_requests(&state, visit, Some(filed), vec![]).await
        }
        Err(CoreError::Invalid(invalid)) => {
            render_requests(&state, visit, None, problems_of(&invalid)).await
        }
        Err(e) => failed(&state, visit, e),
    }
}

#[derive(Deserialize)]
pub struct CopyFormat {
    format: Option<String>,
}

/// The copy an access request made, from the cabinet: a readable page in the visitor's
/// language, or JSON.
pub async fn my_copy(
    State(state): State<AppState>,
    visit: Visit,
    Query(format): Query<CopyFormat>,
) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    match state.app.latest_copy(subject).await {
        Ok(Some(copy)) if format.format.as_deref() == Some("json") => {
            visit.respond(axum::Json(copy).into_response())
        }
        Ok(Some(copy)) => {
            let page = crate::downloads::render(state.app.policy(), &copy, visit.t.code());
            visit.respond(Html(page).into_response())
        }
        Ok(None) => {
            let c = visit.chrome(&state);
            let t = visit.t;
            visit.page(
                StatusCode::NOT_FOUND,
                MessagePage {
                    c,
                    title: t.get("copy-title"),
                    text: t.get("copy-none"),
                },
            )
        }
        Err(e) => failed(&state, visit, e),
    }
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

/// A link's one-time token (password reset, staff enrollment).
#[derive(Deserialize)]
pub struct TokenQuery {
    pub(crate) token: String,
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
            let mut c = visit.chrome(&state);
            c.problems = problems_of(&invalid);
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
            c.problems = vec![t.get("reset-invalid")];
            visit.page(StatusCode::UNAUTHORIZED, ResetPage { c, token: None })
        }
        Err(e) => failed(&state, visit, e),
    }
}

/// A field of the profile form: a field of the data map the person may correct themselves.
struct ProfileField {
    id: String,
    name: String,
    label: String,
    value: String,
    kind: &'static str,
    max: usize,
}

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    c: Chrome,
    fields: Vec<ProfileField>,
}

/// What the profile form offers: the person's own contact, professional and education fields.
const PROFILE: &[&str] = &[
    "contact.first_name",
    "contact.last_name",
    "contact.email",
    "contact.phone",
    "professional.employer",
    "professional.position",
    "professional.it_experience_years",
    "education.level",
    "education.specialization",
];

async fn render_profile(
    state: &AppState,
    visit: Visit,
    message: Option<String>,
    problems: Vec<String>,
) -> Response {
    let (Some(actor), Some(session)) = (visit.actor(), visit.session_token()) else {
        return visit.redirect("/sign-in");
    };
    let export = match state.app.own_copy(&actor, session).await {
        Ok(export) => export,
        Err(e) => return failed(state, visit, e),
    };
    let policy = state.app.policy();
    let lang = visit.t.code();
    let fields = PROFILE
        .iter()
        .filter_map(|key| policy.field(key).map(|(c, f)| (key, c, f)))
        .map(|(key, c, f)| ProfileField {
            id: key.replace('.', "-"),
            name: key.to_string(),
            label: format!("{} — {}", c.name.get(lang), f.name.get(lang)),
            value: export
                .values
                .iter()
                .find(|v| v.field == *key)
                .map(|v| match &v.value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default(),
            kind: if key.ends_with("email") {
                "email"
            } else if key.ends_with("years") {
                "number"
            } else {
                "text"
            },
            max: f.max_len.unwrap_or(200),
        })
        .collect();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut c = visit.chrome(state);
    c.message = message;
    c.problems = problems;
    visit.page(status, ProfilePage { c, fields })
}

pub async fn profile_page(State(state): State<AppState>, visit: Visit) -> Response {
    render_profile(&state, visit, None, vec![]).await
}

/// Correcting one's own data is rectification (R6.1): the changed fields are replaced, with
/// their blind indexes, and the audit log says so.
pub async fn update_profile(
    State(state): State<AppState>,
    visit: Visit,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if !visit.csrf_ok(csrf.unwrap_or_default()) {
        return expired(&state, visit);
    }
    let (Some(actor), Some(subject)) = (visit.actor(), visit.subject()) else {
        return visit.redirect("/sign-in");
    };
    let mut doc = json!({});
    for (key, value) in &fields {
        let value = value.trim();
        if value.is_empty() || !PROFILE.contains(&key.as_str()) {
            continue;
        }
        let (category, field) = key
            .split_once('.')
            .expect("profile keys are category.field");
        doc[category][field] = match (key.ends_with("years"), value.parse::<i64>()) {
            (true, Ok(n)) => json!(n),
            _ => json!(value),
        };
    }
    let updated = match state.app.parse_json(&doc) {
        Ok(values) => {
            state
                .app
                .update_subject(&actor, subject, values, "cabinet")
                .await
        }
        Err(invalid) => Err(CoreError::Invalid(invalid)),
    };
    match updated {
        Ok(()) => {
            let saved = visit.t.get("profile-saved");
            render_profile(&state, visit, Some(saved), vec![]).await
        }
        Err(CoreError::Invalid(invalid)) => {
            render_profile(&state, visit, None, problems_of(&invalid)).await
        }
        Err(e) => failed(&state, visit, e),
    }
}

#[derive(Template)]
#[template(path = "activity.html")]
struct ActivityPage {
    c: Chrome,
    sections: Vec<(String, Vec<String>)>,
}

/// Learning, support tickets, payments and notices: what happened and when, in the person's
/// language (the amounts and courses themselves are in "my data").
pub async fn activity(State(state): State<AppState>, visit: Visit) -> Response {
    use vintrova_core::learning::Enrollment;
    use vintrova_core::payments::Order;
    use vintrova_core::support::Ticket;
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let t = visit.t;
    let app = &state.app;
    let (enrollments, tickets, orders, notices) = match (
        app.records::<Enrollment>(subject).await,
        app.records::<Ticket>(subject).await,
        app.records::<Order>(subject).await,
        app.notices_of(subject).await,
    ) {
        (Ok(e), Ok(ti), Ok(o), Ok(n)) => (e, ti, o, n),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            return failed(&state, visit, e);
        }
    };
    let line = |state: &str, at: jiff::Timestamp| format!("{} — {}", t.day_of(at), state);
    let sections = vec![
        (
            t.get("activity-learning"),
            enrollments
                .iter()
                .map(|e| {
                    line(
                        &t.get(&format!("enrollment-{}", e.state.as_str())),
                        e.created_at,
                    )
                })
                .collect(),
        ),
        (
            t.get("activity-tickets"),
            tickets
                .iter()
                .map(|k| {
                    line(
                        &t.get(&format!("ticket-{}", k.state.as_str())),
                        k.created_at,
                    )
                })
                .collect(),
        ),
        (
            t.get("activity-payments"),
            orders
                .iter()
                .map(|o| line(&t.get(&format!("order-{}", o.state.as_str())), o.created_at))
                .collect(),
        ),
        (
            t.get("activity-notices"),
            notices
                .iter()
                .map(|n| line(n.kind.text(t.code()).0, n.queued_at))
                .collect(),
        ),
    ];
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, ActivityPage { c, sections })
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage {
    c: Chrome,
    rows: Vec<(String, String, String, String, String, String)>,
    /// "Receiving since …" when the person asked for the monthly digest.
    digest: Option<String>,
}

#[derive(Deserialize)]
pub struct DigestForm {
    csrf: String,
    on: String,
}

/// Start or stop the monthly email digest of who looked.
pub async fn change_digest(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<DigestForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    match state.app.set_access_digest(subject, form.on == "yes").await {
        Ok(()) => visit.redirect("/me/access#digest"),
        Err(e) => failed(&state, visit, e),
    }
}

/// "Who looked at my data": every access, by role, categories and purpose, from the audit log.
pub async fn who_looked(State(state): State<AppState>, visit: Visit) -> Response {
    use vintrova_core::transparency::Accessor;
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let (accesses, digest) = match (
        state.app.who_looked(subject).await,
        state.app.access_digest(subject).await,
    ) {
        (Ok(a), Ok(d)) => (a, d),
        (Err(e), _) | (_, Err(e)) => return failed(&state, visit, e),
    };
    let t = visit.t;
    let p = state.app.policy();
    let lang = t.code();
    let rows = accesses
        .iter()
        .map(|a| {
            let when = if a.times == 1 {
                t.day_of(a.first)
            } else {
                format!("{} – {}", t.day_of(a.first), t.day_of(a.last))
            };
            let who = match &a.who {
                Accessor::Staff(role) => t.with(
                    "who-staff",
                    &[(
                        "role",
                        t.find(&format!("role-{role}"))
                            .unwrap_or_else(|| role.clone()),
                    )],
                ),
                Accessor::You => t.get("who-you"),
                Accessor::Platform => t.get("who-platform"),
                Accessor::System => t.get("who-system"),
                Accessor::Operator => t.get("who-operator"),
            };
            let what = t
                .find(&format!("action-{}", a.action))
                .unwrap_or_else(|| a.action.replace('_', " "));
            let categories = a
                .categories
                .iter()
                .map(|c| {
                    p.category(c)
                        .map_or(c.clone(), |c| c.name.get(lang).to_string())
                })
                .collect::<Vec<_>>()
                .join(", ");
            let why = a
                .purpose
                .as_deref()
                .map(|purpose| {
                    p.purpose(purpose)
                        .map(|pu| pu.name.get(lang).to_string())
                        .or_else(|| t.find(&format!("duty-{purpose}")))
                        .unwrap_or_else(|| purpose.replace('_', " "))
                })
                .unwrap_or_default();
            (when, who, what, categories, why, t.number(a.times))
        })
        .collect();
    let digest = digest.map(|since| t.with("digest-since", &[("date", t.day_of(since))]));
    let c = visit.chrome(&state);
    visit.page(StatusCode::OK, AccessPage { c, rows, digest })
}

/// 404 as a page, in the visitor's language.
pub async fn not_found(State(state): State<AppState>, visit: Visit) -> Response {
    let c = visit.chrome(&state);
    let t = visit.t;
    visit.page(
        StatusCode::NOT_FOUND,
        MessagePage {
            c,
            title: t.get("not-found-title"),
            text: t.get("not-found-text"),
        },
    )
}

pub const STYLESHEET: &str = include_str!("../assets/site.css");

/// The public key that signs erasure receipts, where a verifier knows to look.
pub async fn receipt_key(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        state.app.receipt_key().to_pem(),
    )
        .into_response()
}

pub async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        STYLESHEET,
    )
        .into_response()
}
