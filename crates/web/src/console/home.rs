//! The console's first page: whether the staff member's paperwork opens personal data today,
//! and the incident clocks, before anything else.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use vintrova_core::staff::Permission;

use super::incidents::incident_blocks;
use super::{Block, StaffVisit};
use crate::AppState;

/// Home: who is signed in, whether their paperwork opens personal data, the incident clocks.
pub async fn home(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::Console, None) {
        return staff.denied(&state, reason);
    }
    let today = state
        .app
        .now()
        .to_zoned_datetime(state.app.policy().zone())
        .date();
    let mut blocks = vec![Block::Text(t.with(
        "console-who",
        &[
            ("login", staff.member.login.clone()),
            (
                "role",
                t.get(&format!("role-{}", staff.member.role.as_str())),
            ),
        ],
    ))];
    blocks.push(Block::Text(match staff.member.paperwork.standing(today) {
        Ok(()) => t.with(
            "console-pd-open",
            &[(
                "date",
                staff
                    .member
                    .paperwork
                    .training_lapses_on
                    .map(|d| t.date(d))
                    .unwrap_or_default(),
            )],
        ),
        Err(reason) => t.with(
            "console-pd-closed",
            &[("reason", crate::refusals::denied_text(&t, &reason))],
        ),
    }));
    // The request queue at a glance, for whoever answers it.
    if Permission::HandleRequests.allows(staff.member.principal()) {
        let queue = match state.app.request_queue().await {
            Ok(queue) => queue,
            Err(e) => return staff.failed(&state, e),
        };
        let count = |f: &dyn Fn(&vintrova_core::requests::Queued) -> bool| {
            queue.iter().filter(|q| f(q)).count().to_string()
        };
        blocks.push(Block::Heading(t.get("console-requests")));
        blocks.push(Block::Link(
            "/staff/requests".into(),
            t.with(
                "console-queue-summary",
                &[
                    ("open", queue.len().to_string()),
                    ("overdue", count(&|q| q.overdue)),
                    ("soon", count(&|q| q.due_soon && !q.overdue)),
                ],
            ),
        ));
    }
    if staff
        .permit(&state, Permission::ViewIncidents, None)
        .is_ok()
    {
        match state.app.incidents().await {
            Ok(incidents) => blocks.extend(incident_blocks(&t, &incidents)),
            Err(e) => return staff.failed(&state, e),
        }
    }
    staff.page(&state, StatusCode::OK, t.get("console-home"), blocks)
}
