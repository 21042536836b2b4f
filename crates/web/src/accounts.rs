//! Accounts and sessions for the education platform's back end, which calls these with the API
//! token on behalf of a person. The person's session token travels in the `Vintrova-Session`
//! header, never in a URL.

use axum::Json;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;
use vintrova_core::CoreError;
use vintrova_core::accounts::{self, AuthError, ResetIssued, Session};
use vintrova_core::requests::AddressToProve;
use vintrova_core::values::InvalidInput;

use crate::access::Caller;
use crate::api::{body, subject_id};
use crate::problem::Problem;
use crate::security::Door;

pub const SESSION_HEADER: &str = "vintrova-session";

/// Registration: the person's data (with `contact.email`), a password, and exactly the consents
/// they ticked; no consent is ever assumed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    #[schema(value_type = Object)]
    pub data: Value,
    pub password: String,
    #[serde(default)]
    pub consents: Vec<String>,
    /// The language to write to the person in (`ru`, `kk`, `en`); Russian when omitted.
    #[serde(default)]
    pub locale: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registered {
    pub id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentSession {
    pub subject: Uuid,
}

pub(crate) fn session_token(headers: &HeaderMap) -> Result<&str, CoreError> {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(CoreError::Auth(AuthError::NoSession))
}

#[utoipa::path(post, path = "/api/v1/accounts", request_body = Registration,
    responses(
        (status = 201, description = "The account is open", body = Registered),
        (status = 202, description = "The address belongs to someone known only by a letter: a code went to it, and the account opens on that person when it comes back to /api/v1/accounts/confirmation", body = AddressToProve),
        (status = 422, body = Problem)),
    security(("token" = [])))]
pub async fn register(s: Caller, bytes: Bytes) -> Result<Response, Problem> {
    let input: Registration = body(
        &bytes,
        r#"{"data": {"contact": {"email": "…"}}, "password": "…", "consents": []}"#,
    )?;
    if let Some(email) = input.data["contact"]["email"].as_str() {
        s.limits.account(Door::Registration, email, s.app.now())?;
    }
    let values = s.app.parse_json(&input.data)?;
    if let Some(locale) = &input.locale {
        s.app.known_locale(locale).map_err(CoreError::Invalid)?;
    }
    Ok(
        match s
            .app
            .register(&s.actor, values, &input.password, input.consents)
            .await?
        {
            accounts::Registered::Open(id) => {
                if let Some(locale) = &input.locale {
                    s.app.set_language(id, locale).await?;
                }
                (StatusCode::CREATED, Json(Registered { id })).into_response()
            }
            accounts::Registered::AddressToProve(held) => {
                (StatusCode::ACCEPTED, Json(held)).into_response()
            }
        },
    )
}

/// The code sent to an address, back with the registration it confirms.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    pub id: Uuid,
    pub code: String,
}

#[utoipa::path(post, path = "/api/v1/accounts/confirmation", request_body = Confirmation,
    responses(
        (status = 201, description = "The account is open on the person who held the address", body = Registered),
        (status = 422, body = Problem)),
    security(("token" = [])))]
pub async fn confirm(s: Caller, bytes: Bytes) -> Result<(StatusCode, Json<Registered>), Problem> {
    let input: Confirmation = body(&bytes, r#"{"id": "…", "code": "123456"}"#)?;
    let id = s
        .app
        .confirm_registration(&s.actor, input.id, &input.code)
        .await?;
    Ok((StatusCode::CREATED, Json(Registered { id })))
}

#[utoipa::path(post, path = "/api/v1/sessions", request_body = Credentials,
    responses((status = 201, body = Session), (status = 401, body = Problem)), security(("token" = [])))]
pub async fn sign_in(s: Caller, bytes: Bytes) -> Result<(StatusCode, Json<Session>), Problem> {
    let input: Credentials = body(&bytes, r#"{"email": "…", "password": "…"}"#)?;
    s.limits.account(Door::SignIn, &input.email, s.app.now())?;
    let session = s.app.sign_in(&input.email, &input.password).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

#[utoipa::path(get, path = "/api/v1/sessions/current", params(("vintrova-session" = String, Header)),
    responses((status = 200, body = CurrentSession), (status = 401, body = Problem)), security(("token" = [])))]
pub async fn current(s: Caller, headers: HeaderMap) -> Result<Json<CurrentSession>, Problem> {
    let subject = s.app.session(session_token(&headers)?).await?;
    Ok(Json(CurrentSession { subject }))
}

#[utoipa::path(delete, path = "/api/v1/sessions/current", params(("vintrova-session" = String, Header)),
    responses((status = 204)), security(("token" = [])))]
pub async fn sign_out(s: Caller, headers: HeaderMap) -> Result<StatusCode, Problem> {
    s.app.sign_out(session_token(&headers)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/accounts/password", request_body = PasswordChange, params(("vintrova-session" = String, Header)),
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn change_password(
    s: Caller,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<StatusCode, Problem> {
    let input: PasswordChange = body(&bytes, r#"{"current_password": "…", "new_password": "…"}"#)?;
    let token = session_token(&headers)?;
    s.app
        .change_password(
            &s.actor,
            token,
            &input.current_password,
            &input.new_password,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/accounts/{id}/close",
    responses((status = 204), (status = 404, body = Problem)), security(("token" = [])))]
pub async fn close(s: Caller, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let id: Uuid = subject_id(&id).map_err(|e: InvalidInput| Problem::from(e))?;
    s.app.close_account(&s.actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirm {
    pub token: String,
    pub new_password: String,
}

/// The platform sends the token to the address; the answer is the same for every address.
#[utoipa::path(post, path = "/api/v1/accounts/password-reset", request_body = ResetRequest,
    responses((status = 202, body = ResetIssued)), security(("token" = [])))]
pub async fn request_reset(
    s: Caller,
    bytes: Bytes,
) -> Result<(StatusCode, Json<ResetIssued>), Problem> {
    let input: ResetRequest = body(&bytes, r#"{"email": "…"}"#)?;
    s.limits
        .account(Door::PasswordReset, &input.email, s.app.now())?;
    Ok((
        StatusCode::ACCEPTED,
        Json(s.app.request_password_reset(&s.actor, &input.email).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/accounts/password-reset/confirm", request_body = ResetConfirm,
    responses((status = 204), (status = 401, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn confirm_reset(s: Caller, bytes: Bytes) -> Result<StatusCode, Problem> {
    let input: ResetConfirm = body(&bytes, r#"{"token": "…", "new_password": "…"}"#)?;
    s.app
        .reset_password(&s.actor, &input.token, &input.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
