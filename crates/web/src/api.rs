//! The JSON API v1. Personal data travels only in bodies, never in URLs: look-ups by email or
//! phone are POSTs.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;
use vintrova_core::consent::{Channel, ConsentAction, ConsentEvent};
use vintrova_core::gate::BasisEventKind;
use vintrova_core::values::{InvalidInput, json_bytes};
use vintrova_core::{AccessCopy, AuditReport, Collection, ErasureReceipt, PurposeView};

use crate::AppState;
use crate::access::Caller;
use crate::problem::{ApiResult, Problem};

/// A new subject: the data by category and field, how it arrived, and the bases it came with.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubject {
    /// `{"contact": {"first_name": …, "email": …}, "professional": {…}}`
    #[schema(value_type = Object)]
    pub data: Value,
    /// A source of the policy; `staff_entry` when omitted.
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub bases: Vec<BasisInput>,
    /// Consents the person gave on the form that brought this data: to purposes on consent,
    /// and to data (`contact_data` for contact details, `phone_number`, …).
    #[serde(default)]
    pub consents: Vec<String>,
    /// Where those consents were given; `form` when omitted.
    #[serde(default)]
    pub channel: Option<Channel>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasisInput {
    pub kind: BasisEventKind,
    #[serde(default)]
    pub purpose: Option<String>,
}

/// New or corrected values for an existing subject.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectUpdate {
    #[schema(value_type = Object)]
    pub data: Value,
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordBasis {
    pub kind: BasisEventKind,
    #[serde(default)]
    pub purpose: Option<String>,
    /// Where the event came from; `staff_entry` when omitted.
    #[serde(default)]
    pub channel: Option<String>,
}

/// A consent given or withdrawn.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: String,
    pub action: ConsentAction,
    pub channel: Channel,
    /// What the person submitted (form payload, banner click record); kept only as a keyed digest.
    #[serde(default)]
    pub evidence: Option<String>,
}

/// Observations of event-stored categories (technical, usage) collected for a purpose.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsInput {
    pub purpose: String,
    /// `{"technical": {"ip": …, "browser": …}}` or `{"usage": {"page": …}}`
    #[schema(value_type = Object)]
    pub data: Value,
    /// A source of the policy; `visit_technical` when omitted.
    #[serde(default)]
    pub source: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Recorded {
    pub events: Vec<Uuid>,
}

/// Find subjects by an indexed field. In the body, so the value never lands in a URL or log.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// `contact.email` or `contact.phone`
    pub field: String,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: Uuid,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Found {
    pub subjects: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database or the key store does not answer, or the audit
    /// log's tail is not the head made durable (then no personal data is served).
    pub status: &'static str,
    pub backend: &'static str,
    pub database: bool,
    pub key_store: bool,
    pub audit_log: bool,
    pub policy_version: String,
}

const STAFF_ENTRY: &str = "staff_entry";

/// Parse a body, refusing bad shapes without echoing any of it back.
pub(crate) fn body<T: DeserializeOwned>(bytes: &Bytes, shape: &str) -> Result<T, InvalidInput> {
    let json = json_bytes(bytes)?;
    serde_json::from_value(json).map_err(|e| {
        let at = if e.is_data() {
            "a field of the body has the wrong name or type"
        } else {
            "the body is malformed"
        };
        InvalidInput::one("(document)", at, shape.to_string())
    })
}

