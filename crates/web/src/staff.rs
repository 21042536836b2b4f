//! Staff over the API: signing in (password and second factor; the session travels in a
//! `__Host-` cookie, changes carry the CSRF token the sign-in returned), staff accounts and their
//! paperwork, the incident register and the audits and assessments.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vintrova_core::analytics::{AnalyticsRelease, CompletionRate, MIN_K, completion_rates};
use vintrova_core::assessments::{Assessment, AssessmentRecord};
use vintrova_core::disclosures::{Agreement, Disclosure, DisclosureRequest, RegisteredRecipient};
use vintrova_core::incidents::{Incident, IncidentNotices, IncidentReport, IncidentStep};
use vintrova_core::staff::{Enrollment, Paper, Role, StaffMember, StaffSession};
use vintrova_core::transfers::{Transfer, TransferPlanned};
use vintrova_core::values::InvalidInput;

use crate::AppState;
use crate::access::{Caller, STAFF_COOKIE, cookie};
use crate::api::body;
use crate::problem::{ApiResult, Problem};
use crate::security::Door;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffCredentials {
    pub login: String,
    pub password: String,
    /// The 6-digit code of the authenticator app.
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StaffSignedIn {
    /// Send it in `X-CSRF-Token` with every changing call of this session.
    pub csrf: String,
    pub staff: StaffMember,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    pub login: String,
    pub role: Role,
}

/// A new account's one-time link; shown once, valid 72 hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentLink {
    #[serde(flatten)]
    pub enrollment: Enrollment,
    /// Path of the enrollment page on this server.
    pub link: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activation {
    pub active: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowUpDone {
    #[schema(value_type = String, format = Date)]
    pub on: Date,
}

/// The cookie that carries a staff session: this origin only, HTTPS only, never to scripts,
/// never on a cross-site request; it ends with the browser or the session, whichever is first.
pub fn session_cookie(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{STAFF_COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .expect("a hex token is a header value")
}

pub fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{STAFF_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .expect("static")
}

pub(crate) fn enrollment_link(enrollment: Enrollment) -> EnrollmentLink {
    EnrollmentLink {
        link: format!("/staff/enroll?token={}", enrollment.token),
        enrollment,
    }
}

/// Sign in as staff, counted against the account as well as the client.
pub(crate) async fn staff_sign_in(
    state: &AppState,
    login: &str,
    password: &str,
    code: &str,
) -> Result<StaffSession, Response> {
    if let Err(throttled) = state
        .limits
        .account(Door::StaffSignIn, login, state.app.now())
    {
        return Err(throttled.into_response());
    }
    state
        .app
        .staff_sign_in(login, password, code)
        .await
        .map_err(|e| Problem::from(e).into_response())
}

#[utoipa::path(post, path = "/api/v1/staff/sessions", request_body = StaffCredentials,
    responses((status = 200, body = StaffSignedIn), (status = 401, body = Problem), (status = 429, body = Problem)))]
pub async fn sign_in(State(state): State<AppState>, bytes: Bytes) -> Response {
    let input: StaffCredentials = match body(
        &bytes,
        r#"{"login": "…", "password": "…", "code": "123456"}"#,
    ) {
        Ok(input) => input,
        Err(problem) => return Problem::from(problem).into_response(),
    };
    match staff_sign_in(&state, &input.login, &input.password, &input.code).await {
        Ok(session) => (
            [(header::SET_COOKIE, session_cookie(&session.token))],
            Json(StaffSignedIn {
                csrf: session.csrf,
                staff: session.member,
            }),
        )
            .into_response(),
        Err(response) => response,
    }
}

#[utoipa::path(get, path = "/api/v1/staff/sessions/current",
    responses((status = 200, body = StaffMember)))]
pub async fn current(caller: Caller) -> ApiResult<Json<StaffMember>> {
    caller.staff.map(Json).ok_or_else(|| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "not-staff",
            "Not a staff session",
            "Sign in as staff; the API token has no staff session.",
        )
    })
}

#[utoipa::path(delete, path = "/api/v1/staff/sessions/current", responses((status = 204)))]
pub async fn sign_out(caller: Caller, headers: HeaderMap) -> ApiResult<Response> {
    if let Some(token) = cookie(&headers, STAFF_COOKIE) {
        caller.app.staff_sign_out(token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cleared_cookie())],
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/staff", responses((status = 200, body = [StaffMember])))]
pub async fn list(caller: Caller) -> ApiResult<Json<Vec<StaffMember>>> {
    Ok(Json(caller.app.staff_members().await?))
}

#[utoipa::path(post, path = "/api/v1/staff", request_body = NewStaff,
    responses((status = 201, body = EnrollmentLink)))]
