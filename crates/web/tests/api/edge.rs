//! The edge (issue 20): one text rule for everything that enters, problem details for every
//! error, a contract the OpenAPI document states and keeps, bidi-isolated names, counted
//! refusals. Kept beside `api.rs` in the same test binary, with its helpers.

use super::*;

/// What a test sends where a person's data could be: it must never come back.
const MARKER: &str = "leak.marker@example.com";

impl Api {
    pub(crate) async fn on(harness: Harness) -> Self {
        let router = router(AppState::new(
            harness.app.clone(),
            TOKEN,
            Arc::new(provider()),
        ));
        Api { harness, router }
    }

    /// A raw call with the token and a chosen content type.
    async fn raw(&self, method: &str, uri: &str, content_type: &str, body: Vec<u8>) -> Reply {
        self.send(
            Request::builder()
                .method(method)
                .uri(uri)
                .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                .header(header::CONTENT_TYPE, content_type)
                .body(Body::from(body))
                .unwrap(),
        )
        .await
    }
}

/// A refusal as problem details naming `field`, saying what is expected, and never the value.
fn assert_refused(reply: &Reply, field: &str, what: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{what}: {}",
        reply.text()
    );
    assert_eq!(reply.content_type, "application/problem+json", "{what}");
    let problems = reply.json()["problems"].clone();
    let named = problems
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["field"] == field)
        .unwrap_or_else(|| panic!("{what}: no problem names {field}: {}", reply.text()));
    assert!(!named["expected"].as_str().unwrap().is_empty(), "{what}");
    assert!(!reply.text().contains("marker"), "{what} echoed the value");
}

async fn nul_in_the_staff_login_is_refused_by_name(api: Api) {
    let reply = api
        .send(staff_sign_in("a.legit\0marker", STAFF_PASSWORD, "123456"))
        .await;
    assert_refused(&reply, "login", "a NUL in the staff login");
    // The console's form goes through the same rule.
    let reply = api
        .send(form(
            "/staff/sign-in",
            "",
            &[("login", "a\0marker"), ("password", "x"), ("code", "1")],
        ))
        .await;
    assert_refused(&reply, "login", "a NUL in the console's sign-in form");
}

#[tokio::test]
async fn a_nul_in_the_staff_login_is_a_422_naming_the_field_on_sqlite() {
    nul_in_the_staff_login_is_refused_by_name(Api::new().await).await;
}

#[tokio::test]
async fn a_nul_in_the_staff_login_is_a_422_naming_the_field_on_postgresql() {
    nul_in_the_staff_login_is_refused_by_name(Api::on(Harness::postgres().await).await).await;
}

#[tokio::test]
async fn every_entry_point_refuses_controls_bidi_overrides_and_invisible_characters_by_name() {
    let api = Api::new().await;
    let id = api.add_person().await;
    let dpo = api.staff("edge.dpo", Role::Dpo).await;
    let mut named = person();
    // A name that reads backwards on a staff screen.
    named["data"]["contact"]["first_name"] = json!("marker\u{202E}txt.exe");
    let reply = api
        .authed("POST", "/api/v1/subjects", Some(named.clone()))
        .await;
    assert_refused(
        &reply,
        "data.contact.first_name",
        "a bidi override in a name",
    );
    // A zero-width space makes two names look alike: fine in prose, not in a name.
    named["data"]["contact"]["first_name"] = json!("mark\u{200B}er");
    let reply = api.authed("POST", "/api/v1/subjects", Some(named)).await;
    assert_refused(&reply, "contact.first_name", "a zero-width space in a name");

    // The staff ledgers: an assessment's one-line scope and a paperwork reference.
    let assessment = json!({"kind": "risk_assessment", "conducted_on": "2024-01-10",
        "scope": "marker\u{7}bell", "conducted_by": "internal", "findings": ["fine\nacross lines"]});
    let reply = api
        .as_staff(&dpo, "POST", "/api/v1/assessments", Some(assessment), None)
        .await;
    assert_refused(&reply, "scope", "a control character in an assessment");
    let assessment = json!({"kind": "risk_assessment", "conducted_on": "2024-01-10",
        "scope": "two\nlines marker", "conducted_by": "internal", "findings": []});
    let reply = api
        .as_staff(&dpo, "POST", "/api/v1/assessments", Some(assessment), None)
        .await;
    assert_refused(
        &reply,
        "scope",
        "a new line in an assessment's one-line scope",
    );
    let paper = json!({"kind": "confidentiality_agreement", "on": "2024-01-10",
        "reference": "NDA-1\u{1b}[2Jmarker"});
    let staff_id = dpo_staff_id(&api, &dpo).await;
    let reply = api
        .as_staff(
            &dpo,
            "POST",
            &format!("/api/v1/staff/{staff_id}/paperwork"),
            Some(paper),
            None,
        )
        .await;
    assert_refused(
        &reply,
        "reference",
        "an escape sequence in a paperwork reference",
    );

    // Path and query values.
    let reply = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}%00marker/export"),
            None,
        )
        .await;
    assert_refused(&reply, "path: id", "a NUL in a path value");
    let reply = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/export?format=marker%E2%80%AE"),
            None,
        )
        .await;
    assert_refused(&reply, "query: format", "a bidi override in a query value");
    let reply = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/export?f=%FFmarker"),
            None,
        )
        .await;
    assert_refused(&reply, "query: f", "invalid UTF-8 in a query value");
}

