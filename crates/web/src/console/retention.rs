//! Retention: what falls due for deletion, and the holds that keep data past its term.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::civil::Date;
use vintrova_core::staff::Permission;

use super::{Block, Cell, Chart, StaffVisit, Table};
use crate::AppState;

/// Retention at a glance: what falls due in each of the next six months, and the holds.
pub async fn retention(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewRetention, None) {
        return staff.denied(&state, reason);
    }
    let (months, holds) = match (
        state.app.expiring_by_month(6).await,
        state.app.holds().await,
    ) {
        (Ok(m), Ok(h)) => (m, h),
        (Err(e), _) | (_, Err(e)) => return staff.failed(&state, e),
    };
    let label = |d: Date| {
        format!(
            "{} {}",
            t.get(&format!("month-short-{}", d.month())),
            d.year()
        )
    };
    let chart = Chart::bars(
        "retention",
        t.get("retention-chart"),
        months
            .iter()
            .map(|m| (label(m.month_end), m.items, "ok"))
            .collect(),
    );
    let now = state.app.now();
    let blocks = vec![
        Block::Chart(chart),
        Block::Table(Table {
            caption: t.get("retention-caption"),
            headers: ["retention-month", "retention-items", "retention-people"]
                .iter()
                .map(|k| t.get(k))
                .collect(),
            rows: months
                .iter()
                .map(|m| {
                    vec![
                        Cell::Text(label(m.month_end)),
                        Cell::Text(t.number(m.items)),
                        Cell::Text(t.number(m.subjects_removed)),
                    ]
                })
                .collect(),
            empty: String::new(),
        }),
        Block::Heading(t.get("retention-holds")),
        Block::Table(Table {
            caption: t.get("retention-holds"),
            headers: [
                "retention-reference",
                "col-categories",
                "retention-until",
                "col-state",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows: holds
                .iter()
                .map(|h| {
                    vec![
                        Cell::Text(h.reference.clone()),
                        Cell::Text(if h.categories.is_empty() {
                            t.get("retention-all")
                        } else {
                            h.categories.join(", ")
                        }),
                        Cell::Text(
                            h.until
                                .map(|u| t.day_of(u))
                                .unwrap_or_else(|| t.get("retention-until-released")),
                        ),
                        Cell::Text(t.get(if h.in_force(now) {
                            "retention-in-force"
                        } else {
                            "retention-released"
                        })),
                    ]
                })
                .collect(),
            empty: t.get("retention-no-holds"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-retention"), blocks)
}
