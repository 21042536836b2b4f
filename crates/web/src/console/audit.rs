//! The audit log as staff see it: verified on every visit, and never a value in it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use vintrova_core::staff::Permission;

use super::{Block, Cell, StaffVisit, Table, almaty_time};
use crate::AppState;

/// The audit log: its verification and its newest entries (never a value).
pub async fn audit(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::VerifyAudit, None) {
        return staff.denied(&state, reason);
    }
    let verified = state.app.verify_audit().await;
    crate::metrics::audit_verified(
        verified.is_ok(),
        verified.as_ref().map(|r| r.entries).unwrap_or(0),
        state.app.now(),
    );
    let status = match &verified {
        Ok(report) => Block::Text(t.with(
            "audit-ok",
            &[(
                "entries",
                t.number(u64::try_from(report.entries).unwrap_or(0)),
            )],
        )),
        Err(e) => Block::Heading(t.with("audit-broken", &[("reason", e.to_string())])),
    };
    let entries = match state.app.recent_audit(50).await {
        Ok(page) => page,
        Err(e) => return staff.failed(&state, e),
    };
    let rows = entries
        .iter()
        .rev()
        .map(|r| {
            vec![
                Cell::Text(r.seq.to_string()),
                Cell::Text(format!(
                    "{} {}",
                    t.day_of(r.entry.at),
                    almaty_time(r.entry.at)
                )),
                Cell::Text(r.entry.actor.clone()),
                Cell::Text(r.entry.action.clone()),
                Cell::Text(r.entry.purpose.clone().unwrap_or_default()),
                Cell::Text(r.entry.categories.join(", ")),
            ]
        })
        .collect();
    let blocks = vec![
        status,
        Block::Table(Table {
            caption: t.get("audit-caption"),
            headers: [
                "audit-seq",
                "audit-at",
                "audit-actor",
                "audit-action",
                "col-purpose",
                "col-categories",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows,
            empty: t.get("audit-empty"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-audit"), blocks)
}
