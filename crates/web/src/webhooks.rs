//! The platform's webhook endpoints over the API, for administrators (auditors and the data
//! protection officer may look): subscribe, rotate the secret, enable after a failure, remove,
//! and each delivery's attempts.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use vintrova_core::endpoints::Endpoint;
use vintrova_core::store::DeliveryRow;

use crate::access::Caller;
use crate::api::body;
use crate::problem::ApiResult;
use crate::staff::id_of;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    /// `https://…` (or `http://` on a private network), without credentials.
    pub url: String,
    /// Event kinds it wants (`consent.withdrawn`, …); empty or absent for every kind.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// An endpoint with the secret it is signed for — shown in this answer only.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscribed {
    pub endpoint: Endpoint,
    /// `whsec_…`: keep it where the receiver checks signatures; it is not shown again.
    pub secret: String,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct Limit {
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/webhooks", responses((status = 200, body = [Endpoint])))]
pub async fn list(caller: Caller) -> ApiResult<Json<Vec<Endpoint>>> {
    Ok(Json(caller.app.webhooks().await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks", request_body = NewEndpoint,
    responses((status = 201, body = Subscribed)))]
pub async fn add(caller: Caller, bytes: Bytes) -> ApiResult<(StatusCode, Json<Subscribed>)> {
    let input: NewEndpoint = body(
        &bytes,
        r#"{"url": "https://platform.example/hooks/vintrova", "kinds": ["consent.withdrawn", "subject.erased"]}"#,
    )?;
    let (endpoint, secret) = caller
        .app
        .add_webhook(&caller.actor, &input.url, &input.kinds)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(Subscribed {
            endpoint,
            secret: secret.reveal(),
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Removed; nothing more is sent to it")))]
pub async fn remove(caller: Caller, Path(id): Path<String>) -> ApiResult<StatusCode> {
    caller
        .app
        .remove_webhook(&caller.actor, id_of(&id, "id")?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The new secret; the old one signs beside it for a day.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rotated {
    pub secret: String,
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/rotation", params(("id" = Uuid, Path)),
    responses((status = 200, body = Rotated)))]
pub async fn rotate(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Rotated>> {
    let secret = caller
        .app
        .rotate_webhook_secret(&caller.actor, id_of(&id, "id")?)
        .await?;
    Ok(Json(Rotated {
        secret: secret.reveal(),
    }))
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/enable", params(("id" = Uuid, Path)),
    responses((status = 200, body = Endpoint)))]
pub async fn enable(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Endpoint>> {
    Ok(Json(
        caller
            .app
            .enable_webhook(&caller.actor, id_of(&id, "id")?)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", params(("id" = Uuid, Path), Limit),
    responses((status = 200, body = [DeliveryRow])))]
pub async fn deliveries(
    caller: Caller,
    Path(id): Path<String>,
    Query(limit): Query<Limit>,
) -> ApiResult<Json<Vec<DeliveryRow>>> {
    let limit = limit.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        caller
            .app
            .webhook_deliveries(id_of(&id, "id")?, limit)
            .await?,
    ))
}
