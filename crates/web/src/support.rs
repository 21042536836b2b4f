//! Support tickets and their messages, and notices about courses and features.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use vintrova_core::notifications::{NoticeKind, NoticeReport};
use vintrova_core::support::{Author, Ticket};

use crate::access::Caller;
use crate::api::{body, subject_id};
use crate::problem::Problem;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub title: String,
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub author: Author,
    pub message: String,
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/tickets", request_body = NewTicket,
    responses((status = 201, body = Ticket), (status = 403, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn open(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Ticket>), Problem> {
    let id = subject_id(&id)?;
    let input: NewTicket = body(&bytes, r#"{"title": "…", "message": "…"}"#)?;
    Ok((
        StatusCode::CREATED,
        Json(
            s.app
                .open_ticket(&s.actor, id, &input.title, &input.message)
                .await?,
        ),
    ))
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/tickets", responses((status = 200, body = Vec<Ticket>)), security(("token" = [])))]
pub async fn list(s: Caller, Path(id): Path<String>) -> Result<Json<Vec<Ticket>>, Problem> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.records::<Ticket>(id).await?))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/messages", request_body = Reply,
    responses((status = 200, body = Ticket), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn reply(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Ticket>, Problem> {
    let id = subject_id(&id)?;
    let input: Reply = body(&bytes, r#"{"author": "staff", "message": "…"}"#)?;
    Ok(Json(
        s.app
            .reply(&s.actor, id, input.author, &input.message)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/tickets/{id}/close", responses((status = 200, body = Ticket), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn close(s: Caller, Path(id): Path<String>) -> Result<Json<Ticket>, Problem> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.close_ticket(&s.actor, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNotices {
    pub kind: NoticeKind,
    /// The people to notify; everyone when omitted. Only those the gate allows receive it.
    #[serde(default)]
    pub subjects: Option<Vec<uuid::Uuid>>,
}

#[utoipa::path(post, path = "/api/v1/notices", request_body = NewNotices,
    responses((status = 200, body = NoticeReport), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn notify(s: Caller, bytes: Bytes) -> Result<Json<NoticeReport>, Problem> {
    let input: NewNotices = body(&bytes, r#"{"kind": "course_update", "subjects": ["…"]}"#)?;
    let report = match input.subjects {
        Some(subjects) => s.app.notify(&s.actor, input.kind, &subjects).await?,
        None => s.app.notify_all(&s.actor, input.kind).await?,
    };
    Ok(Json(report))
}