/// The staff member's own id, from the staff list.
async fn dpo_staff_id(api: &Api, dpo: &Staff) -> String {
    let list = api
        .as_staff(dpo, "GET", "/api/v1/staff", None, None)
        .await
        .json();
    list.as_array()
        .unwrap()
        .iter()
        .find(|m| m["login"] == dpo.login.as_str())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_error_is_problem_json_and_none_echoes_what_was_sent() {
    let api = Api::new().await;
    let id = api.add_person().await;
    let is_problem = |reply: &Reply, what: &str| {
        assert_eq!(reply.content_type, "application/problem+json", "{what}");
        assert!(!reply.text().contains("marker"), "{what}: {}", reply.text());
        reply.json()
    };
    // An extractor's refusal of a query (a parameter twice).
    let reply = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/export?request={MARKER}&request={MARKER}"),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    is_problem(&reply, "a bad query value");
    // A path value that is no id, an email in it included.
    let reply = api
        .authed("GET", &format!("/api/v1/subjects/{MARKER}/export"), None)
        .await;
    assert!(reply.status.is_client_error());
    is_problem(&reply, "a bad path value");
    let dpo = api.staff("echo.dpo", Role::Dpo).await;
    let reply = api
        .send(get(&format!("/staff/subjects/{MARKER}"), &dpo.cookie))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text());
    assert!(
        !reply.text().contains("marker"),
        "the console echoed a path value"
    );
    // The body limit.
    let reply = api
        .raw(
            "POST",
            "/api/v1/subjects",
            "application/json",
            vec![b' '; 5 << 20],
        )
        .await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    is_problem(&reply, "an oversized body");
    // A method the path does not serve: 405 with Allow, before any credentials are asked.
    let reply = api
        .call("PUT", &format!("/api/v1/subjects/{id}"), None, None)
        .await;
    assert_eq!(
        reply.status,
        StatusCode::METHOD_NOT_ALLOWED,
        "{}",
        reply.text()
    );
    assert_eq!(reply.headers[header::ALLOW], "PATCH, DELETE");
    is_problem(&reply, "a protected path's 405");
    let reply = api.call("DELETE", "/healthz", None, None).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(reply.headers.contains_key(header::ALLOW));
    is_problem(&reply, "an open path's 405");
    // A body that is not JSON by its media type.
    let reply = api
        .raw(
            "POST",
            "/api/v1/subjects",
            "text/plain",
            serde_json::to_vec(&json!({"data": person()})).unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    is_problem(&reply, "a body without a JSON media type");
    // A key twice: which one would a proxy have read?
    let twice = format!(
        r#"{{"data": {{"contact": {{"first_name": "Айгерім", "email": "{MARKER}", "email": "b@example.com"}}}}}}"#
    );
    let reply = api
        .raw(
            "POST",
            "/api/v1/subjects",
            "application/json",
            twice.into_bytes(),
        )
        .await;
    assert_refused(&reply, "data.contact.email", "a duplicate key");
    // Nothing of it was stored.
    let found = api
        .authed(
            "POST",
            "/api/v1/subjects/lookup",
            Some(json!({"field": "contact.email", "value": MARKER})),
        )
        .await;
    assert_eq!(found.json()["subjects"], json!([]));
}

/// Every operation of the document, as (method, concrete path).
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut all = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            all.push((method.to_uppercase(), concrete(path)));
        }
    }
    all
}

