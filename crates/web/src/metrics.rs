//! Monitoring (R7.4): Prometheus metrics at `/metrics` — requests and errors by route template
//! (never by raw path, which could carry an id), requests in flight, refusals by the access guard and the rate
//! limiter, and, computed when scraped, the outbox's depth, request deadlines at risk, incident
//! clocks, the last retention sweep and the audit chain's last verification. No label ever
//! holds personal data.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use vintrova_core::incidents::ClockState;
use vintrova_core::outbox::OutboxState;
use vintrova_core::staff::Permission;
use vintrova_core::sweep::SweepReceipt;

use crate::AppState;
use crate::security::Door;

/// The process's recorder, installed once (tests build many routers in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets(&[
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
            .expect("static buckets are valid")
            .install_recorder()
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder().handle())
    })
}

/// Count and time every request by method, route template and status.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    // What a rolling restart waits on: requests begun and not yet answered.
    let in_flight = gauge!("vintrova_http_requests_in_flight");
    in_flight.increment(1.0);
    let response = next.run(request).await;
    in_flight.decrement(1.0);
    let status = response.status();
    let labels = [
        ("method", method),
        ("route", route),
        ("status", status.as_u16().to_string()),
    ];
    counter!("vintrova_http_requests_total", &labels).increment(1);
    if status.is_server_error() {
        counter!("vintrova_http_errors_total", &labels[..2]).increment(1);
    }
    histogram!("vintrova_http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    response
}

pub(crate) fn denied(permission: Permission) {
    counter!("vintrova_access_denied_total", "permission" => permission.as_str()).increment(1);
}

pub(crate) fn throttled(door: Door) {
    counter!("vintrova_rate_limited_total", "door" => format!("{door:?}")).increment(1);
}

/// A finished sweep, as the daily job reports it.
pub fn sweep_finished(receipt: &SweepReceipt) {
    counter!("vintrova_sweep_runs_total").increment(1);
    gauge!("vintrova_sweep_last_run_timestamp_seconds").set(receipt.as_of.as_second() as f64);
    for c in &receipt.deleted {
        counter!("vintrova_sweep_deleted_total", "rule" => c.rule.clone(), "category" => c.category.clone())
            .increment(c.values + c.events);
    }
    for r in &receipt.records_deleted {
        counter!("vintrova_sweep_records_deleted_total", "rule" => r.rule.clone(), "kind" => r.kind.clone())
            .increment(r.records);
    }
    counter!("vintrova_sweep_subjects_removed_total").increment(receipt.subjects_removed);
    counter!("vintrova_sweep_audit_entries_pruned_total").increment(receipt.audit_entries_pruned);
}

/// The audit chain's last verification: 1 verified, 0 broken.
pub fn audit_verified(ok: bool, entries: i64, at: jiff::Timestamp) {
    gauge!("vintrova_audit_chain_ok").set(if ok { 1.0 } else { 0.0 });
    gauge!("vintrova_audit_chain_entries").set(entries as f64);
    gauge!("vintrova_audit_chain_verified_timestamp_seconds").set(at.as_second() as f64);
}

/// `/metrics`: the recorded series, with the gauges that are read from the database now.
pub async fn scrape(State(state): State<AppState>) -> Response {
    if let Err(e) = refresh(&state).await {
        tracing::warn!(error = %e, "metrics: a gauge could not be read");
        gauge!("vintrova_metrics_refresh_ok").set(0.0);
    } else {
        gauge!("vintrova_metrics_refresh_ok").set(1.0);
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle().render(),
    )
        .into_response()
}

async fn refresh(state: &AppState) -> Result<(), vintrova_core::CoreError> {
    let app = &state.app;
    // A log that lost its tail is broken now, whatever the last verification said.
    if app.audit_tail_break().await?.is_some() {
        gauge!("vintrova_audit_chain_ok").set(0.0);
    }
    // Entries per turn is what group commit buys: a turn costs one commit and one sync.
    let grouped = app.appender_counts();
    counter!("vintrova_audit_appender_turns_total").absolute(grouped.turns);
    counter!("vintrova_audit_appender_entries_total").absolute(grouped.entries);
    counter!("vintrova_audit_appender_writer_heads_total").absolute(grouped.heads);
    let counts = app.outbox_counts().await?;
    for outbox_state in OutboxState::ALL {
        let n = counts
            .iter()
            .find(|(s, _)| s == outbox_state.as_str())
            .map_or(0, |(_, n)| *n);
        gauge!("vintrova_outbox_messages", "state" => outbox_state.as_str()).set(n as f64);
    }
    let queue = app.request_queue().await?;
    let at_risk = |f: &dyn Fn(&vintrova_core::requests::Queued) -> bool| {
        queue.iter().filter(|q| f(q)).count() as f64
    };
    gauge!("vintrova_requests_open").set(queue.len() as f64);
    gauge!("vintrova_requests_due_soon").set(at_risk(&|q| q.due_soon && !q.overdue));
    gauge!("vintrova_requests_overdue").set(at_risk(&|q| q.overdue));
    let incidents = app.incidents().await?;
    gauge!("vintrova_incidents_open").set(incidents.iter().filter(|i| i.is_open()).count() as f64);
    gauge!("vintrova_incidents_authority_overdue").set(
        incidents
            .iter()
            .filter(|i| i.authority.state == ClockState::Overdue)
            .count() as f64,
    );
    gauge!("vintrova_incidents_people_overdue").set(
        incidents
            .iter()
            .filter(|i| i.is_open())
            .filter(|i| {
                i.people
                    .as_ref()
                    .is_some_and(|c| c.state == ClockState::Overdue)
            })
            .count() as f64,
    );
    // R7.8: the yearly security audit and risk assessment, 1 while one is overdue.
    for due in app.assessment_schedule().await? {
        gauge!("vintrova_assessment_overdue", "kind" => due.kind.as_str()).set(if due.overdue {
            1.0
        } else {
            0.0
        });
    }
    Ok(())
}
