//! The edge: every text a request brings — path segments, query values, a JSON or form body —
//! passes core's one text rule ([`vintrova_core::text`]) here, before the access guard, a
//! handler or a database sees it. And every error leaves as problem details, whoever made it:
//! axum's extractors and method router answer in plain text that may repeat what was sent, so
//! [`uniform`] replaces those bodies.

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vintrova_core::text::{self, ANY_TEXT, SHORT};
use vintrova_core::values::{FieldProblem, InvalidInput};

use crate::problem::Problem;

const CALLBACK: &str = "/api/v1/payments/callback";

/// The largest body any route reads; the API's documents are far smaller.
pub const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Check every text of the request, then pass it on with its body intact.
pub async fn screen(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let template = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut problems = path_problems(parts.uri.path(), template.as_deref());
    problems.extend(query_problems(parts.uri.query().unwrap_or_default()));
    if !problems.is_empty() {
        return Problem::invalid(InvalidInput { problems }).into_response();
    }
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => return too_large(),
    };
    if !bytes.is_empty()
        && let Err(problem) = body_problems(&parts.headers, parts.uri.path(), &bytes)
    {
        return problem.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn too_large() -> Response {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "The body is too large",
        format!("Send at most {BODY_LIMIT} bytes; the API's documents are far smaller."),
    )
    .into_response()
}

/// Each segment, percent-decoded, is one short line; named by its template (`id`) when the
/// route is known.
fn path_problems(path: &str, template: Option<&str>) -> Vec<FieldProblem> {
    let names: Vec<&str> = template.map(|t| t.split('/').collect()).unwrap_or_default();
    let mut problems = Vec::new();
    for (i, segment) in path.split('/').enumerate() {
        if let Err(refused) = text::check_bytes(SHORT, &percent_decode(segment, false)) {
            let name = names
                .get(i)
                .and_then(|n| n.strip_prefix('{'))
                .and_then(|n| n.strip_suffix('}'))
                .map(|n| format!("path: {n}"))
                .unwrap_or_else(|| "path".to_string());
            problems.push(refused.at(name));
        }
    }
    problems
}

/// Every query key and value is one short line.
fn query_problems(query: &str) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for (key, value) in pairs(query) {
        let name = match text::check_bytes(SHORT, &key) {
            Ok(key) if key.len() <= 64 => format!("query: {key}"),
            Ok(_) => "query".to_string(),
            Err(refused) => {
                problems.push(refused.at("query"));
                continue;
            }
        };
        if let Err(refused) = text::check_bytes(SHORT, &value) {
            problems.push(refused.at(name));
        }
    }
    problems
}

/// `application/json` or `application/…+json`, parameters allowed.
fn is_json(media: &str) -> bool {
    let media = media.split(';').next().unwrap_or_default().trim();
    let media = media.to_ascii_lowercase();
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

fn body_problems(headers: &HeaderMap, path: &str, bytes: &Bytes) -> Result<(), Box<Problem>> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // The payment provider's callback is JSON in whatever media type the provider sends; its
    // signature, not its header, vouches for it.
    if is_json(media) || path == CALLBACK {
        return text::json(bytes)
            .map(|_| ())
            .map_err(|e| Box::new(Problem::invalid(e)));
    }
    let form = media.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if form {
        let Ok(raw) = std::str::from_utf8(bytes) else {
            return Err(Box::new(Problem::invalid(InvalidInput::one(
                "(document)",
                "the form is not valid UTF-8",
                "a form encoded as `application/x-www-form-urlencoded`",
            ))));
        };
        let mut problems = Vec::new();
        for (key, value) in pairs(raw) {
            match text::check_bytes(SHORT, &key) {
                Ok(key) => {
                    let name = if key.len() <= 64 { key } else { "(a field)" };
                    if let Err(refused) = text::check_bytes(ANY_TEXT, &value) {
                        problems.push(refused.at(name));
                    }
                }
                Err(refused) => problems.push(refused.at("(a field name)")),
            }
        }
        return InvalidInput { problems }
            .into_result()
            .map_err(|e| Box::new(Problem::invalid(e)));
    }
    if path.starts_with("/api/") {
        return Err(Box::new(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The body must be JSON",
            "Send the body as JSON with `Content-Type: application/json`.",
        )));
    }
    Ok(())
}