#[tokio::test]
async fn every_operation_answers_nul_invalid_utf8_huge_and_deep_bodies_with_a_problem() {
    let api = Api::new().await;
    let doc = api
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .json();
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let bodies: [(&str, Vec<u8>); 5] = [
        (
            "NUL",
            b"{\"login\": \"a\\u0000b\", \"value\": \"\0\"}".to_vec(),
        ),
        ("invalid UTF-8", b"{\"title\": \"\xff\xfe\"}".to_vec()),
        ("huge", vec![b'['; 6 << 20]),
        ("deep", deep.into_bytes()),
        (
            "deep object",
            ("{\"a\":".repeat(5_000) + "1" + &"}".repeat(5_000)).into_bytes(),
        ),
    ];
    let operations = operations(&doc);
    assert!(operations.len() > 60, "the document lists every operation");
    for (method, uri) in operations {
        for (what, body) in &bodies {
            for token in [Some(TOKEN), None] {
                let reply = api.call(&method, &uri, Some(body.clone()), token).await;
                assert!(
                    !reply.status.is_server_error(),
                    "{method} {uri} with a {what} body: {} {}",
                    reply.status,
                    reply.text()
                );
                if reply.status.is_client_error() {
                    assert_eq!(
                        reply.content_type, "application/problem+json",
                        "{method} {uri} with a {what} body: {}",
                        reply.status
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_openapi_document_states_security_problems_and_unique_operation_ids() {
    let api = Api::new().await;
    let doc = api
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .json();
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["token"]["scheme"], "bearer");
    assert_eq!(schemes["staff_session"]["in"], "cookie");
    assert_eq!(schemes["csrf"]["in"], "header");
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{method} {path}");
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{at}"));
            assert!(ids.insert(id.to_string()), "{at}: operationId {id} twice");
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                assert!(
                    !response["description"]
                        .as_str()
                        .unwrap_or_default()
                        .is_empty(),
                    "{at} {status} has no description"
                );
            }
            let protected = ENDPOINTS
                .iter()
                .any(|(m, t, _)| m.eq_ignore_ascii_case(method) && t == path);
            if protected {
                let security = op["security"].to_string();
                assert!(security.contains("token"), "{at}: {security}");
                assert!(security.contains("staff_session"), "{at}: {security}");
                if method != "get" {
                    assert!(security.contains("csrf"), "{at}: {security}");
                }
                for status in ["401", "403", "422"] {
                    assert!(responses.contains_key(status), "{at} documents no {status}");
                }
            }
        }
    }
    for (method, path) in [
        ("post", "/api/v1/sessions"),
        ("post", "/api/v1/staff/sessions"),
        ("post", "/api/v1/accounts"),
        ("post", "/api/v1/requests"),
    ] {
        assert!(
            doc["paths"][path][method]["responses"]
                .as_object()
                .unwrap()
                .contains_key("429"),
            "{method} {path} documents no 429"
        );
    }
    assert!(
        doc["paths"]["/api/v1/audit/verify"]["get"]["responses"]
            .as_object()
            .unwrap()
            .contains_key("409")
    );
}

/// A dead download link answers a browser with a page; the document must say so, or a client
/// holding us to it (schemathesis did) finds an undocumented media type.
#[tokio::test]
async fn a_dead_download_link_answers_with_a_page_the_document_names() {
    let api = Api::new().await;
    let reply = api.call("GET", "/api/v1/downloads/0", None, None).await;
    assert_eq!(reply.status.as_u16(), 410);
    assert!(
        reply.content_type.starts_with("text/html"),
        "{}",
        reply.content_type
    );
    let doc = api
        .call("GET", "/api/v1/openapi.json", None, None)
        .await
        .json();
    let gone = &doc["paths"]["/api/v1/downloads/{token}"]["get"]["responses"]["410"]["content"];
    assert!(gone.get("text/html").is_some(), "{gone}");
    assert!(gone.get("application/problem+json").is_some(), "{gone}");
    let json = api
        .call("GET", "/api/v1/downloads/0?format=json", None, None)
        .await;
    assert_eq!(json.content_type, "application/problem+json");
}

/// The counter's value for `door` in a scrape.
fn rate_limited(scrape: &str, door: &str) -> f64 {
    scrape
        .lines()
        .find(|l| {
            l.starts_with("vintrova_rate_limited_total") && l.contains(&format!("door=\"{door}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn per_account_refusals_are_counted_in_rate_limited_total() {
    let api = Api::new().await;
    let before = api.call("GET", "/metrics", None, None).await.text();
    // One address tried from many clients: the per-account limit refuses, not the per-client.
    let mut refused = 0;
    for i in 0..8 {
        let reply = api
            .send(from(
                &format!("198.51.100.{}", i + 1),
                Request::builder()
                    .method("POST")
                    .uri("/api/v1/accounts/password-reset")
                    .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(r#"{"email": "counted@example.com"}"#))
                    .unwrap(),
            ))
            .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(reply.content_type, "application/problem+json");
            refused += 1;
        }
    }
    assert!(refused > 0, "the per-account limit refused nothing");
    let after = api.call("GET", "/metrics", None, None).await.text();
    assert!(
        rate_limited(&after, "PasswordReset") - rate_limited(&before, "PasswordReset")
            >= refused as f64,
        "{refused} refusals, counted {} → {}",
        rate_limited(&before, "PasswordReset"),
        rate_limited(&after, "PasswordReset")
    );
}

#[tokio::test]
async fn a_name_is_shown_bidi_isolated_in_the_console() {
    let api = Api::new().await;
    // Right-to-left letters are a name like any other; they must not reorder what follows.
    let mut named = person();
    named["data"]["contact"]["first_name"] = json!("שרה");
    let created = api.authed("POST", "/api/v1/subjects", Some(named)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();
    let dpo = api.staff("bidi.dpo", Role::Dpo).await;
    let page = api
        .send(
            Request::builder()
                .uri(format!("/staff/subjects/{id}?purpose=support"))
                .header(header::COOKIE, &dpo.cookie)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("<bdi>שרה</bdi>"), "{}", page.text());
    // A name with a right-to-left override, had one been stored before the edge refused
    // them, is isolated too: the console's unit test `every_cell_is_bidi_isolated` renders one.
}

/// Issue 21 (R5.3, item 8): only the analytics release marks a disclosure anonymized; a caller
/// who says so is refused by name, and nothing is logged.
#[tokio::test]
async fn a_caller_cannot_mark_a_disclosure_anonymized() {
    let api = Api::new().await;
    let dpo = api.staff("g.sadykova", Role::Dpo).await;
    let reply = api
        .as_staff(
            &dpo,
            "POST",
            "/api/v1/disclosures",
            Some(json!({
                "recipient": "analytics_services", "country": "KZ", "subjects": [],
                "categories": ["usage"], "purpose": "learning_analytics",
                "legal_ground": "Agreement A-1", "anonymized": true
            })),
            Some("learning_analytics"),
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.text()
    );
    assert!(
        reply.text().contains("legal_reference"),
        "the refusal shows the fields a disclosure takes — `anonymized` is not one"
    );
    assert!(api.harness.app.disclosures(None).await.unwrap().is_empty());
}

/// Issue 22: a classroom behind one address meets the limit — the browser gets a page in its
/// language that says when to come back, never raw JSON; the API keeps its problem details.
#[tokio::test]
async fn a_browser_over_the_limit_gets_a_page_in_its_language_not_json() {
    let api = Api::new().await;
    let mut browser = Browser::default();
    let page = browser.get(&api, "/sign-in?lang=kk").await;
    let csrf = hidden(&page.text(), "csrf");
    let mut reply = page;
    for _ in 0..20 {
        reply = browser
            .post(
                &api,
                "/sign-in",
                &[
                    ("csrf", &csrf),
                    ("email", "a@mail.kz"),
                    ("password", "wrong-password"),
                ],
            )
            .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        reply.content_type.starts_with("text/html"),
        "{}",
        reply.content_type
    );
    assert!(
        reply.text().contains("Тым көп әрекет") && reply.text().contains("мин"),
        "{}",
        reply.text()
    );
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
}
