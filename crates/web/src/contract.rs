//! The OpenAPI document as a contract a client (and schemathesis) can hold us to: one pass over
//! the operations utoipa derived that adds what is true of many at once — who may call them
//! (from the access table, so the document and the guard cannot disagree), the problems every
//! operation may answer with, unique operation ids and a description on every response.

use std::collections::HashMap;

use axum::http::StatusCode;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::schema::{Object, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::access::{CSRF_HEADER, ENDPOINTS, STAFF_COOKIE};
use crate::security::Door;

const PROBLEM_JSON: &str = "application/problem+json";
/// The platform's back end: `Authorization: Bearer <token>`.
const TOKEN: &str = "token";
/// A signed-in staff member's session cookie.
const STAFF_SESSION: &str = "staff_session";
/// The CSRF token a staff member's changing call carries beside the cookie.
const CSRF: &str = "csrf";

pub struct Contract;

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut OpenApi) {
        schemes(openapi);
        let mut ids: HashMap<String, usize> = HashMap::new();
        for_each_operation(openapi, |_, _, op| {
            if let Some(id) = &op.operation_id {
                *ids.entry(id.clone()).or_default() += 1;
            }
        });
        for_each_operation(openapi, |path, method, op| {
            let verb = method_name(method);
            // utoipa names an operation after its function; two modules may share a name
            // (`sign_in`), so a shared one becomes the method and path, which are unique.
            if op.operation_id.as_ref().is_none_or(|id| ids[id] > 1) {
                op.operation_id = Some(path_id(verb, path));
            }
            let protected = ENDPOINTS
                .iter()
                .any(|(m, t, _)| m.eq_ignore_ascii_case(verb) && *t == path);
            op.security = protected.then(|| requirements(method));
            media_types(op);
            problems(op, verb, path, protected);
            if BROWSER_PAGES.contains(&path) {
                pages(op);
            }
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && response.description.trim().is_empty()
                {
                    response.description = describe(status).to_string();
                }
            }
        });
    }
}

fn schemes(openapi: &mut OpenApi) {
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        TOKEN,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "The platform's back end: the token in the data directory's `api-token` file.",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        STAFF_SESSION,
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            STAFF_COOKIE,
            "A staff member's session, set by `POST /api/v1/staff/sessions`.",
        ))),
    );
    components.add_security_scheme(
        CSRF,
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            CSRF_HEADER,
            "The `csrf` value the staff sign-in returned; needed with the cookie on every call that changes something.",
        ))),
    );
}

/// The platform's token, or a staff session (with its CSRF token when the call changes
/// something) — the two ways past the guard.
fn requirements(method: &HttpMethod) -> Vec<SecurityRequirement> {
    let empty: [&str; 0] = [];
    let staff = if matches!(method, HttpMethod::Get | HttpMethod::Head) {
        SecurityRequirement::new(STAFF_SESSION, empty)
    } else {
        SecurityRequirement::new(STAFF_SESSION, empty).add(CSRF, empty)
    };
    vec![SecurityRequirement::new(TOKEN, empty), staff]
}

/// Operations a person opens from a letter, in a browser: they answer with a page in the
/// reader's language (an expired link says what to do) unless JSON was asked for.
const BROWSER_PAGES: &[&str] = &["/api/v1/downloads/{token}"];

/// Every answer of a browser page may also come as `text/html`.
fn pages(op: &mut Operation) {
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.content.insert(
                "text/html".to_string(),
                RefOr::T(Content::new(Some(Object::with_type(Type::String)))),
            );
        }
    }
}

/// Problem bodies have their own media type (RFC 9457).
fn media_types(op: &mut Operation) {
    let problem = Ref::from_schema_name("Problem").ref_location;
    for response in op.responses.responses.values_mut() {
        if let RefOr::T(response) = response
            && let Some(content) = response.content.shift_remove("application/json")
        {
            let is_problem = matches!(&content, RefOr::T(c)
                if matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location == problem));
            let media = if is_problem {
                PROBLEM_JSON
            } else {
                "application/json"
            };
            response.content.insert(media.to_string(), content);
        }
    }
}

/// The problems an operation may answer with, each said once here for all of them.
fn problems(op: &mut Operation, verb: &str, path: &str, protected: bool) {
    let has_body = op.request_body.is_some();
    let mut add = |status: StatusCode, description: &str| {
        op.responses
            .responses
            .entry(status.as_u16().to_string())
            .or_insert_with(|| {
                RefOr::T(
                    ResponseBuilder::new()
                        .description(description)
                        .content(
                            PROBLEM_JSON,
                            Content::new(Some(Ref::from_schema_name("Problem"))),
                        )
                        .build(),
                )
            });
    };
    add(
        StatusCode::BAD_REQUEST,
        "The request could not be read (a path, query or body value of the wrong form)",
    );
    add(StatusCode::NOT_FOUND, "No such subject or resource");
    add(
        StatusCode::UNPROCESSABLE_ENTITY,
        "The input was refused and nothing was stored; each problem names its field",
    );
    add(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The server could not complete the request; nothing was changed",
    );
    add(
        StatusCode::SERVICE_UNAVAILABLE,
        "The audit log lost its tail; personal data is not served",
    );
    if has_body {
        add(StatusCode::PAYLOAD_TOO_LARGE, "The body is too large");
        add(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "The body is not sent as `application/json`",
        );
    }
    if protected {
        add(
            StatusCode::UNAUTHORIZED,
            "No valid API token or staff session",
        );
        add(
            StatusCode::FORBIDDEN,
            "Refused: the caller's role, a missing CSRF token, missing paperwork, or the purpose gate",
        );
    } else {
        add(
            StatusCode::UNAUTHORIZED,
            "The credentials, signature or token were not accepted",
        );
    }
    if Door::of(&verb.to_ascii_uppercase(), path).is_some() {
        add(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts from this client or on this account; `Retry-After` says when to come back",
        );
    }
}

fn describe(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("The answer")
}

/// `post /api/v1/staff/sessions` → `post_staff_sessions`.
fn path_id(verb: &str, path: &str) -> String {
    let words: Vec<String> = path
        .trim_start_matches("/api/v1")
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches(|c| c == '{' || c == '}').replace('-', "_"))
        .collect();
    format!("{verb}_{}", words.join("_"))
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    }
}

fn for_each_operation(openapi: &mut OpenApi, mut f: impl FnMut(&str, &HttpMethod, &mut Operation)) {
    for (path, item) in openapi.paths.paths.iter_mut() {
        let operations = [
            (HttpMethod::Get, &mut item.get),
            (HttpMethod::Post, &mut item.post),
            (HttpMethod::Put, &mut item.put),
            (HttpMethod::Delete, &mut item.delete),
            (HttpMethod::Patch, &mut item.patch),
        ];
        for (method, operation) in operations {
            if let Some(operation) = operation {
                f(path, &method, operation);
            }
        }
    }
}
