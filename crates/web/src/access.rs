//! Who may call what: every protected endpoint names its permission in [`ENDPOINTS`], and
//! [`guard`] is the one door they all pass — it learns who is calling (the platform's API token
//! or a staff session cookie), checks the CSRF token of a staff member's changing call, and asks
//! the core's access matrix, with the purpose staff state in `Vintrova-Purpose`. An endpoint
//! missing from the table is refused, so forgetting to declare one fails closed.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use vintrova_core::payments::PaymentProvider;
use vintrova_core::staff::{Permission, StaffMember, csrf_token};
use vintrova_core::{Actor, Vintrova};

use crate::AppState;
use crate::problem::Problem;

/// The staff session cookie. `__Host-` binds it to this origin, over HTTPS, for every path.
pub const STAFF_COOKIE: &str = "__Host-vintrova-staff";
/// The header a staff member's changing call carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The header staff name their purpose in when they open personal data.
pub const PURPOSE_HEADER: &str = "vintrova-purpose";

/// Every protected endpoint of `/api/v1` and the permission it needs.
pub const ENDPOINTS: &[(&str, &str, Permission)] = {
    use Permission::*;
    &[
        ("POST", "/api/v1/subjects", RegisterPeople),
        ("POST", "/api/v1/subjects/lookup", ReadSubject),
        ("PATCH", "/api/v1/subjects/{id}", RectifySubject),
        ("DELETE", "/api/v1/subjects/{id}", EraseSubject),
        ("GET", "/api/v1/subjects/{id}/export", ReadSubject),
        (
            "GET",
            "/api/v1/subjects/{id}/purposes/{purpose}",
            ReadSubject,
        ),
        ("POST", "/api/v1/subjects/{id}/bases", RegisterPeople),
        ("POST", "/api/v1/subjects/{id}/consents", RegisterPeople),
        ("POST", "/api/v1/subjects/{id}/events", RegisterPeople),
        ("POST", "/api/v1/accounts", RegisterPeople),
        ("POST", "/api/v1/accounts/confirmation", RegisterPeople),
        ("POST", "/api/v1/subjects/{id}/orders", Orders),
        ("GET", "/api/v1/subjects/{id}/orders", Orders),
        ("POST", "/api/v1/orders/{id}/refund", Refunds),
        ("GET", "/api/v1/catalog", ViewCatalog),
        ("POST", "/api/v1/catalog", Learning),
        ("GET", "/api/v1/catalog/{offering}/roster", Learning),
        ("POST", "/api/v1/subjects/{id}/enrollments", Learning),
        ("GET", "/api/v1/subjects/{id}/enrollments", Learning),
        ("POST", "/api/v1/enrollments/{id}/progress", Learning),
        ("POST", "/api/v1/enrollments/{id}/cancel", Learning),
        ("GET", "/api/v1/subjects/{id}/recommendations", Learning),
        ("POST", "/api/v1/subjects/{id}/tickets", SupportTickets),
        ("GET", "/api/v1/subjects/{id}/tickets", SupportTickets),
        ("POST", "/api/v1/tickets/{id}/messages", SupportTickets),
        ("POST", "/api/v1/tickets/{id}/close", SupportTickets),
        ("POST", "/api/v1/notices", SendNotices),
        ("POST", "/api/v1/requests", FileRequests),
        ("GET", "/api/v1/requests", HandleRequests),
        ("GET", "/api/v1/requests/letters", HandleRequests),
        ("POST", "/api/v1/requests/cabinet", FileRequests),
        ("POST", "/api/v1/requests/{id}/verify", HandleRequests),
        ("POST", "/api/v1/requests/{id}/fulfil", HandleRequests),
        ("POST", "/api/v1/requests/{id}/reject", HandleRequests),
        ("POST", "/api/v1/accounts/password", ServeAccounts),
        ("POST", "/api/v1/accounts/password-reset", ServeAccounts),
        (
            "POST",
            "/api/v1/accounts/password-reset/confirm",
            ServeAccounts,
        ),
        ("POST", "/api/v1/accounts/{id}/close", ServeAccounts),
        ("POST", "/api/v1/sessions", ServeAccounts),
        ("GET", "/api/v1/sessions/current", ServeAccounts),
        ("DELETE", "/api/v1/sessions/current", ServeAccounts),
        ("GET", "/api/v1/audit/verify", VerifyAudit),
        ("GET", "/api/v1/staff", ViewStaff),
        ("POST", "/api/v1/staff", ManageStaff),
        ("POST", "/api/v1/staff/{id}/paperwork", RecordPaperwork),
        ("POST", "/api/v1/staff/{id}/enrollment", ManageStaff),
        ("POST", "/api/v1/staff/{id}/active", ManageStaff),
        ("GET", "/api/v1/staff/sessions/current", Console),
        ("DELETE", "/api/v1/staff/sessions/current", Console),
        ("GET", "/api/v1/incidents", ViewIncidents),
        ("POST", "/api/v1/incidents", ManageIncidents),
        ("GET", "/api/v1/incidents/{id}", ViewIncidents),
        ("POST", "/api/v1/incidents/{id}/steps", ManageIncidents),
        (
            "POST",
            "/api/v1/incidents/{id}/notify",
            NotifyIncidentSubjects,
        ),
        ("GET", "/api/v1/assessments", ViewAssessments),
        ("POST", "/api/v1/assessments", RecordAssessments),
        (
            "POST",
            "/api/v1/assessments/{id}/follow-ups/{index}/done",
            RecordAssessments,
        ),
        ("GET", "/api/v1/recipients", ViewDisclosures),
        ("POST", "/api/v1/recipients/agreements", RecordAgreements),
        ("GET", "/api/v1/webhooks", ViewWebhooks),
        ("POST", "/api/v1/webhooks", ManageWebhooks),
        ("DELETE", "/api/v1/webhooks/{id}", ManageWebhooks),
        ("POST", "/api/v1/webhooks/{id}/rotation", ManageWebhooks),
        ("POST", "/api/v1/webhooks/{id}/enable", ManageWebhooks),
        ("GET", "/api/v1/webhooks/{id}/deliveries", ViewWebhooks),
        ("GET", "/api/v1/disclosures", ViewDisclosures),
        ("POST", "/api/v1/disclosures", Disclose),
        ("GET", "/api/v1/analytics/report", ViewAnalytics),
        ("POST", "/api/v1/analytics/exports", Disclose),
        ("GET", "/api/v1/transfers", ViewDisclosures),
        ("POST", "/api/v1/transfers", Disclose),
    ]
};

