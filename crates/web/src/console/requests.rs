//! The rights request queue: verifying who asked, and answering.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;
use vintrova_core::requests::{Answer, AnswerChannel, Fulfilment, Request, RequestState};
use vintrova_core::rights::RightKind;
use vintrova_core::staff::Permission;
use vintrova_core::{Actor, CoreError};

use super::{Block, Cell, Chart, Field, FormSpec, StaffVisit, Table, form};
use crate::AppState;
use crate::i18n::Tr;
use crate::site::{CsrfOnly, ErasureWords, PROFILE, number, profile_document};

/// The purpose staff state for work on the request queue.
pub(super) const REQUEST_WORK: &str = "rights_request";

/// What the officer just did, said at the top of the queue.
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// The request queue by days left, with the picture at a glance, and the requests closed lately.
pub async fn requests(
    State(state): State<AppState>,
    staff: StaffVisit,
    Query(done): Query<Done>,
) -> Response {
    let t = staff.t();
    let actor = match staff.permit(&state, Permission::HandleRequests, Some(REQUEST_WORK)) {
        Ok(actor) => actor,
        Err(reason) => return staff.denied(&state, reason),
    };
    let mut queue = match state.app.request_queue().await {
        Ok(q) => q,
        Err(e) => return staff.failed(&state, e),
    };
    queue.sort_by_key(|q| q.days_left);
    // Who asked and what they wrote, for each request proven to come from its person: each a
    // read under the duty to answer that request, on the person's record like the page's own.
    let mut people = Vec::with_capacity(queue.len());
    for q in &queue {
        let who = match q.request.state {
            RequestState::AwaitingVerification => None,
            _ => match state.app.requester(&actor, q.request.id).await {
                Ok(who) => Some(who),
                Err(e) => return staff.failed(&state, e),
            },
        };
        people.push(who);
    }
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
        .zip(&people)
        .map(|(q, who)| {
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
                Cell::Link(format!("/staff/requests/{}", r.id), number(r.id)),
                Cell::Text(t.get(&format!("right-{}", r.right.as_str()))),
                Cell::Text(t.get(&format!("channel-{}", r.channel.as_str()))),
                Cell::Text(match who {
                    Some(who) => who.name.clone(),
                    None => t.get("requests-person-later"),
                }),
                Cell::Text(
                    who.as_ref()
                        .map(|w| excerpt(&w.description))
                        .unwrap_or_default(),
                ),
                Cell::Text(t.day_of(r.received_at)),
                Cell::Text(t.get(&format!("state-{}", r.state.as_str()))),
                Cell::Text(t.date(r.due_on)),
                days,
                Cell::Action(action),
                Cell::Action(reject),
            ]
        })
        .collect();
    let inbox = match state.app.inbox().await {
        Ok(inbox) => inbox,
        Err(e) => return staff.failed(&state, e),
    };
    let letters = match state.app.letters_waiting().await {
        Ok(letters) => letters,
        Err(e) => return staff.failed(&state, e),
    };
    let letter_rows = letters
        .iter()
        .map(|w| {
            let l = &w.letter;
            // A code that ran out can be sent again from here; the letter keeps its place.
            let code = match w.code_expired {
                true => Cell::Action(resend_form(&t, l.id)),
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
        super::inbox::waiting(&t, &inbox),
        Block::Table(Table {
            caption: t.get("requests-caption"),
            headers: [
                "col-number",
                "col-right",
                "col-channel",
                "requests-person",
                "field-description",
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
    let closed = match state.app.closed_requests().await {
        Ok(closed) => closed,
        Err(e) => return staff.failed(&state, e),
    };
    let mut blocks = blocks;
    blocks.push(Block::Table(Table {
        caption: t.get("requests-closed-caption"),
        headers: ["col-number", "col-right", "col-state", "requests-closed-on"]
            .iter()
            .map(|k| t.get(k))
            .collect(),
        rows: closed
            .iter()
            .map(|r| {
                vec![
                    Cell::Link(format!("/staff/requests/{}", r.id), number(r.id)),
                    Cell::Text(t.get(&format!("right-{}", r.right.as_str()))),
                    Cell::Text(t.get(&format!("state-{}", r.state.as_str()))),
                    Cell::Text(r.closed_at.map(|at| t.day_of(at)).unwrap_or_default()),
                ]
            })
            .collect(),
        empty: t.get("requests-closed-none"),
    }));
    let message = done
        .done
        .as_deref()
        .filter(|d| {
            [
                "verified",
                "rejected",
                "fulfilled",
                "resent",
                "classified",
                "dismissed",
            ]
            .contains(d)
        })
        .map(|d| t.get(&format!("requests-done-{d}")));
    staff.page_saying(
        &state,
        StatusCode::OK,
        t.get("console-requests"),
        blocks,
        message,
    )
}

/// The start of what a requester wrote, for a queue row; the whole text is on the request's page.
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_string(),
    }
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
        Ok(_) => staff.visit.redirect("/staff/requests?done=verified"),
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
        Ok(_) => staff.visit.redirect("/staff/requests?done=rejected"),
        Err(e) => staff.failed(&state, e),
    }
}

/// Answer a verified request. Rectification needs the corrected data and goes through the API.
#[derive(Debug, Deserialize)]
pub struct FulfilForm {
    csrf: String,
    /// `yes` once the officer saw what an erasure destroys and keeps.
    confirm: Option<String>,
}

pub async fn fulfil_request(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<FulfilForm>,
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
    // A rectification needs the corrected values: its form is on the request's page.
    let Ok(fulfilment) = Fulfilment::of(found.request.right, None, None) else {
        return staff.visit.redirect(&format!("/staff/requests/{id}"));
    };
    // An erasure cannot be undone: first what it destroys and what it keeps, then the choice.
    if matches!(fulfilment, Fulfilment::Erasure) && form.confirm.as_deref() != Some("yes") {
        let request = found.request.clone();
        return confirm_erasure(&state, staff, &request).await;
    }
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
        Ok(_) => staff.visit.redirect("/staff/requests?done=fulfilled"),
        Err(e) => staff.failed(&state, e),
    }
}

/// Send a new code for a request or letter still awaiting one (the old code stops working).
pub async fn resend_code(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match state.app.resend_code(&actor, id).await {
        Ok(_) => staff.visit.redirect("/staff/requests?done=resent"),
        Err(e) => staff.failed(&state, e),
    }
}

fn resend_form(t: &Tr, id: Uuid) -> FormSpec {
    form(
        &format!("resend-{id}"),
        format!("/staff/requests/{id}/resend"),
        vec![],
        t.get("requests-resend"),
    )
}

/// Answer a rectification with the corrected values from its form on the request's page.
pub async fn rectify_request(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    let (staff, actor) = match staff.admit_request_work(&state, csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let corrections = match state.app.parse_json(&profile_document(&fields)) {
        Ok(values) => values,
        Err(invalid) => return staff.failed(&state, CoreError::Invalid(invalid)),
    };
    match state
        .app
        .fulfil(&actor, id, Fulfilment::Rectification(corrections))
        .await
    {
        Ok(_) => staff.visit.redirect("/staff/requests?done=fulfilled"),
        Err(e) => staff.failed(&state, e),
    }
}

/// The form that answers a verified rectification: the person's correctable fields, holding
/// what is held now (read under the request, as its answer needs), for the officer to correct
/// as the person asked.
async fn rectify_form(
    state: &AppState,
    t: &Tr,
    actor: &Actor,
    request: &Request,
) -> Result<FormSpec, CoreError> {
    let copy = state
        .app
        .copy_for_request(actor, request.subject, Some(request.id))
        .await?;
    let policy = state.app.policy();
    let fields = PROFILE
        .iter()
        .map(|key| {
            let held = copy
                .value(key)
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            let label = policy.field(key).map_or_else(
                || key.to_string(),
                |(_, f)| f.name.get(t.code()).to_string(),
            );
            Field::prefilled(key, label, held)
        })
        .collect();
    Ok(form(
        &format!("rectify-{}", request.id),
        format!("/staff/requests/{}/rectify", request.id),
        fields,
        t.get("requests-rectify"),
    ))
}

impl StaffVisit {
    /// A form on the request queue: handling requests, for the purpose of answering them.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the page to answer with, made once per request"
    )]
    pub(super) fn admit_request_work(
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

/// The officer's look before an erasure: the categories that go and what a law keeps, until
/// when; the button that carries it out.
async fn confirm_erasure(state: &AppState, staff: StaffVisit, request: &Request) -> Response {
    let t = staff.t();
    let preview = match state.app.erasure_preview(request.subject).await {
        Ok(preview) => preview,
        Err(e) => return staff.failed(state, e),
    };
    let said = ErasureWords::of(&t, state.app.policy(), &preview);
    let kept = said
        .kept
        .into_iter()
        .map(|k| {
            vec![
                Cell::Text(k.categories),
                Cell::Text(k.rule),
                Cell::Text(k.until),
            ]
        })
        .collect();
    let mut confirm = form(
        "confirm-erasure",
        format!("/staff/requests/{}/fulfil", request.id),
        vec![],
        t.get("requests-erase-confirm"),
    );
    confirm.hidden.push(("confirm".into(), "yes".into()));
    let blocks = vec![
        Block::Text(t.with("requests-erase-warning", &[("number", number(request.id))])),
        Block::Heading(t.get("erasure-goes")),
        Block::Text(if said.erased.is_empty() {
            t.get("erasure-goes-nothing")
        } else {
            said.erased.join(", ")
        }),
        Block::Table(Table {
            caption: t.get("erasure-kept"),
            headers: ["col-categories", "col-rule", "erasure-until"]
                .iter()
                .map(|k| t.get(k))
                .collect(),
            rows: kept,
            empty: t.get("erasure-kept-nothing"),
        }),
        Block::Form(confirm),
    ];
    staff.page(
        state,
        StatusCode::OK,
        t.get("erasure-confirm-title"),
        blocks,
    )
}

/// One request: its number, right, channel and clock; for a verified one, who asked and what
/// they wrote (read for answering it, so audited as such); what can be done next.
pub async fn request_page(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
) -> Response {
    let t = staff.t();
    let actor = match staff.permit(&state, Permission::HandleRequests, Some(REQUEST_WORK)) {
        Ok(actor) => actor,
        Err(reason) => return staff.denied(&state, reason),
    };
    let request = match state.app.request(id).await {
        Ok(Some(request)) => request,
        Ok(None) => return staff.redirect_requests(),
        Err(e) => return staff.failed(&state, e),
    };
    let mut rows = vec![
        (t.get("col-number"), number(request.id)),
        (
            t.get("col-right"),
            t.get(&format!("right-{}", request.right.as_str())),
        ),
        (
            t.get("col-channel"),
            t.get(&format!("channel-{}", request.channel.as_str())),
        ),
        (t.get("col-received"), t.moment(request.received_at)),
        (t.get("col-due"), t.date(request.due_on)),
        (
            t.get("col-state"),
            t.get(&format!("state-{}", request.state.as_str())),
        ),
    ];
    if let Some(closed) = request.closed_at {
        rows.push((t.get("requests-closed-on"), t.moment(closed)));
    }
    let mut blocks = vec![];
    // Who asked and what they wrote open only for a verified request, for answering it.
    if request.state == RequestState::AwaitingVerification {
        blocks.push(Block::Text(t.get("requests-person-unverified")));
    } else {
        match state.app.requester(&actor, request.id).await {
            Ok(who) => {
                rows.push((t.get("requests-person"), who.name));
                rows.push((t.get("register-email"), who.email));
                rows.push((t.get("field-description"), who.description));
                if !who.answer.is_empty() {
                    rows.push((t.get("requests-answer"), who.answer));
                }
            }
            Err(e) => return staff.failed(&state, e),
        }
    }
    let mut all = vec![Block::Table(Table {
        caption: t.get("requests-detail-caption"),
        headers: vec![t.get("col-fields"), t.get("col-value")],
        rows: rows
            .into_iter()
            .map(|(k, v)| vec![Cell::Strong(k), Cell::Text(v)])
            .collect(),
        empty: String::new(),
    })];
    all.append(&mut blocks);
    if request.closed_at.is_none() {
        match (request.state, request.right) {
            (RequestState::AwaitingVerification, _) => {
                all.push(Block::Form(form(
                    &format!("verify-{}", request.id),
                    format!("/staff/requests/{}/verify", request.id),
                    vec![Field::input("code", t.get("requests-code"), "text")],
                    t.get("requests-verify"),
                )));
                all.push(Block::Form(resend_form(&t, request.id)));
            }
            (_, RightKind::Rectification) => {
                match rectify_form(&state, &t, &actor, &request).await {
                    Ok(rectify) => all.push(Block::Form(rectify)),
                    Err(e) => return staff.failed(&state, e),
                }
            }
            _ => all.push(Block::Form(form(
                &format!("fulfil-{}", request.id),
                format!("/staff/requests/{}/fulfil", request.id),
                vec![],
                t.get("requests-fulfil"),
            ))),
        }
        all.push(Block::Form(form(
            &format!("reject-{}", request.id),
            format!("/staff/requests/{}/reject", request.id),
            vec![Field::input("reason", t.get("requests-reason"), "text")],
            t.get("requests-reject"),
        )));
    }
    staff.page(&state, StatusCode::OK, t.get("requests-detail-title"), all)
}
