//! Consents from the cabinet: each shown with its state, given or withdrawn in one click.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use vintrova_core::consent::{Channel, ConsentAction};
use vintrova_policy::LegalBasis;

use super::{Chrome, SESSION_COOKIE, Visit, failed, host_cookie};
use crate::AppState;
use crate::i18n::Tr;

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

/// Every consent a person can give: to the purposes on consent, then to data (R2.3, R3.2), as
/// (key, name, text of a consent to data).
fn consent_choices(state: &AppState, t: &Tr) -> Vec<(String, String, String)> {
    let policy = state.app.policy();
    purpose_consents(policy, t)
        .map(|(key, name)| (key, name, String::new()))
        .chain(data_consents(policy.consents.iter(), t))
        .collect()
}

/// The purposes on consent, as (key, name) in `t`'s language.
pub(super) fn purpose_consents<'a>(
    policy: &'a vintrova_policy::Policy,
    t: &'a Tr,
) -> impl Iterator<Item = (String, String)> + 'a {
    policy
        .purposes
        .iter()
        .filter(|p| p.legal_basis == LegalBasis::Consent)
        .map(|p| (p.key.clone(), p.name.get(t.code()).to_string()))
}

/// Consents to data, as (key, name, text) in `t`'s language: the text is shown before one is
/// given.
pub(super) fn data_consents<'a>(
    terms: impl Iterator<Item = &'a vintrova_policy::ConsentTerm> + 'a,
    t: &'a Tr,
) -> impl Iterator<Item = (String, String, String)> + 'a {
    terms.map(|c| {
        (
            c.key.clone(),
            c.name.get(t.code()).to_string(),
            c.text.get(t.code()).to_string(),
        )
    })
}

#[derive(Deserialize)]
pub struct ConsentsQuery {
    kept: Option<String>,
}

pub async fn consents_page(
    State(state): State<AppState>,
    visit: Visit,
    Query(q): Query<ConsentsQuery>,
) -> Response {
    // Sent here by the cookie banner: its "only necessary" left a consent given here standing.
    let message = q.kept.map(|_| visit.t.get("consents-kept-by-banner"));
    render_consents(&state, visit, message).await
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
