//! What anyone may open without an account: home, the policy and its archive, the language,
//! the cookie choice, and the files a page or a verifier fetches.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use vintrova_core::consent::{Channel, ConsentAction};
use vintrova_core::rights::RightKind;

use super::{CHOICE_COOKIE, Chrome, MessagePage, Visit, basis, failed, host_cookie, right_name};
use crate::AppState;
use crate::i18n::{LANG_COOKIE, Lang};
use crate::words::Named;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    notice: Option<String>,
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
                (
                    pu.name.get(lang).to_string(),
                    basis(&t, pu.legal_basis),
                    Named::Category.all(&t, p, &pu.categories),
                )
            })
            .collect(),
        retention: p
            .retention_rules
            .iter()
            .map(|r| {
                (
                    r.name.get(lang).to_string(),
                    super::kept_for(&t, r),
                    r.ground.get(lang).to_string(),
                )
            })
            .collect(),
        recipients: p
            .recipients
            .iter()
            .map(|r| {
                (
                    r.name.get(lang).to_string(),
                    r.role.get(lang).to_string(),
                    Named::Country.all(&t, p, &r.countries),
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
        // "Only necessary" does not take back a consent the person gave elsewhere (at
        // registration, in their consents): that stays theirs to withdraw where they gave it.
        let given_elsewhere = match state.app.last_consent(subject, "learning_analytics").await {
            Ok(last) => last.is_some_and(|e| {
                e.action == ConsentAction::Granted && e.channel != Channel::CookieBanner
            }),
            Err(e) => {
                tracing::warn!(error = %e, "the consent ledger could not be read");
                true
            }
        };
        if !accept && given_elsewhere {
            let mut visit = visit;
            visit
                .cookies
                .push(host_cookie(CHOICE_COOKIE, "analytics", Some(31_536_000)));
            return visit.redirect("/me/consents?kept=learning_analytics");
        }
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

pub const STYLESHEET: &str = include_str!("../../assets/site.css");

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
