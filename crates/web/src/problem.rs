//! Every error the API returns, as RFC 9457 problem details — mapped in this one place, and
//! never carrying personal data: field names and rules, never values.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use vintrova_core::CoreError;
use vintrova_core::values::{FieldProblem, InvalidInput};

/// What an API handler answers: its value, or a problem document.
pub type ApiResult<T> = Result<T, Problem>;

#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// For invalid input: each field and what is wrong with it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldProblem>,
    /// For a refusal by the purpose gate: the rule that refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// For server errors: the id to quote to the operator, who finds it in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// For a rate limit: seconds until the next attempt may pass (`Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Problem {
            kind: format!("https://vintrova.com/problems/{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            problems: Vec::new(),
            rule: None,
            operation: None,
            retry_after: None,
        }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    pub fn invalid(e: InvalidInput) -> Self {
        Problem {
            problems: e.problems.clone(),
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-input",
                "The input was refused; nothing was stored",
                e.to_string(),
            )
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<InvalidInput> for Problem {
    fn from(e: InvalidInput) -> Self {
        Problem::invalid(e)
    }
}

impl From<CoreError> for Problem {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid(invalid) => Problem::invalid(invalid),
            CoreError::UnknownSubject(_) => Problem::new(
                StatusCode::NOT_FOUND,
                "unknown-subject",
                "Unknown subject",
                e.to_string(),
            ),
            CoreError::Refused(refusal) => Problem {
                rule: Some(refusal.rule().to_string()),
                ..Problem::new(
                    StatusCode::FORBIDDEN,
                    "purpose-refused",
                    "Refused by the purpose gate",
                    refusal.to_string(),
                )
            },
            CoreError::Provider(message) => Problem::new(
                StatusCode::BAD_REQUEST,
                "payment-provider",
                "The payment provider's message was refused",
                message,
            ),
            CoreError::Gone => Problem::new(
                StatusCode::GONE,
                "gone",
                "The link no longer works",
                e.to_string(),
            ),
            CoreError::Verification(v) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "verification-failed",
                "The code was not accepted",
                v.to_string(),
            ),
            CoreError::Auth(auth) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Not signed in",
                auth.to_string(),
            ),
            CoreError::Disclosure(refusal) => Problem {
                rule: Some(refusal.rule().to_string()),
                ..Problem::new(
                    StatusCode::FORBIDDEN,
                    "disclosure-refused",
                    "The disclosure was refused; nothing left",
                    refusal.to_string(),
                )
            },
            CoreError::Denied(denied) => Problem {
                rule: Some(denied.rule().to_string()),
                ..Problem::new(
                    StatusCode::FORBIDDEN,
                    "access-denied",
                    "Access denied",
                    denied.to_string(),
                )
            },
            CoreError::AuditBroken(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "audit-log-broken",
                "The audit log lost its tail; personal data is not served",
                e.to_string(),
            ),
            CoreError::Tampered(brk) => Problem::new(
                StatusCode::CONFLICT,
                "audit-tampered",
                "The audit log does not verify",
                brk.to_string(),
            ),
            other => {
                // The message may name internals; the log keeps it under an id, the client
                // gets the id.
                let operation = uuid::Uuid::now_v7().to_string();
                tracing::error!(%operation, error = %other, "request failed");
                Problem {
                    operation: Some(operation),
                    ..Problem::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "The server could not complete the request",
                        "Nothing was changed. Quote the operation id to the operator.",
                    )
                }
            }
        }
    }
}
