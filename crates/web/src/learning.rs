//! The catalog, enrollments with progress, rosters and recommendations.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use vintrova_core::learning::{Enrollment, Offering, Recommendations};

use crate::access::Caller;
use crate::api::{body, subject_id};
use crate::problem::Problem;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEnrollment {
    pub offering: String,
    /// A source of the policy; `course_enrollment` when omitted.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// 0–100; 100 completes the enrollment.
    pub percent: i64,
}

#[utoipa::path(get, path = "/api/v1/catalog", responses((status = 200, body = Vec<Offering>)), security(("token" = [])))]
pub async fn catalog(s: Caller) -> Result<Json<Vec<Offering>>, Problem> {
    Ok(Json(s.app.catalog().await?))
}

#[utoipa::path(post, path = "/api/v1/catalog", request_body = Offering,
    responses((status = 204), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn add_offering(s: Caller, bytes: Bytes) -> Result<StatusCode, Problem> {
    let offering: Offering = body(
        &bytes,
        r#"{"id": "neural-networks-101", "kind": "course", "level": "beginner", "title_ru": "…", "title_kk": "…", "title_en": "…"}"#,
    )?;
    s.app.add_offering(&offering).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/catalog/{offering}/roster", responses((status = 200, body = Vec<Enrollment>)), security(("token" = [])))]
pub async fn roster(
    s: Caller,
    Path(offering): Path<String>,
) -> Result<Json<Vec<Enrollment>>, Problem> {
    Ok(Json(s.app.roster(&offering).await?))
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/enrollments", request_body = NewEnrollment,
    responses((status = 201, body = Enrollment), (status = 403, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn enroll(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Enrollment>), Problem> {
    let id = subject_id(&id)?;
    let input: NewEnrollment = body(
        &bytes,
        r#"{"offering": "neural-networks-101", "source": "course_enrollment"}"#,
    )?;
    let source = input.source.unwrap_or_else(|| "course_enrollment".into());
    Ok((
        StatusCode::CREATED,
        Json(s.app.enroll(&s.actor, id, &input.offering, &source).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/enrollments", responses((status = 200, body = Vec<Enrollment>)), security(("token" = [])))]
pub async fn enrollments(
    s: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Enrollment>>, Problem> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.records::<Enrollment>(id).await?))
}

#[utoipa::path(post, path = "/api/v1/enrollments/{id}/progress", request_body = Progress,
    responses((status = 200, body = Enrollment), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn progress(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<Enrollment>, Problem> {
    let id = subject_id(&id)?;
    let input: Progress = body(&bytes, r#"{"percent": 40}"#)?;
    Ok(Json(
        s.app.record_progress(&s.actor, id, input.percent).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/enrollments/{id}/cancel",
    responses((status = 200, body = Enrollment), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn cancel(s: Caller, Path(id): Path<String>) -> Result<Json<Enrollment>, Problem> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.cancel_enrollment(&s.actor, id).await?))
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/recommendations",
    responses((status = 200, body = Recommendations), (status = 403, body = Problem)), security(("token" = [])))]
pub async fn recommendations(
    s: Caller,
    Path(id): Path<String>,
) -> Result<Json<Recommendations>, Problem> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.recommendations(&s.actor, id).await?))
}
