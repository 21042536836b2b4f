//! Orders, refunds, and the payment provider's signed callback. The callback is the one route
//! outside the API token: the provider proves itself by its signature instead.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::ToSchema;
use vintrova_core::payments::{Order, OrderCreated};

use crate::AppState;
use crate::access::Caller;
use crate::api::{body, subject_id};
use crate::problem::Problem;

pub const SIGNATURE_HEADER: &str = "vintrova-signature";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    /// In minor units (tiyn).
    pub amount: i64,
    pub currency: String,
    /// `card`, `bank_transfer`, `kaspi` or `invoice`.
    pub method: String,
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/orders", request_body = NewOrder,
    responses((status = 201, body = OrderCreated), (status = 403, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn create(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<OrderCreated>), Problem> {
    let id = subject_id(&id)?;
    let input: NewOrder = body(
        &bytes,
        r#"{"amount": 4500000, "currency": "KZT", "method": "card"}"#,
    )?;
    let created = s
        .app
        .create_order(
            &s.actor,
            s.provider.as_ref(),
            id,
            input.amount,
            &input.currency,
            &input.method,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/orders",
    responses((status = 200, body = Vec<Order>)), security(("token" = [])))]
pub async fn list(s: Caller, Path(id): Path<String>) -> Result<Json<Vec<Order>>, Problem> {
    let id = subject_id(&id)?;
    Ok(Json(s.app.records::<Order>(id).await?))
}

#[utoipa::path(post, path = "/api/v1/orders/{id}/refund",
    responses((status = 200, body = Order), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn refund(s: Caller, Path(id): Path<String>) -> Result<Json<Order>, Problem> {
    let id = subject_id(&id)?;
    Ok(Json(
        s.app
            .refund_order(&s.actor, s.provider.as_ref(), id)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/payments/callback", params(("vintrova-signature" = String, Header)),
    request_body(content = String, description = "The provider's callback, signed over its exact bytes", content_type = "application/json"),
    responses((status = 200, body = Order), (status = 400, body = Problem)))]
pub async fn callback(
    State(s): State<AppState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<Order>, Problem> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(Json(
        s.app
            .payment_callback(s.provider.as_ref(), &bytes, signature)
            .await?,
    ))
}