pub fn permission_of(method: &Method, template: &str) -> Option<Permission> {
    ENDPOINTS
        .iter()
        .find(|(m, t, _)| *m == method.as_str() && *t == template)
        .map(|(_, _, p)| *p)
}

/// What a handler behind the guard works with: the core, the actor the guard let in (with the
/// purpose a staff member stated), and the payment provider.
pub struct Caller {
    pub app: Arc<Vintrova>,
    pub actor: Actor,
    pub provider: Arc<dyn PaymentProvider>,
    /// The staff member calling, if it is one.
    pub staff: Option<StaffMember>,
    pub limits: Arc<crate::security::Limits>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        let admitted = parts.extensions.get::<Admitted>().cloned().ok_or_else(|| {
            Problem::new(
                StatusCode::FORBIDDEN,
                "access-denied",
                "This endpoint declares no permission",
                "Every endpoint must be listed in the access table; this is a bug to report.",
            )
        })?;
        Ok(Caller {
            app: state.app.clone(),
            actor: admitted.actor,
            provider: state.provider.clone(),
            staff: admitted.staff,
            limits: state.limits.clone(),
        })
    }
}

/// The guard's verdict, handed to the handler.
#[derive(Clone)]
struct Admitted {
    actor: Actor,
    staff: Option<StaffMember>,
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

pub(crate) fn bearer_matches(headers: &HeaderMap, digest: &[u8; 32]) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| <[u8; 32]>::from(Sha256::digest(t.trim().as_bytes())))
        .is_some_and(|presented| presented == *digest)
}