pub(crate) fn subject_id(raw: &str) -> Result<Uuid, InvalidInput> {
    raw.parse().map_err(|_| {
        InvalidInput::one(
            "id",
            "not a subject id",
            "a UUID such as 0193a5b2-7c1e-7d40-9a2b-3c4d5e6f7a8b",
        )
    })
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(s): State<AppState>) -> (StatusCode, Json<Health>) {
    let health = s.app.health().await;
    let (database, key_store, audit_log) = (health.database, health.key_store, health.audit_log);
    let ok = database && key_store && audit_log;
    (
        if ok {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        Json(Health {
            status: if ok { "ok" } else { "unavailable" },
            backend: health.backend,
            database,
            key_store,
            audit_log,
            policy_version: s.app.policy().version.clone(),
        }),
    )
}

#[utoipa::path(post, path = "/api/v1/subjects", request_body = NewSubject,
    responses((status = 201, body = Created), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn create_subject(s: Caller, bytes: Bytes) -> ApiResult<(StatusCode, Json<Created>)> {
    let input: NewSubject = body(
        &bytes,
        r#"{"data": {"contact": {…}}, "source": "…", "bases": [{"kind": "…"}], "consents": ["…"], "channel": "form"}"#,
    )?;
    let values = s.app.parse_json(&input.data)?;
    let collection = Collection {
        source: input.source.unwrap_or_else(|| STAFF_ENTRY.into()),
        bases: input
            .bases
            .into_iter()
            .map(|b| (b.kind, b.purpose))
            .collect(),
        consents: input.consents,
        channel: input.channel.unwrap_or(Channel::Form),
        for_request: false,
    };
    let id = s.app.add_subject(&s.actor, values, collection).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[utoipa::path(patch, path = "/api/v1/subjects/{id}", request_body = SubjectUpdate,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn update_subject(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<StatusCode> {
    let id = subject_id(&id)?;
    let input: SubjectUpdate = body(&bytes, r#"{"data": {"contact": {…}}, "source": "…"}"#)?;
    let values = s.app.parse_json(&input.data)?;
    let source = input.source.unwrap_or_else(|| STAFF_ENTRY.into());
    s.app.update_subject(&s.actor, id, values, &source).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The verified request a full copy answers, and the shape to answer in.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CopyQuery {
    /// The id of the person's verified access (or information, rectification) request.
    pub request: Option<String>,
    /// `grouped` (default): each category's basis, purposes and retention once, its values
    /// beneath (`AccessCopy`, format `vintrova.copy/2`); `values`: the earlier shape, every
    /// value with its category's terms beside it (`Export`).
    pub shape: Option<String>,
}

/// A full copy is the answer to the person's verified request and nothing else: without
/// `?request=` it is refused (403, rule `no_access_request`), as it is for a request that is
/// not verified, is another person's, or asks for a right whose answer is not their data.
#[utoipa::path(get, path = "/api/v1/subjects/{id}/export", params(CopyQuery),
    responses((status = 200, body = AccessCopy, description = "The copy, grouped by category; with `?shape=values`, an `Export`"),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn export_subject(
    s: Caller,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<CopyQuery>,
) -> ApiResult<Response> {
    let subject = subject_id(&id)?;
    let per_value = match query.shape.as_deref() {
        None | Some("grouped") => false,
        Some("values") => true,
        Some(_) => {
            return Err(
                InvalidInput::one("shape", "not a shape of the copy", "grouped or values").into(),
            );
        }
    };
    let request = match query.request {
        None => None,
        Some(raw) => Some(raw.parse().map_err(|_| {
            InvalidInput::one(
                "request",
                "not a request id",
                "the UUID the request was given",
            )
        })?),
    };
    let copy = s.app.copy_for_request(&s.actor, subject, request).await?;
    Ok(match per_value {
        true => Json(copy.per_value()).into_response(),
        false => Json(copy).into_response(),
    })
}

#[utoipa::path(get, path = "/api/v1/subjects/{id}/purposes/{purpose}",
    responses((status = 200, body = PurposeView), (status = 403, body = Problem), (status = 404, body = Problem)), security(("token" = [])))]
pub async fn read_for_purpose(
    s: Caller,
    Path((id, purpose)): Path<(String, String)>,
) -> ApiResult<Json<PurposeView>> {
    Ok(Json(
        s.app.read(&s.actor, subject_id(&id)?, &purpose).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/subjects/{id}",
    responses((status = 200, body = ErasureReceipt), (status = 404, body = Problem)), security(("token" = [])))]
pub async fn erase_subject(s: Caller, Path(id): Path<String>) -> ApiResult<Json<ErasureReceipt>> {
    Ok(Json(s.app.erase(&s.actor, subject_id(&id)?).await?))
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/bases", request_body = RecordBasis,
    responses((status = 204), (status = 404, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn record_basis(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<StatusCode> {
    let id = subject_id(&id)?;
    let input: RecordBasis = body(
        &bytes,
        r#"{"kind": "consent_granted", "purpose": "notifications", "channel": "…"}"#,
    )?;
    let channel = input.channel.unwrap_or_else(|| STAFF_ENTRY.into());
    s.app
        .record_basis(&s.actor, id, input.kind, input.purpose, &channel)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/consents", request_body = ConsentInput,
    responses((status = 201, body = ConsentEvent), (status = 404, body = Problem), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn record_consent(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<ConsentEvent>)> {
    let id = subject_id(&id)?;
    let input: ConsentInput = body(
        &bytes,
        r#"{"purpose": "notifications", "action": "granted", "channel": "cabinet", "evidence": "…"}"#,
    )?;
    let event = s
        .app
        .record_consent(
            &s.actor,
            id,
            &input.purpose,
            input.action,
            input.channel,
            input.evidence.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(event)))
}

#[utoipa::path(post, path = "/api/v1/subjects/{id}/events", request_body = EventsInput,
    responses((status = 201, body = Recorded), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("token" = [])))]
pub async fn record_events(
    s: Caller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<(StatusCode, Json<Recorded>)> {
    let id = subject_id(&id)?;
    let input: EventsInput = body(
        &bytes,
        r#"{"purpose": "security", "data": {"technical": {"ip": "…"}}, "source": "visit_technical"}"#,
    )?;
    let values = s.app.parse_json(&input.data)?;
    let source = input.source.unwrap_or_else(|| "visit_technical".into());
    let events = s
        .app
        .record_events(&s.actor, id, &input.purpose, values, &source)
        .await?;
    Ok((StatusCode::CREATED, Json(Recorded { events })))
}

#[utoipa::path(post, path = "/api/v1/subjects/lookup", request_body = Lookup,
    responses((status = 200, body = Found), (status = 422, body = Problem)), security(("token" = [])))]
pub async fn lookup(s: Caller, bytes: Bytes) -> ApiResult<Json<Found>> {
    let input: Lookup = body(&bytes, r#"{"field": "contact.email", "value": "…"}"#)?;
    let subjects = s.app.find(&s.actor, &input.field, &input.value).await?;
    Ok(Json(Found { subjects }))
}

#[utoipa::path(get, path = "/api/v1/audit/verify",
    responses((status = 200, body = AuditReport), (status = 409, body = Problem)), security(("token" = [])))]
pub async fn verify_audit(s: Caller) -> ApiResult<Json<AuditReport>> {
    let verified = s.app.verify_audit().await;
    crate::metrics::audit_verified(
        verified.is_ok(),
        verified.as_ref().map(|r| r.entries).unwrap_or(0),
        s.app.now(),
    );
    Ok(Json(verified?))
}

#[utoipa::path(get, path = "/api/v1/policy", responses((status = 200, description = "The policy in force, as data")))]
pub async fn policy(State(s): State<AppState>) -> Json<vintrova_policy::Policy> {
    Json(s.app.policy().clone())
}
