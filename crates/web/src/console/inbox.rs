//! Letters from the data protection service's mailbox, waiting to be classified: the list on
//! the request queue, each letter's page (opening it is an audited read of who wrote and what),
//! and the officer's answer — the right it asks for, or not a request.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use uuid::Uuid;
use vintrova_core::requests::mailbox::InboxItem;
use vintrova_core::rights::RightKind;
use vintrova_core::staff::Permission;

use super::requests::REQUEST_WORK;
use super::{Block, Cell, Field, StaffVisit, Table, form};
use crate::AppState;
use crate::i18n::{Lang, Tr};

/// The letter's language, named in itself (Қазақша, Русский, English).
fn language(locale: &str) -> String {
    Tr::new(Lang::or_default(locale)).get("lang-name")
}

/// The table of letters waiting, for the request queue: when each came, in which language, the
/// day its 30 days end — never who wrote or what.
pub(super) fn waiting(t: &Tr, inbox: &[InboxItem]) -> Block {
    Block::Table(Table {
        caption: t.get("inbox-caption"),
        headers: [
            "col-received",
            "inbox-language",
            "col-due",
            "requests-action",
        ]
        .iter()
        .map(|k| t.get(k))
        .collect(),
        rows: inbox
            .iter()
            .map(|item| {
                vec![
                    Cell::Text(t.day_of(item.received_at)),
                    Cell::Text(language(&item.locale)),
                    Cell::Text(t.date(item.due_on)),
                    Cell::Link(format!("/staff/inbox/{}", item.id), t.get("inbox-open")),
                ]
            })
            .collect(),
        empty: t.get("inbox-none"),
    })
}

/// One letter: when it came, who wrote, what; the forms that classify it.
pub async fn letter_page(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
) -> Response {
    let t = staff.t();
    let actor = match staff.permit(&state, Permission::HandleRequests, Some(REQUEST_WORK)) {
        Ok(actor) => actor,
        Err(reason) => return staff.denied(&state, reason),
    };
    let letter = match state.app.open_inbox_letter(&actor, id).await {
        Ok(letter) => letter,
        Err(e) => return staff.failed(&state, e),
    };
    let rows = vec![
        (t.get("col-received"), t.moment(letter.item.received_at)),
        (t.get("col-due"), t.date(letter.item.due_on)),
        (t.get("inbox-language"), language(&letter.item.locale)),
        (t.get("inbox-from"), letter.from),
        (t.get("inbox-subject"), letter.subject),
        (t.get("inbox-text"), letter.body),
    ];
    let rights = RightKind::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                t.get(&format!("right-{}", r.as_str())),
            )
        })
        .collect();
    let blocks = vec![
        Block::Text(t.get("inbox-explain")),
        Block::Table(Table {
            caption: t.get("inbox-title"),
            headers: vec![t.get("col-fields"), t.get("col-value")],
            rows: rows
                .into_iter()
                .map(|(k, v)| vec![Cell::Strong(k), Cell::Text(v)])
                .collect(),
            empty: String::new(),
        }),
        Block::Form(form(
            &format!("classify-{id}"),
            format!("/staff/inbox/{id}/classify"),
            vec![Field::choice("right", t.get("inbox-right"), rights)],
            t.get("inbox-classify"),
        )),
        Block::Form(form(
            &format!("dismiss-{id}"),
            format!("/staff/inbox/{id}/dismiss"),
            vec![],
            t.get("inbox-dismiss"),
        )),
    ];
    staff.page(&state, StatusCode::OK, t.get("inbox-title"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct ClassifyForm {
    csrf: String,
    right: String,
}

/// The letter asks for `right`: it is held as a letter and its code goes to the sender.
pub async fn classify(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<ClassifyForm>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let Some(right) = RightKind::parse(&form.right) else {
        return staff.visit.redirect(&format!("/staff/inbox/{id}"));
    };
    match state.app.classify_letter(&actor, id, right).await {
        Ok(_) => staff.visit.redirect("/staff/requests?done=classified"),
        Err(e) => staff.failed(&state, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct DismissForm {
    csrf: String,
}

/// Not a request: the letter leaves the inbox.
pub async fn dismiss(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Form(form): Form<DismissForm>,
) -> Response {
    let (staff, actor) = match staff.admit_request_work(&state, &form.csrf) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    match state.app.dismiss_letter(&actor, id).await {
        Ok(()) => staff.visit.redirect("/staff/requests?done=dismissed"),
        Err(e) => staff.failed(&state, e),
    }
}
