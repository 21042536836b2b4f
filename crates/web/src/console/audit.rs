//! The audit log as staff see it: verified on every visit, and never a value in it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::collections::HashMap;

use vintrova_core::letters::why;
use vintrova_core::staff::Permission;

use super::{Block, Cell, StaffVisit, Table, almaty_time};
use crate::AppState;
use crate::i18n::Tr;
use crate::words::Named;

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
    let (entries, team) = match (
        state.app.recent_audit(50).await,
        state.app.staff_members().await,
    ) {
        (Ok(page), Ok(team)) => (page, team),
        (Err(e), _) | (_, Err(e)) => return staff.failed(&state, e),
    };
    let logins: HashMap<String, &str> = team
        .iter()
        .map(|m| (m.id.to_string(), m.login.as_str()))
        .collect();
    let policy = state.app.policy();
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
                Cell::Text(who(&t, &r.entry.actor, &logins)),
                Cell::Text(
                    t.find(&format!("action-{}", r.entry.action))
                        .unwrap_or_else(|| r.entry.action.replace('_', " ")),
                ),
                Cell::Text(
                    r.entry
                        .purpose
                        .as_deref()
                        .map(|p| why(&t, policy, p))
                        .unwrap_or_default(),
                ),
                Cell::Text(Named::Category.all(&t, policy, &r.entry.categories)),
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

/// Who acted, as an auditor reads it: a staff member by login and role (ids mean nothing to a
/// reader; a login no longer on the team is said so), everyone else by what they are.
fn who(t: &Tr, actor: &str, logins: &HashMap<String, &str>) -> String {
    let mut parts = actor.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("staff"), Some(role), id) => {
            let role = t
                .find(&format!("role-{role}"))
                .unwrap_or_else(|| role.replace('_', " "));
            match id.and_then(|id| logins.get(id)) {
                Some(login) => t.with(
                    "audit-actor-staff",
                    &[("login", login.to_string()), ("role", role)],
                ),
                None => t.with("audit-actor-former", &[("role", role)]),
            }
        }
        (Some("person"), ..) => t.get("audit-actor-person"),
        (Some("site"), ..) => t.get("audit-actor-site"),
        (Some("api"), ..) => t.get("audit-actor-platform"),
        (Some("cli"), ..) => t.get("audit-actor-operator"),
        _ => t.get("audit-actor-system"),
    }
}
