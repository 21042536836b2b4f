//! The person's rights requests from the cabinet, and the copy an access request made.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use vintrova_core::CoreError;
use vintrova_core::requests::AnswerChannel;
use vintrova_core::rights::RightKind;

use super::{Chrome, Entered, Flagged, MessagePage, Visit, failed, right_name};
use crate::AppState;
use crate::security::Door;
use vintrova_core::values::Refused;

struct RequestRow {
    right: String,
    received: String,
    state: String,
    due: String,
}

#[derive(Template)]
#[template(path = "requests.html")]
struct RequestsPage {
    c: Chrome,
    /// A copy is waiting: only then the links to it.
    has_copy: bool,
    rows: Vec<RequestRow>,
    /// Each right: its key, its name and what it does, in one sentence.
    rights: Vec<(String, String, String)>,
    f: Entered,
}

pub async fn requests_page(State(state): State<AppState>, visit: Visit) -> Response {
    render_requests(&state, visit, None, Default::default()).await
}

async fn render_requests(
    state: &AppState,
    visit: Visit,
    message: Option<String>,
    (f, problems): (Entered, Vec<Flagged>),
) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    let requests = match state.app.requests_of(subject).await {
        Ok(r) => r,
        Err(e) => return failed(state, visit, e),
    };
    let has_copy = match state.app.has_copy(subject).await {
        Ok(has) => has,
        Err(e) => return failed(state, visit, e),
    };
    let t = visit.t;
    let rows = requests
        .iter()
        .map(|r| RequestRow {
            right: right_name(&t, r.right),
            received: t.day_of(r.received_at),
            state: t.get(&format!("state-{}", r.state.as_str())),
            due: t.date(r.due_on),
        })
        .collect();
    let rights = RightKind::ALL
        .iter()
        .map(|r| {
            (
                r.as_str().to_string(),
                right_name(&t, *r),
                t.get(&format!("right-{}-explain", r.as_str())),
            )
        })
        .collect();
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let mut c = visit.chrome(state);
    c.message = message;
    c.problems = problems;
    visit.page(
        status,
        RequestsPage {
            c,
            has_copy,
            rows,
            rights,
            f,
        },
    )
}

#[derive(Deserialize)]
pub struct RequestForm {
    csrf: String,
    right: String,
    #[serde(default)]
    description: String,
}

/// File a rights request from the cabinet: the session is the identity check.
pub async fn file_request(
    State(state): State<AppState>,
    visit: Visit,
    Form(form): Form<RequestForm>,
) -> Response {
    let visit = match visit.admit(&state, &form.csrf, None) {
        Ok(visit) => visit,
        Err(answer) => return answer,
    };
    let (Some(actor), Some((token, _))) = (visit.actor(), visit.session.clone()) else {
        return visit.redirect("/sign-in");
    };
    let typed = Entered::typed(&[
        ("right".to_string(), form.right.clone()),
        ("description".to_string(), form.description.clone()),
    ]);
    let Some(right) = RightKind::parse(&form.right) else {
        let mut refused = vintrova_core::values::InvalidInput::default();
        refused
            .problems
            .push(Refused::new("not_a_choice", "not a right", "one of the rights").at("right"));
        let refused = typed.refused(&visit.t, state.app.policy(), &refused);
        return render_requests(&state, visit, None, refused).await;
    };
    if let Err(throttled) = state
        .limits
        .account(Door::RequestIntake, &token, state.app.now())
    {
        return visit.throttled(throttled);
    }
    match state
        .app
        .request_in_cabinet(
            &actor,
            &token,
            right,
            &form.description,
            AnswerChannel::Cabinet,
        )
        .await
    {
        Ok(request) => {
            let filed = visit
                .t
                .with("requests-filed", &[("date", visit.t.date(request.due_on))]);
            render_requests(&state, visit, Some(filed), Default::default()).await
        }
        Err(CoreError::Invalid(invalid)) => {
            let refused = typed.refused(&visit.t, state.app.policy(), &invalid);
            render_requests(&state, visit, None, refused).await
        }
        Err(e) => failed(&state, visit, e),
    }
}

#[derive(Deserialize)]
pub struct CopyFormat {
    format: Option<String>,
}

/// The copy an access request made, from the cabinet: a readable page in the visitor's
/// language, or JSON.
pub async fn my_copy(
    State(state): State<AppState>,
    visit: Visit,
    Query(format): Query<CopyFormat>,
) -> Response {
    let Some(subject) = visit.subject() else {
        return visit.redirect("/sign-in");
    };
    match state.app.latest_copy(subject).await {
        Ok(Some(copy)) if format.format.as_deref() == Some("json") => {
            visit.respond(axum::Json(copy).into_response())
        }
        Ok(Some(copy)) => {
            let page = crate::downloads::render(state.app.policy(), &copy, visit.t.code());
            visit.respond(Html(page).into_response())
        }
        Ok(None) => {
            let c = visit.chrome(&state);
            let t = visit.t;
            visit.page(
                StatusCode::NOT_FOUND,
                MessagePage {
                    c,
                    title: t.get("copy-title"),
                    text: t.get("copy-none"),
                },
            )
        }
        Err(e) => failed(&state, visit, e),
    }
}
