//! Finding a person and opening their data, always for a stated purpose.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;
use vintrova_core::duties::{DutyView, StaffDuty};
use vintrova_core::staff::{Permission, STAFF_DUTIES};

use super::{Block, Cell, Field, FormSpec, StaffVisit, Table, form};
use crate::AppState;
use crate::i18n::Tr;

fn purposes(state: &AppState, t: &Tr) -> Vec<(String, String)> {
    let lang = t.code();
    state
        .app
        .policy()
        .purposes
        .iter()
        .map(|p| (p.key.clone(), p.name.get(lang).to_string()))
        .chain(
            STAFF_DUTIES
                .iter()
                .map(|d| (d.to_string(), t.get(&format!("duty-{d}")))),
        )
        .collect()
}

fn lookup_form(state: &AppState, t: &Tr) -> FormSpec {
    form(
        "lookup",
        "/staff/lookup".into(),
        vec![
            Field::choice(
                "field",
                t.get("lookup-field"),
                vec![
                    ("contact.email".into(), t.get("register-email")),
                    ("contact.phone".into(), t.get("lookup-phone")),
                ],
            ),
            Field::input("value", t.get("col-value"), "text"),
            Field::choice("purpose", t.get("lookup-purpose"), purposes(state, t)),
            Field {
                required: false,
                ..Field::input("reference", t.get("lookup-reference"), "text")
            },
        ],
        t.get("lookup-submit"),
    )
}

/// Look a person up: the form asks why, and the audit log keeps the answer.
pub async fn lookup_page(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if !Permission::ReadSubject.allows(staff.member.principal()) {
        let reason = staff
            .permit(&state, Permission::ReadSubject, Some("support"))
            .err()
            .unwrap_or_default();
        return staff.denied(&state, reason);
    }
    let blocks = vec![
        Block::Text(t.get("lookup-intro")),
        Block::Form(lookup_form(&state, &t)),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-lookup"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct LookupForm {
    csrf: String,
    field: String,
    value: String,
    purpose: String,
    /// The request, incident or hold a duty serves; empty for a policy purpose.
    #[serde(default)]
    reference: String,
}

pub async fn lookup(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<LookupForm>,
) -> Response {
    let (staff, actor) = match staff.admit(
        &state,
        &form.csrf,
        Permission::ReadSubject,
        Some(&form.purpose),
    ) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let t = staff.t();
    let found = match state.app.find(&actor, &form.field, &form.value).await {
        Ok(found) => found,
        Err(e) => return staff.failed(&state, e),
    };
    let rows = found
        .iter()
        .map(|id| {
            let reference = form.reference.trim();
            let reference = Uuid::parse_str(reference)
                .map(|r| format!("&reference={r}"))
                .unwrap_or_default();
            vec![Cell::Link(
                format!("/staff/subjects/{id}?purpose={}{reference}", form.purpose),
                id.to_string(),
            )]
        })
        .collect();
    let blocks = vec![
        Block::Table(Table {
            caption: t.get("lookup-results"),
            headers: vec![t.get("lookup-subject")],
            rows,
            empty: t.get("lookup-none"),
        }),
        Block::Form(lookup_form(&state, &t)),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-lookup"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct PurposeQuery {
    purpose: String,
    /// The record a duty serves: the request, incident or hold id.
    reference: Option<String>,
}

/// One person's data for the stated purpose: what that purpose may see. A duty opens data only
/// for the record it names — a verified request's full copy, an incident's affected categories,
/// a hold's kept categories.
pub async fn subject(
    State(state): State<AppState>,
    staff: StaffVisit,
    Path(id): Path<Uuid>,
    Query(query): Query<PurposeQuery>,
) -> Response {
    let t = staff.t();
    let actor = match staff.permit(&state, Permission::ReadSubject, Some(&query.purpose)) {
        Ok(a) => a,
        Err(reason) => return staff.denied(&state, reason),
    };
    let policy = state.app.policy();
    let lang = t.code();
    let name = |field: &str| {
        policy.field(field).map_or(field.to_string(), |(c, f)| {
            format!("{} — {}", c.name.get(lang), f.name.get(lang))
        })
    };
    let shown = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let rows: Vec<Vec<Cell>> = if policy.purpose(&query.purpose).is_some() {
        match state.app.read(&actor, id, &query.purpose).await {
            Ok(view) => view
                .values
                .iter()
                .map(|(field, value)| vec![Cell::Text(name(field)), Cell::Text(shown(value))])
                .collect(),
            Err(e) => return staff.failed(&state, e),
        }
    } else {
        let duty = match StaffDuty::parse(&query.purpose, query.reference.as_deref()) {
            Ok(duty) => duty,
            Err(e) => return staff.failed(&state, e.into()),
        };
        match state.app.read_for_duty(&actor, id, duty).await {
            Ok(DutyView::Copy(export)) => export
                .values
                .iter()
                .map(|v| vec![Cell::Text(name(&v.field)), Cell::Text(shown(&v.value))])
                .collect(),
            Ok(DutyView::View(view)) => view
                .values
                .iter()
                .map(|(field, value)| vec![Cell::Text(name(field)), Cell::Text(shown(value))])
                .collect(),
            Err(e) => return staff.failed(&state, e),
        }
    };
    let blocks = vec![
        Block::Text(t.with("subject-purpose", &[("purpose", query.purpose.clone())])),
        Block::Table(Table {
            caption: id.to_string(),
            headers: vec![t.get("col-fields"), t.get("col-value")],
            rows,
            empty: t.get("me-empty"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-subject"), blocks)
}
