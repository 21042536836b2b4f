//! The copy of one's data as a page of the privacy center (R6.1 access): every value held and
//! why, the consents as the ledger recorded them, the requests and who looked — the same copy the
//! JSON carries, in the reader's language. Reached from the cabinet (the session is the claim)
//! or by the emailed link (its token is).

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use vintrova_core::AccessCopy;
use vintrova_core::consent::ConsentEvent;
use vintrova_core::requests::StoredCopy;
use vintrova_policy::Policy;

use super::cabinet::{AccessRow, DataRow, access_rows, data_rows};
use super::requests::{RequestRow, request_rows};
use super::{Chrome, Visit};
use crate::AppState;
use crate::i18n::Tr;
use crate::words::Named;

#[derive(Template)]
#[template(path = "copy.html")]
struct CopyPage {
    c: Chrome,
    /// When it was made and under which version of the policy.
    made: String,
    /// The same copy as JSON.
    json: String,
    rows: Vec<DataRow>,
    /// Every consent event: (what to, given or withdrawn, where, when).
    consents: Vec<(String, String, String, String)>,
    requests: Vec<RequestRow>,
    accesses: Vec<AccessRow>,
}

/// The copy as JSON, the bytes as they were stored.
pub(crate) fn json(copy: &StoredCopy) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        copy.json().to_vec(),
    )
        .into_response()
}

/// The copy, read back from what was stored, as a page; `json` is where the same copy is as JSON.
pub(crate) async fn page(
    state: &AppState,
    visit: Visit,
    copy: &StoredCopy,
    json: &str,
) -> Response {
    let read = copy.read().and_then(AccessCopy::read);
    let (copy, courses) = match (read, state.app.catalog().await) {
        (Ok(copy), Ok(courses)) => (copy, courses),
        (Err(e), _) | (_, Err(e)) => return super::failed(state, visit, e),
    };
    let t = visit.t;
    let p = state.app.policy();
    let page = CopyPage {
        made: t.with(
            "copy-made",
            &[
                ("date", t.moment(copy.exported_at)),
                ("version", copy.policy_version.clone()),
            ],
        ),
        json: json.to_string(),
        rows: data_rows(&t, p, &copy.held(), &courses),
        consents: consent_rows(&t, p, &copy.consents),
        requests: request_rows(&t, &copy.requests),
        accesses: access_rows(&t, p, &copy.accesses),
        c: visit.chrome(state),
    };
    visit.page(StatusCode::OK, page)
}

fn consent_rows(
    t: &Tr,
    p: &Policy,
    events: &[ConsentEvent],
) -> Vec<(String, String, String, String)> {
    events
        .iter()
        .map(|e| {
            (
                Named::Consent.of(t, p, &e.purpose),
                t.get(&format!("copy-consent-{}", e.action.as_str())),
                t.get(&format!("consent-channel-{}", e.channel.as_str())),
                t.moment(e.at),
            )
        })
        .collect()
}