/// Compare two CSRF tokens without telling, by timing, how much of one was right.
pub fn same_token(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

fn unauthorized() -> Response {
    let mut response = Problem::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "A valid API token or staff session is required",
        "Send `Authorization: Bearer <token>` (the token is in the data directory's `api-token` file), or sign in as staff.",
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// The methods the access table declares for a path template.
pub fn allowed_methods(template: &str) -> Vec<&'static str> {
    ENDPOINTS
        .iter()
        .filter(|(_, t, _)| *t == template)
        .map(|(m, _, _)| *m)
        .collect()
}

/// 405 with `Allow`, as problem details.
pub fn method_not_allowed(allowed: &[&str]) -> Response {
    let allow = allowed.join(", ");
    let mut response = Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "This path does not answer to this method",
        format!("Use one of: {allow}."),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The one door of the protected API.
pub async fn guard(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    // HEAD is a GET without the body: it needs what the GET needs.
    let method = match *request.method() {
        Method::HEAD => Method::GET,
        ref m => m.clone(),
    };
    let Some(permission) = permission_of(&method, &template) else {
        let allowed = allowed_methods(&template);
        if !allowed.is_empty() {
            // A method this path does not serve: say which it does, before anyone's
            // credentials are looked at (a 403 would suggest the method exists).
            return method_not_allowed(&allowed);
        }
        return Problem::new(
            StatusCode::FORBIDDEN,
            "access-denied",
            "This endpoint declares no permission",
            "Every endpoint must be listed in the access table; this is a bug to report.",
        )
        .into_response();
    };
    let headers = request.headers();
    let (member, session) = if bearer_matches(headers, &state.token_digest) {
        (None, None)
    } else if let Some(token) = cookie(headers, STAFF_COOKIE) {
        match state.app.staff_session(token).await {
            Ok(member) => (Some(member), Some(token.to_string())),
            Err(_) => return unauthorized(),
        }
    } else {
        return unauthorized();
    };
    if let Some(session) = &session {
        let changes = !matches!(*request.method(), Method::GET | Method::HEAD);
        let presented = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        if changes && !presented.is_some_and(|p| same_token(p, &csrf_token(session))) {
            return Problem::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "The CSRF token is missing or wrong",
                format!(
                    "Send the `csrf` value your sign-in returned in the `{CSRF_HEADER}` header."
                ),
            )
            .into_response();
        }
    }
    let purpose = headers.get(PURPOSE_HEADER).and_then(|v| v.to_str().ok());
    let actor = match state.app.permit(member.as_ref(), permission, purpose) {
        Ok(Some(actor)) => actor,
        Ok(None) => state.platform.clone(),
        Err(e) => {
            crate::metrics::denied(permission);
            return Problem::from(e).into_response();
        }
    };
    request.extensions_mut().insert(Admitted {
        actor,
        staff: member,
    });
    next.run(request).await
}

/// The written matrix (docs/ACCESS.md) as the code enforces it: permissions by principal, then
/// every endpoint with its permission. A test keeps the document equal to this.
pub fn matrix_markdown() -> String {
    use vintrova_core::staff::Principal;
    let mut out = String::from(
        "# Access matrix\n\nGenerated from the code (`vintrova_core::staff::Permission::granted_to`, \
`vintrova_web::access::ENDPOINTS`); a test fails when this file and the code differ. \
Regenerate with `vintrova staff matrix > docs/ACCESS.md`.\n\n\
**Personal data** marks permissions that open people's data: staff holding one also need a signed \
confidentiality agreement and privacy training within the last 12 months on record, and must \
name a purpose (`Vintrova-Purpose` header) that the audit log keeps. `platform` is the \
education platform's back end, calling with the API token.\n\n## Permissions by role\n\n| permission | personal data |",
    );
    for p in Principal::ALL {
        out.push_str(&format!(" {} |", p.as_str()));
    }
    out.push_str("\n| --- | --- |");
    out.push_str(&" --- |".repeat(Principal::ALL.len()));
    out.push('\n');
    for permission in Permission::ALL {
        out.push_str(&format!(
            "| {} | {} |",
            permission.as_str(),
            if permission.reaches_pd() { "yes" } else { "no" }
        ));
        for p in Principal::ALL {
            out.push_str(if permission.allows(*p) {
                " ✓ |"
            } else {
                " · |"
            });
        }
        out.push('\n');
    }
    out.push_str("\n## Endpoints\n\n| method | path | permission |\n| --- | --- | --- |\n");
    for (method, path, permission) in ENDPOINTS {
        out.push_str(&format!(
            "| {method} | `{path}` | {} |\n",
            permission.as_str()
        ));
    }
    out.push_str(
        "\nOpen without credentials: `GET /healthz`, `GET /metrics`, `GET /api/v1/policy`, \
`GET /api/v1/openapi.json`, `POST /api/v1/payments/callback` (signed by the provider), \
`GET /api/v1/downloads/{token}` (the token is the credential), `POST /api/v1/staff/sessions` \
and the console's sign-in and enrollment pages (rate-limited).\n",
    );
    out
}
