//! Staff, their roles and the paperwork that lets them see personal data.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use serde::Deserialize;
use uuid::Uuid;
use vintrova_core::staff::{Paper, PaperKind, Permission, Role};

use super::{Block, Cell, Field, StaffVisit, Table, form};
use crate::AppState;

/// Staff and their paperwork; administrators add staff, the DPO records paperwork.
pub async fn team(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewStaff, None) {
        return staff.denied(&state, reason);
    }
    let members = match state.app.staff_members().await {
        Ok(m) => m,
        Err(e) => return staff.failed(&state, e),
    };
    let today = state
        .app
        .now()
        .to_zoned_datetime(state.app.policy().zone())
        .date();
    let rows = members
        .iter()
        .map(|m| {
            let standing = match m.paperwork.standing(today) {
                Ok(()) => Cell::Text(
                    t.with(
                        "team-until",
                        &[(
                            "date",
                            m.paperwork
                                .training_lapses_on
                                .map(|d| t.date(d))
                                .unwrap_or_default(),
                        )],
                    ),
                ),
                Err(reason) => Cell::Strong(t.get(&format!("team-{}", reason.rule()))),
            };
            vec![
                Cell::Text(m.login.clone()),
                Cell::Text(t.get(&format!("role-{}", m.role.as_str()))),
                Cell::Text(t.get(if m.enrolled {
                    "team-enrolled"
                } else {
                    "team-invited"
                })),
                standing,
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table(Table {
        caption: t.get("console-team"),
        headers: [
            "console-login",
            "team-role",
            "team-enrollment",
            "team-paperwork",
        ]
        .iter()
        .map(|k| t.get(k))
        .collect(),
        rows,
        empty: String::new(),
    })];
    if Permission::RecordPaperwork.allows(staff.member.principal()) {
        blocks.push(Block::Heading(t.get("team-paperwork-record")));
        blocks.push(Block::Form(form(
            "paperwork",
            "/staff/team/paperwork".into(),
            vec![
                Field::choice(
                    "staff",
                    t.get("console-login"),
                    members
                        .iter()
                        .map(|m| (m.id.to_string(), m.login.clone()))
                        .collect(),
                ),
                Field::choice(
                    "kind",
                    t.get("team-paper"),
                    vec![
                        ("agreement".into(), t.get("team-agreement")),
                        ("training".into(), t.get("team-training")),
                    ],
                ),
                Field::input("on", t.get("team-on"), "date"),
                Field::input("reference", t.get("team-reference"), "text"),
            ],
            t.get("team-paperwork-submit"),
        )));
    }
    if Permission::ManageStaff.allows(staff.member.principal()) {
        blocks.push(Block::Heading(t.get("team-add")));
        blocks.push(Block::Form(form(
            "add-staff",
            "/staff/team".into(),
            vec![
                Field::input("login", t.get("console-login"), "text"),
                Field::choice(
                    "role",
                    t.get("team-role"),
                    Role::ALL
                        .iter()
                        .map(|r| {
                            (
                                r.as_str().to_string(),
                                t.get(&format!("role-{}", r.as_str())),
                            )
                        })
                        .collect(),
                ),
            ],
            t.get("team-add-submit"),
        )));
    }
    staff.page(&state, StatusCode::OK, t.get("console-team"), blocks)
}

#[derive(Debug, Deserialize)]
pub struct PaperworkForm {
    csrf: String,
    staff: Uuid,
    kind: String,
    on: Date,
    reference: String,
}

pub async fn record_paperwork(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<PaperworkForm>,
) -> Response {
    let (staff, actor) = match staff.admit(&state, &form.csrf, Permission::RecordPaperwork, None) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let kind = PaperKind::parse(&form.kind).unwrap_or(PaperKind::Training);
    let paper = Paper {
        kind,
        on: form.on,
        reference: form.reference,
    };
    match state.app.record_paperwork(&actor, form.staff, paper).await {
        Ok(_) => staff.visit.redirect("/staff/team"),
        Err(e) => staff.failed(&state, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct AddStaffForm {
    csrf: String,
    login: String,
    role: String,
}

/// Add a staff member: the page shows their one-time link, once.
pub async fn add_staff(
    State(state): State<AppState>,
    staff: StaffVisit,
    Form(form): Form<AddStaffForm>,
) -> Response {
    let (staff, actor) = match staff.admit(&state, &form.csrf, Permission::ManageStaff, None) {
        Ok(admitted) => admitted,
        Err(answer) => return answer,
    };
    let t = staff.t();
    let role = Role::parse(&form.role).unwrap_or(Role::Support);
    match state.app.add_staff(&actor, &form.login, role).await {
        Ok(enrollment) => {
            let link = format!("/staff/enroll?token={}", enrollment.token);
            let blocks = vec![
                Block::Text(t.with("team-link", &[("login", enrollment.login.clone())])),
                Block::Table(Table {
                    caption: t.get("team-link-caption"),
                    headers: vec![t.get("console-login")],
                    rows: vec![vec![Cell::Link(link.clone(), link)]],
                    empty: String::new(),
                }),
            ];
            staff.page(&state, StatusCode::CREATED, t.get("team-add"), blocks)
        }
        Err(e) => staff.failed(&state, e),
    }
}
