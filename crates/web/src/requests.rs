//! Rights requests: entered by staff from a letter, or made by the signed-in person; verified,
//! fulfilled or rejected, in a queue ordered by deadline.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use vintrova_core::requests::{
    Answer, AnswerChannel, Fulfilment, LetterReceived, LetterWaiting, Queued, Request,
};
use vintrova_core::rights::RightKind;

use crate::access::Caller;
use crate::accounts::session_token;
use crate::api::{body, subject_id};
use crate::problem::Problem;
use crate::security::Door;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LetterRequest {
    /// The address the letter came from; the code goes there.
    pub email: String,
    #[schema(value_type = String, example = "access")]
    pub right: RightKind,
    pub description: String,
    pub channel: AnswerChannel,
    /// When the letter arrived, if before now (RFC 3339): the 30 days count from it.
    #[serde(default)]
    #[schema(format = DateTime, example = "2026-11-27T09:30:00+05:00")]
    pub received_at: Option<String>,
    /// The language the letter was written in (`ru`, `kk`, `en`): the code, the answer and every
    /// later message to its writer go in it.
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CabinetRequest {
    #[schema(value_type = String, example = "erasure")]
    pub right: RightKind,
    pub description: String,
    pub channel: AnswerChannel,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Code {
    pub code: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rejection {
    /// What the person will read; sealed, never logged.
    pub reason: String,
}

/// What to do for the request: the right it asks for, and for rectification the corrected data,
/// for a consent withdrawal the purpose (all when omitted).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FulfilInput {
    #[schema(value_type = String, example = "rectification")]
    pub right: RightKind,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Option<Value>,
    #[serde(default)]
    pub purpose: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/requests", request_body = LetterRequest,
    responses((status = 202, body = LetterReceived), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn by_letter(
    s: Caller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<LetterReceived>), Problem> {
    let input: LetterRequest = body(
        &bytes,
        r#"{"email": "…", "right": "access", "description": "…", "channel": "email"}"#,
    )?;
    s.limits
        .account(Door::RequestIntake, &input.email, s.app.now())?;
    let received = input
        .received_at
        .as_deref()
        .map(vintrova_core::requests::arrival_time)
        .transpose()?;
    let request = s
        .app
        .letter_received(
            &s.actor,
            &input.email,
            input.right,
            &input.description,
            input.channel,
            (received, input.locale.as_deref()),
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(request)))
}

#[utoipa::path(post, path = "/api/v1/requests/cabinet", request_body = CabinetRequest, params(("vintrova-session" = String, Header)),
    responses((status = 201, body = Request), (status = 401, body = Problem)), security(("token" = [])))]
pub async fn in_cabinet(
    s: Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Request>), Problem> {
    let input: CabinetRequest = body(
        &bytes,
        r#"{"right": "access", "description": "…", "channel": "cabinet"}"#,
    )?;
    let session = session_token(&headers)?;
    s.limits
        .account(Door::RequestIntake, session, s.app.now())?;
    let request = s
        .app
        .request_in_cabinet(
            &s.actor,
            session,
            input.right,
            &input.description,
            input.channel,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(request)))
}

#[utoipa::path(get, path = "/api/v1/requests", responses((status = 200, body = Vec<Queued>)), security(("token" = [])))]
pub async fn queue(s: Caller) -> Result<Json<Vec<Queued>>, Problem> {
    Ok(Json(s.app.request_queue().await?))
}

/// Letters still held until their code comes back: what each asks and when it is due — never
/// the address or the description. `POST /api/v1/requests/{id}/verify` takes their code.
#[utoipa::path(get, path = "/api/v1/requests/letters", responses((status = 200, body = Vec<LetterWaiting>)), security(("token" = [])))]
pub async fn letters(s: Caller) -> Result<Json<Vec<LetterWaiting>>, Problem> {
    Ok(Json(s.app.letters_waiting().await?))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/verify", request_body = Code,
    responses((status = 200, body = Request), (status = 401, body = Problem)), security(("token" = [])))]
pub async fn verify(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Request>, Problem> {
    let id = subject_id(&id)?;
    let input: Code = body(&bytes, r#"{"code": "123456"}"#)?;
    Ok(Json(s.app.verify_request(&s.actor, id, &input.code).await?))
}

/// Whether the answer to an access request carries the copy as well as its link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AnswerQuery {
    /// `true`: an access answer carries the copy itself (grouped, as the link serves it)
    /// beside the link; without it, only the link — the copy is stored once, behind it.
    pub copy: Option<bool>,
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/fulfil", request_body = FulfilInput, params(AnswerQuery),
    responses((status = 200, description = "The answer: information, an access copy's download link (and the copy with `?copy=true`), an erasure receipt, …"), (status = 422, body = Problem)),
    security(("token" = [])))]
pub async fn fulfil(
    s: Caller,
    Path(id): Path<String>,
    Query(query): Query<AnswerQuery>,
    bytes: Bytes,
) -> Result<Json<Value>, Problem> {
    let id = subject_id(&id)?;
    let input: FulfilInput = body(
        &bytes,
        r#"{"right": "rectification", "data": {"contact": {…}}}"#,
    )?;
    let corrections = match &input.data {
        Some(data) => Some(s.app.parse_json(data)?),
        None => None,
    };
    let fulfilment = Fulfilment::of(input.right, corrections, input.purpose)?;
    let answer = s.app.fulfil(&s.actor, id, fulfilment).await?;
    let mut said = serde_json::to_value(&answer).unwrap_or_default();
    if let (Answer::Access { copy, .. }, Some(true)) = (&answer, query.copy) {
        said["copy"] = serde_json::to_value(copy).unwrap_or_default();
    }
    Ok(Json(said))
}

#[utoipa::path(post, path = "/api/v1/requests/{id}/reject", request_body = Rejection,
    responses((status = 200, body = Request), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn reject(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Request>, Problem> {
    let id = subject_id(&id)?;
    let input: Rejection = body(&bytes, r#"{"reason": "…"}"#)?;
    Ok(Json(
        s.app.reject_request(&s.actor, id, &input.reason).await?,
    ))
}