/// `key=value&…` pairs, percent- and plus-decoded to raw bytes (not yet text: the check says
/// whether they are UTF-8).
fn pairs(raw: &str) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + '_ {
    raw.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(key, true), percent_decode(value, true))
    })
}

fn percent_decode(raw: &str, plus_is_space: bool) -> Vec<u8> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Errors made outside our handlers (extractor rejections, the method router, body limits)
/// leave as problem details too, without the plain-text body that may repeat the request —
/// and, for a browser's paths, as a page in the visitor's language (a half-sent form, a panic),
/// never raw JSON or text. Pages (HTML) and problems pass unchanged; `Allow` and `Retry-After`
/// are kept.
pub async fn uniform(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let (uri, headers) = (request.uri().clone(), request.headers().clone());
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let media = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // Our own answers (problems, pages, the health report's JSON) pass; what axum wrote in
    // plain text, or with no body type at all, is replaced.
    if !(media.is_empty() || media.starts_with("text/plain")) {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let (kind, title, detail) = explain(status, &method, allow.as_ref());
    let mut replaced = if for_machines(uri.path()) {
        Problem::new(status, kind, title, detail).into_response()
    } else {
        page(&state, uri, headers, status, kind).await
    };
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            replaced.headers_mut().insert(name, value.clone());
        }
    }
    replaced
}

/// The paths a program calls; every other path is a browser's.
fn for_machines(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/metrics"
}

/// The error as a page: a form that did not read says so, a server error gives the id the log
/// keeps it under.
async fn page(
    state: &crate::AppState,
    uri: axum::http::Uri,
    headers: HeaderMap,
    status: StatusCode,
    kind: &str,
) -> Response {
    use axum::extract::FromRequestParts;
    let mut parts = Request::new(()).into_parts().0;
    // The refused path is not repeated, not even in the language links: the page is the
    // home's, in the language asked for.
    let lang = uri
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("lang=")))
        .and_then(crate::i18n::Lang::parse);
    parts.uri = match lang {
        Some(lang) => format!("/?lang={}", lang.code())
            .parse()
            .unwrap_or_default(),
        None => axum::http::Uri::from_static("/"),
    };
    parts.headers = headers;
    let Ok(visit) = crate::site::Visit::from_request_parts(&mut parts, state).await;
    let operation = status.is_server_error().then(|| {
        let operation = uuid::Uuid::now_v7().to_string();
        tracing::error!(%operation, %status, "a page failed outside its handler");
        operation
    });
    let kind = match kind {
        "bad-request" | "unsupported-media-type" => "form",
        other => other,
    };
    let said = crate::refusals::said(&visit.t, status, kind, operation.as_deref());
    crate::site::error_page(state, visit, said)
}

fn explain(
    status: StatusCode,
    method: &Method,
    allow: Option<&HeaderValue>,
) -> (&'static str, &'static str, String) {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => (
            "method-not-allowed",
            "This path does not answer to this method",
            format!(
                "{method} is not served here; use one of: {}.",
                allow.and_then(|a| a.to_str().ok()).unwrap_or("none")
            ),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "body-too-large",
            "The body is too large",
            "Send a smaller body; forms take at most 16 KiB.".into(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported-media-type",
            "The body's media type is not accepted",
            "Send JSON with `Content-Type: application/json`, or a form as `application/x-www-form-urlencoded`.".into(),
        ),
        StatusCode::NOT_FOUND => (
            "not-found",
            "No such resource",
            "See /api/v1/openapi.json for the API.".into(),
        ),
        s if s.is_server_error() => (
            "internal",
            "The server could not complete the request",
            "Nothing was changed; try again, and tell the operator if it persists.".into(),
        ),
        _ => (
            "bad-request",
            "The request could not be read",
            "A path, query or body value is not in the form this operation expects; see /api/v1/openapi.json.".into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_keeps_raw_bytes_for_the_text_check() {
        assert_eq!(percent_decode("a%00b", false), b"a\0b");
        assert_eq!(percent_decode("%ff", false), vec![0xff]);
        assert_eq!(percent_decode("a+b%2", true), b"a b%2");
        assert_eq!(percent_decode("%", false), b"%");
    }

    #[test]
    fn path_values_are_named_by_their_template_and_never_repeated() {
        let problems = path_problems(
            "/api/v1/subjects/secret%E2%80%AEvalue",
            Some("/api/v1/subjects/{id}"),
        );
        assert_eq!(problems[0].field, "path: id");
        assert!(!format!("{problems:?}").contains("secret"));
    }
}
