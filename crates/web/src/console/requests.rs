//! The rights request queue: verifying who asked, and answering.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;
use vintrova_core::Actor;
use vintrova_core::requests::{Answer, AnswerChannel, Fulfilment};
use vintrova_core::staff::Permission;

use super::{Block, Cell, Chart, Field, StaffVisit, Table, form};
use crate::AppState;
use crate::site::CsrfOnly;

/// The purpose staff state for work on the request queue.
const REQUEST_WORK: &str = "rights_request";

/// The request queue by days left, with the picture at a glance.
pub async fn requests(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::HandleRequests, Some(REQUEST_WORK)) {
        return staff.denied(&state, reason);
    }
    let mut queue = match state.app.request_queue().await {
        Ok(q) => q,
        Err(e) => return staff.failed(&state, e),
    };
    queue.sort_by_key(|q| q.days_left);
    let bucket = |lo: i64, hi: i64| {
        queue
            .iter()
            .filter(|q| (lo..=hi).contains(&q.days_left))
            .count() as u64
    };
    let chart = Chart::bars(
        "due",
        t.get("requests-chart"),
        vec![
            (t.get("requests-overdue"), bucket(i64::MIN, -1), "bad"),
            ("0–3".into(), bucket(0, 3), "warn"),
            ("4–7".into(), bucket(4, 7), "warn"),
            ("8–14".into(), bucket(8, 14), "ok"),
            ("15–30".into(), bucket(15, 30), "ok"),
        ],
    );
    let rows = queue
        .iter()
        .map(|q| {
            let r = &q.request;
            let days = if q.overdue {
                Cell::Strong(t.with("requests-days-left", &[("days", q.days_left.to_string())]))
            } else {
                Cell::Text(t.with("requests-days-left", &[("days", q.days_left.to_string())]))
            };
            let action = match r.state {
                vintrova_core::requests::RequestState::AwaitingVerification => form(
                    &format!("verify-{}", r.id),
                    format!("/staff/requests/{}/verify", r.id),
                    vec![Field::input("code", t.get("requests-code"), "text")],
                    t.get("requests-verify"),
                ),
                _ => form(
                    &format!("fulfil-{}", r.id),
                    format!("/staff/requests/{}/fulfil", r.id),
                    vec![],
                    t.get("requests-fulfil"),
                ),
            };
            // Refusing is answered too: the reason goes to the person.
            let reject = form(
                &format!("reject-{}", r.id),
                format!("/staff/requests/{}/reject", r.id),
                vec![Field::input("reason", t.get("requests-reason"), "text")],
                t.get("requests-reject"),
            );
            vec![
                Cell::Text(t.get(&format!("right-{}", r.right.as_str()))),
                Cell::Text(t.day_of(r.received_at)),
                Cell::Text(t.get(&format!("state-{}", r.state.as_str()))),
                Cell::Text(t.date(r.due_on)),
                days,
                Cell::Action(action),
                Cell::Action(reject),
            ]
        })
        .collect();
    let letters = match state.app.letters_waiting().await {
        Ok(letters) => letters,
        Err(e) => return staff.failed(&state, e),
    };
    let letter_rows = letters
        .iter()
        .map(|w| {
            let l = &w.letter;
            let code = match w.code_expired {
                true => Cell::Strong(t.get("requests-code-expired")),
                false => Cell::Text(t.get("requests-code-waiting")),
            };
            vec![
                Cell::Text(t.get(&format!("right-{}", l.right.as_str()))),
                Cell::Text(t.day_of(l.received_at)),
                code,
                Cell::Text(t.date(l.due_on)),
                Cell::Action(form(
                    &format!("verify-{}", l.id),
                    format!("/staff/requests/{}/verify", l.id),
                    vec![Field::input("code", t.get("requests-code"), "text")],
                    t.get("requests-verify"),
                )),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Chart(chart),
        Block::Table(Table {
            caption: t.get("requests-caption"),
            headers: [
                "col-right",
                "col-received",
                "col-state",
                "col-due",
                "requests-left",
                "requests-action",
                "requests-reject",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows,
            empty: t.get("requests-none"),
        }),
        Block::Table(Table {
            caption: t.get("requests-letters-caption"),
            headers: [
                "col-right",
                "col-received",
                "col-state",
                "col-due",
                "requests-action",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows: letter_rows,
            empty: t.get("requests-letters-none"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-requests"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct VerifyForm {
    csrf: String,
    code: String,
}

pub async fn verify_request(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<VerifyForm>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match state.app.verify_request(&actor, id, &form.code).await {
        Ok(_) => staff.visit.redirect("/staff/requests"),
        Err(e) => staff.failed(&state, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct RejectForm {
    csrf: String,
    reason: String,
}

/// Refuse a request with the reason the person will read (sealed; never logged).
pub async fn reject_request(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<RejectForm>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match state.app.reject_request(&actor, id, &form.reason).await {
        Ok(_) => staff.visit.redirect("/staff/requests"),
        Err(e) => staff.failed(&state, e),
    }
}

/// Answer a verified request. Rectification needs the corrected data and goes through the API.
pub async fn fulfil_request(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let queue = match state.app.request_queue().await {
        Ok(q) => q,
        Err(e) => return staff.failed(&state, e),
    };
    let Some(found) = queue.iter().find(|q| q.request.id == id) else {
        return staff.redirect_requests();
    };
    // A rectification needs the corrected values, which the API carries; the queue's button
    // answers every other right.
    let Ok(fulfilment) = Fulfilment::of(found.request.right, None, None) else {
        let text = staff.t().get("requests-rectify-api");
        return staff.denied(&state, text);
    };
    let by_post = found.request.channel == AnswerChannel::Post;
    match state.app.fulfil(&actor, id, fulfilment).await {
        // By post, the person's receipt goes on paper: this is the one moment it exists here.
        Ok(Answer::Erasure(erased)) if by_post => (
            [
                (
                    header::CONTENT_TYPE,
                    "text/plain; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", erased.signed.file_name()),
                ),
            ],
            erased.signed.text,
        )
            .into_response(),
        Ok(_) => staff.redirect_requests(),
        Err(e) => staff.failed(&state, e),
    }
}

impl StaffVisit {
    /// A form on the request queue: handling requests, for the purpose of answering them.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the page to answer with, made once per request"
    )]
    fn admit_request_work(
        self,
        state: &AppState,
        csrf: &str,
    ) -> Result<(StaffVisit, Actor), Response> {
        self.admit(state, csrf, Permission::HandleRequests, Some(REQUEST_WORK))
    }

    fn redirect_requests(self) -> Response {
        self.visit.redirect("/staff/requests")
    }
}