pub async fn add(caller: Caller, bytes: Bytes) -> ApiResult<(StatusCode, Json<EnrollmentLink>)> {
    let input: NewStaff = body(&bytes, r#"{"login": "a.nurlanova", "role": "support"}"#)?;
    let enrollment = caller
        .app
        .add_staff(&caller.actor, &input.login, input.role)
        .await?;
    Ok((StatusCode::CREATED, Json(enrollment_link(enrollment))))
}

pub(crate) fn id_of(raw: &str, field: &str) -> Result<Uuid, InvalidInput> {
    raw.parse()
        .map_err(|_| InvalidInput::one(field, "not a UUID", "an id as the register lists it"))
}

#[utoipa::path(post, path = "/api/v1/staff/{id}/paperwork", request_body = Paper,
    params(("id" = Uuid, Path)), responses((status = 200, body = StaffMember)))]
pub async fn paperwork(
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<StaffMember>> {
    let paper: Paper = body(
        &bytes,
        r#"{"kind": "training", "on": "2026-11-20", "reference": "HR-2026/41"}"#,
    )?;
    Ok(Json(
        caller
            .app
            .record_paperwork(&caller.actor, id_of(&id, "id")?, paper)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/staff/{id}/enrollment",
    params(("id" = Uuid, Path)), responses((status = 200, body = EnrollmentLink)))]
pub async fn reissue(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<EnrollmentLink>> {
    let enrollment = caller
        .app
        .reissue_enrollment(&caller.actor, id_of(&id, "id")?)
        .await?;
    Ok(Json(enrollment_link(enrollment)))
}

#[utoipa::path(post, path = "/api/v1/staff/{id}/active", request_body = Activation,
    params(("id" = Uuid, Path)), responses((status = 200, body = StaffMember)))]
pub async fn activate(
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<StaffMember>> {
    let input: Activation = body(&bytes, r#"{"active": false}"#)?;
    Ok(Json(
        caller
            .app
            .set_staff_active(&caller.actor, id_of(&id, "id")?, input.active)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/incidents", responses((status = 200, body = [Incident])))]
pub async fn incidents(caller: Caller) -> ApiResult<Json<Vec<Incident>>> {
    Ok(Json(caller.app.incidents().await?))
}

#[utoipa::path(post, path = "/api/v1/incidents", request_body = IncidentReport,
    responses((status = 201, body = Incident)))]
pub async fn report(caller: Caller, bytes: Bytes) -> ApiResult<(StatusCode, Json<Incident>)> {
    let input: IncidentReport = body(
        &bytes,
        r#"{"detected_at": "2026-11-24T09:30:00Z", "description": "…", "categories": ["contact"], "subjects": ["…"], "measures": "…"}"#,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(caller.app.report_incident(&caller.actor, input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}",
    params(("id" = Uuid, Path)), responses((status = 200, body = Incident)))]
pub async fn incident(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<Incident>> {
    Ok(Json(caller.app.incident(id_of(&id, "id")?).await?))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/steps", request_body = IncidentStep,
    params(("id" = Uuid, Path)), responses((status = 200, body = Incident)))]
pub async fn step(
    caller: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<Incident>> {
    let step: IncidentStep = body(
        &bytes,
        r#"{"step": "authority_notified", "at": "2026-11-24T12:00:00Z", "reference": "…"}"#,
    )?;
    Ok(Json(
        caller
            .app
            .update_incident(&caller.actor, id_of(&id, "id")?, step)
            .await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/notify",
    params(("id" = Uuid, Path)), responses((status = 200, body = IncidentNotices)))]
pub async fn notify(caller: Caller, Path(id): Path<String>) -> ApiResult<Json<IncidentNotices>> {
    Ok(Json(
        caller
            .app
            .notify_incident_subjects(&caller.actor, id_of(&id, "id")?)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/assessments", responses((status = 200, body = [Assessment])))]
pub async fn assessments(caller: Caller) -> ApiResult<Json<Vec<Assessment>>> {
    Ok(Json(caller.app.assessments().await?))
}

#[utoipa::path(post, path = "/api/v1/assessments", request_body = AssessmentRecord,
    responses((status = 201, body = Assessment)))]
pub async fn record_assessment(
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<Assessment>)> {
    let input: AssessmentRecord = body(
        &bytes,
        r#"{"kind": "risk_assessment", "conducted_on": "2026-11-20", "scope": "…", "conducted_by": "internal", "findings": ["…"], "follow_ups": [{"action": "…", "due_on": "2027-01-31"}]}"#,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(caller.app.record_assessment(&caller.actor, input).await?),
    ))
}

#[utoipa::path(post, path = "/api/v1/assessments/{id}/follow-ups/{index}/done",
    request_body = FollowUpDone, params(("id" = Uuid, Path), ("index" = usize, Path)),
    responses((status = 200, body = Assessment)))]
pub async fn follow_up_done(
    caller: Caller,
    Path((id, index)): Path<(String, usize)>,
    bytes: Bytes,
) -> ApiResult<Json<Assessment>> {
    let input: FollowUpDone = body(&bytes, r#"{"on": "2026-11-24"}"#)?;
    Ok(Json(
        caller
            .app
            .complete_follow_up(&caller.actor, id_of(&id, "id")?, index, input.on)
            .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/recipients", responses((status = 200, body = [RegisteredRecipient])))]
pub async fn recipients(caller: Caller) -> ApiResult<Json<Vec<RegisteredRecipient>>> {
    Ok(Json(caller.app.recipients().await?))
}

#[utoipa::path(post, path = "/api/v1/recipients/agreements", request_body = Agreement,
    responses((status = 201, body = Agreement)))]
pub async fn record_agreement(
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<Agreement>)> {
    let input: Agreement = body(
        &bytes,
        r#"{"recipient": "payment_systems", "signed_on": "2026-01-15", "reference": "NDA-PS-2026-01"}"#,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(caller.app.record_agreement(&caller.actor, input).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/disclosures", responses((status = 200, body = [Disclosure])))]
pub async fn disclosures(caller: Caller) -> ApiResult<Json<Vec<Disclosure>>> {
    Ok(Json(caller.app.disclosures(None).await?))
}

#[utoipa::path(post, path = "/api/v1/disclosures", request_body = DisclosureRequest,
    responses((status = 201, body = Disclosure), (status = 403, body = Problem)))]
pub async fn disclose(caller: Caller, bytes: Bytes) -> ApiResult<(StatusCode, Json<Disclosure>)> {
    let input: DisclosureRequest = body(
        &bytes,
        r#"{"recipient": "payment_systems", "country": "KZ", "subjects": ["…"], "categories": ["payment"], "purpose": "payments", "legal_ground": "…", "legal_reference": null}"#,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(caller.app.disclose(&caller.actor, input).await?),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct KQuery {
    /// The smallest group size, 5 or more (5 when omitted).
    pub k: Option<usize>,
}

/// Completion by course and level, from the anonymized release.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsReport {
    pub release: AnalyticsRelease,
    pub completion: Vec<CompletionRate>,
}

#[utoipa::path(get, path = "/api/v1/analytics/report", params(KQuery),
    responses((status = 200, body = AnalyticsReport), (status = 422, body = Problem)))]
pub async fn analytics_report(
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<KQuery>,
) -> ApiResult<Json<AnalyticsReport>> {
    let release = caller.app.analytics(q.k.unwrap_or(MIN_K)).await?;
    Ok(Json(AnalyticsReport {
        completion: completion_rates(&release),
        release,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsExport {
    pub recipient: String,
    pub country: String,
    #[serde(default)]
    pub k: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsExported {
    pub release: AnalyticsRelease,
    pub disclosure: Disclosure,
}

#[utoipa::path(post, path = "/api/v1/analytics/exports", request_body = AnalyticsExport,
    responses((status = 201, body = AnalyticsExported), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn export_analytics(
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<AnalyticsExported>)> {
    let input: AnalyticsExport = body(
        &bytes,
        r#"{"recipient": "analytics_services", "country": "KZ", "k": 5}"#,
    )?;
    let (release, disclosure) = caller
        .app
        .export_analytics(
            &caller.actor,
            &input.recipient,
            &input.country,
            input.k.unwrap_or(MIN_K),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(AnalyticsExported {
            release,
            disclosure,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/transfers", responses((status = 200, body = [Transfer])))]
pub async fn transfers(caller: Caller) -> ApiResult<Json<Vec<Transfer>>> {
    Ok(Json(caller.app.transfers().await?))
}

#[utoipa::path(post, path = "/api/v1/transfers", request_body = Transfer,
    responses((status = 201, body = TransferPlanned), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn plan_transfer(
    caller: Caller,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<TransferPlanned>)> {
    let input: Transfer = body(
        &bytes,
        r#"{"recipient": "cloud_providers", "country": "DE", "categories": ["contact"], "starts_on": "2027-01-15", "contract": "…", "safeguards": "…"}"#,
    )?;
    Ok((
        StatusCode::CREATED,
        Json(caller.app.plan_transfer(&caller.actor, input).await?),
    ))
}
