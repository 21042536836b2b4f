//! Learning effectiveness, only ever from the anonymized release.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use vintrova_core::CoreError;
use vintrova_core::staff::Permission;

use super::{Block, Cell, Chart, StaffVisit, Table};
use crate::AppState;

/// Learning effectiveness, from the anonymized release: completion rate by course and level.
pub async fn analytics(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewAnalytics, None) {
        return staff.denied(&state, reason);
    }
    let release = match state.app.analytics(vintrova_core::analytics::MIN_K).await {
        Ok(release) => release,
        Err(CoreError::Invalid(_)) => {
            let text = t.get("analytics-too-small");
            return staff.page(
                &state,
                StatusCode::OK,
                t.get("console-analytics"),
                vec![Block::Text(text)],
            );
        }
        Err(e) => return staff.failed(&state, e),
    };
    let rates = vintrova_core::analytics::completion_rates(&release);
    let chart = Chart::bars(
        "completion",
        t.get("analytics-chart"),
        rates
            .iter()
            .map(|r| (r.course.clone(), (r.rate * 100.0).round() as u64, "ok"))
            .collect(),
    );
    let blocks = vec![
        Block::Text(t.with(
            "analytics-intro",
            &[
                ("k", release.k.to_string()),
                ("suppressed", t.number(release.suppressed)),
            ],
        )),
        Block::Chart(chart),
        Block::Table(Table {
            caption: t.get("analytics-caption"),
            headers: [
                "analytics-course",
                "analytics-level",
                "analytics-enrollments",
                "analytics-rate",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows: rates
                .iter()
                .map(|r| {
                    vec![
                        Cell::Text(r.course.clone()),
                        Cell::Text(r.course_level.clone()),
                        Cell::Text(t.number(r.enrollments)),
                        Cell::Text(format!("{}%", (r.rate * 100.0).round())),
                    ]
                })
                .collect(),
            empty: t.get("analytics-too-small"),
        }),
    ];
    staff.page(&state, StatusCode::OK, t.get("console-analytics"), blocks)
}
