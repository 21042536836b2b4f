//! Incidents and the clocks each runs against: telling the authority, telling the people.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use vintrova_core::assessments::Schedule;
use vintrova_core::incidents::{Clock, ClockState, Incident};
use vintrova_core::staff::Permission;

use super::{Block, Cell, StaffVisit, Table, almaty_time};
use crate::AppState;
use crate::i18n::Tr;

fn clock_cell(t: &Tr, clock: Option<&Clock>) -> Cell {
    let Some(clock) = clock else {
        return Cell::Text(t.get("clock-nobody"));
    };
    let minutes = clock.minutes_left.unwrap_or(0);
    match clock.state {
        ClockState::Running => Cell::Text(t.with(
            "clock-running",
            &[
                ("hours", (minutes / 60).to_string()),
                ("minutes", (minutes % 60).to_string()),
            ],
        )),
        ClockState::Overdue => Cell::Strong(t.get("clock-overdue")),
        ClockState::Met => Cell::Text(t.get("clock-met")),
        ClockState::MetLate => Cell::Strong(t.get("clock-met-late")),
    }
}

pub(super) fn incident_blocks(t: &Tr, incidents: &[Incident]) -> Vec<Block> {
    vec![
        Block::Heading(t.get("console-incidents")),
        Block::Table(Table {
            caption: t.get("incidents-caption"),
            headers: [
                "incidents-detected",
                "incidents-description",
                "incidents-due",
                "incidents-clock",
                "incidents-people",
                "col-state",
            ]
            .iter()
            .map(|k| t.get(k))
            .collect(),
            rows: incidents
                .iter()
                .map(|i| {
                    vec![
                        Cell::Text(t.day_of(i.detected_at)),
                        Cell::Text(i.description.clone()),
                        Cell::Text(format!(
                            "{} {}",
                            t.day_of(i.authority.due_at),
                            almaty_time(i.authority.due_at)
                        )),
                        clock_cell(t, Some(&i.authority)),
                        clock_cell(t, i.people.as_ref()),
                        Cell::Text(t.get(if i.is_open() {
                            "incidents-open"
                        } else {
                            "incidents-closed"
                        })),
                    ]
                })
                .collect(),
            empty: t.get("incidents-none"),
        }),
    ]
}

pub async fn incidents(State(state): State<AppState>, staff: StaffVisit) -> Response {
    let t = staff.t();
    if let Err(reason) = staff.permit(&state, Permission::ViewIncidents, None) {
        return staff.denied(&state, reason);
    }
    let mut blocks = match state.app.incidents().await {
        Ok(list) => incident_blocks(&t, &list),
        Err(e) => return staff.failed(&state, e),
    };
    // The yearly security audit and risk assessment, when each is due and whether it is late.
    if staff
        .permit(&state, Permission::ViewAssessments, None)
        .is_ok()
    {
        match state.app.assessment_schedule().await {
            Ok(schedule) => blocks.extend(schedule_blocks(&t, &schedule)),
            Err(e) => return staff.failed(&state, e),
        }
    }
    staff.page(&state, StatusCode::OK, t.get("console-incidents"), blocks)
}

fn schedule_blocks(t: &Tr, schedule: &[Schedule]) -> Vec<Block> {
    vec![Block::Table(Table {
        caption: t.get("assessments-caption"),
        headers: [
            "assessments-kind",
            "assessments-last",
            "assessments-due",
            "col-state",
        ]
        .iter()
        .map(|k| t.get(k))
        .collect(),
        rows: schedule
            .iter()
            .map(|s| {
                let day = |d: Option<jiff::civil::Date>| match d {
                    Some(d) => t.date(d),
                    None => t.get("assessments-never"),
                };
                vec![
                    Cell::Text(t.get(&format!("assessment-{}", s.kind.as_str()))),
                    Cell::Text(day(s.last_on)),
                    Cell::Text(day(s.due_on)),
                    if s.overdue {
                        Cell::Strong(t.get("assessments-overdue"))
                    } else {
                        Cell::Text(t.get("assessments-on-time"))
                    },
                ]
            })
            .collect(),
        empty: String::new(),
    })]
}
