//! The public site and the person's privacy center, server-rendered in three languages and
//! usable without JavaScript: home, the policy rendered from `policy/vintrova.toml`, the cookie
//! banner (refusing as easy as accepting), registration with unticked consents, sign-in, "my
//! data", consents with one-click withdrawal, and rights requests.
//!
//! Every form carries a CSRF token: a double-submit cookie before sign-in, the session's own
//! token after. The person's session travels in a `__Host-` cookie; no personal datum is ever
//! in a URL.

mod accounts;
mod cabinet;
mod consents;
pub(crate) mod copy;
mod forms;
mod public;
mod requests;

pub use accounts::{
    register, register_confirm, register_page, reset, reset_confirm, reset_confirm_page,
    reset_page, sign_in, sign_in_page, sign_out,
};
pub(crate) use cabinet::{PROFILE, profile_document};
pub use cabinet::{activity, change_digest, my_data, profile_page, update_profile, who_looked};
pub use consents::{change_consent, consents_page};
pub use public::{
    cookies, cookies_page, home, not_found, policy, policy_archive, policy_version, receipt_key,
    stylesheet, switch_language,
};
pub use requests::{file_request, my_copy, number, request_page, requests_page, withdraw_request};

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use uuid::Uuid;
use vintrova_core::rights::RightKind;
use vintrova_core::staff::csrf_token;
use vintrova_core::{Actor, CoreError};
use vintrova_policy::LegalBasis;

use crate::AppState;
use crate::access::{cookie, same_token};
use crate::i18n::{LANG_COOKIE, Lang, Tr};
use crate::security::Door;
pub(crate) use forms::{Entered, Flagged, TextInput};
pub(crate) use requests::ErasureWords;

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
        let lang = crate::i18n::page_lang(query.as_deref(), &parts.headers);
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
            return Err(self.throttled(throttled));
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

    /// Too many attempts: a page in the visit's language, never raw JSON.
    pub(crate) fn throttled(self, throttled: crate::security::Throttled) -> Response {
        let t = self.t;
        self.respond(throttled.page(&t))
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
    pub problems: Vec<Flagged>,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    pub hours: String,
    pub operator: String,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    c: Chrome,
    title: String,
    text: String,
}

fn basis(t: &Tr, basis: LegalBasis) -> String {
    t.get(&format!("basis-{}", basis.as_str()))
}

/// How long a rule keeps data, in words: «пока вы пользуетесь услугами», «3 года после
/// завершения обучения».
fn kept_for(t: &Tr, rule: &vintrova_policy::RetentionRule) -> String {
    use vintrova_policy::RetentionAnchor as A;
    let at_once = rule.term.parse::<jiff::Span>().is_ok_and(|s| s.is_zero());
    let after = match rule.anchor {
        A::ServiceEnded if at_once => return t.get("kept-while-used"),
        A::ServiceEnded => "kept-service_ended",
        A::CourseCompleted => "kept-course_completed",
        A::Recorded => "kept-recorded",
        A::TaxPeriodEnded => "kept-tax_period_ended",
        A::TicketClosed => "kept-ticket_closed",
        A::Collected => "kept-collected",
    };
    t.with(after, &[("term", t.term(&rule.term))])
}

fn right_name(t: &Tr, right: RightKind) -> String {
    t.get(&format!("right-{}", right.as_str()))
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

/// An error as a page in the visit's language: what happened and what to do, never a code.
fn failed(state: &AppState, visit: Visit, e: CoreError) -> Response {
    let said = crate::refusals::say(&visit.t, state.app.policy(), e);
    error_page(state, visit, said)
}

/// A page for an error already said.
pub fn error_page(state: &AppState, visit: Visit, said: crate::refusals::Said) -> Response {
    let c = visit.chrome(state);
    visit.page(
        said.status,
        MessagePage {
            c,
            title: said.title,
            text: said.text,
        },
    )
}

/// A form that carries nothing but its CSRF token (sign-out, a button).
#[derive(Deserialize)]
pub struct CsrfOnly {
    pub(crate) csrf: String,
}

/// A link's one-time token (password reset, staff enrollment).
#[derive(Deserialize)]
pub struct TokenQuery {
    pub(crate) token: String,
}
