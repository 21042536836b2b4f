//! Who receives personal data, as the policy in force names them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use vintrova_core::staff::Permission;

use super::{Block, Cell, StaffVisit, Table};
use crate::AppState;
use crate::words::Named;

/// The recipients register, from the policy (disclosures come with issue 8).
pub async fn recipients(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::Console, None) {
        return staff.denied(&state, reason);
    }
    let policy = state.app.policy();
    let lang = t.code();
    let rows = policy
        .recipients
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.name.get(lang).to_string()),
                Cell::Text(r.role.get(lang).to_string()),
                Cell::Text(Named::Country.all(&t, policy, &r.countries)),
                Cell::Text(Named::Category.all(&t, policy, &r.categories)),
                Cell::Text(Named::Purpose.all(&t, policy, &r.purposes)),
            ]
        })
        .collect();
    let blocks = vec![
        Block::Text(t.with("recipients-version", &[("version", policy.version.clone())])),
        Block::Table(Table {
            caption: t.get("console-recipients"),
            headers: [
                "col-recipient",
                "col-role",
                "col-countries",
                "col-categories",
                "col-purpose",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows,
            empty: String::new(),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-recipients"), blocks)
}
