//! The HTTP API, request by request, over the real core on SQLite.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::sync::Arc;
use tower::ServiceExt;
use vintrova_store_tests::Harness;

use vintrova_core::payments::{DevProvider, Outcome};
use vintrova_web::{AppState, router};

const TOKEN: &str = "test-token-not-a-secret";

fn provider() -> DevProvider {
    DevProvider::new([9u8; 32])
}

struct Api {
    harness: Harness,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Api {
    async fn new() -> Self {
        Api {
            harness: Harness::sqlite().await,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
    ) -> Reply {
        self.call_with(method, uri, body, token, None).await
    }

    async fn call_with(
        &self,
        method: &str,
        uri: &str,
        body: Option<Vec<u8>>,
        token: Option<&str>,
        session: Option<&str>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(session) = session {
            request = request.header("vintrova-session", session);
        }
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .unwrap();
        let app = router(AppState::new(
            self.harness.app.clone(),
            TOKEN,
            Arc::new(provider()),
        ));
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            content_type,
            body,
        }
    }

    async fn authed(&self, method: &str, uri: &str, body: Option<Value>) -> Reply {
        self.call(
            method,
            uri,
            body.map(|b| serde_json::to_vec(&b).unwrap()),
            Some(TOKEN),
        )
        .await
    }
}

fn person() -> Value {
    json!({
        "data": {
            "contact": {"first_name": "Ерлан", "last_name": "Жақсыбеков", "email": "yerlan.zh@finance.kz"},
            "education": {"level": "Магистратура", "specialization": "Финансы"}
        },
        "source": "registration_form",
        "bases": [{"kind": "contract_started"}],
        "consents": ["notifications"],
        "channel": "form"
    })
}

#[tokio::test]
async fn a_subject_goes_through_the_api_from_creation_to_erasure() {
    let api = Api::new().await;
    let created = api.authed("POST", "/api/v1/subjects", Some(person())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();

    let export = api
        .authed("GET", &format!("/api/v1/subjects/{id}/export"), None)
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.json()["values"].as_array().unwrap().len(), 5);

    let view = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/purposes/personalization"),
            None,
        )
        .await;
    assert_eq!(view.status, StatusCode::OK);
    assert_eq!(view.json()["values"]["education.specialization"], "Финансы");
    assert!(view.json()["values"].get("contact.email").is_none());

    let fix =
        json!({"data": {"education": {"specialization": "Data Science"}}, "source": "staff_entry"});
    assert_eq!(
        api.authed("PATCH", &format!("/api/v1/subjects/{id}"), Some(fix))
            .await
            .status,
        StatusCode::NO_CONTENT
    );

    let found = api
        .authed(
            "POST",
            "/api/v1/subjects/lookup",
            Some(json!({"field": "contact.email", "value": "YERLAN.ZH@finance.kz"})),
        )
        .await;
    assert_eq!(found.json()["subjects"], json!([id]));

    let basis = json!({"purpose": "notifications", "action": "withdrawn", "channel": "cabinet"});
    assert_eq!(
        api.authed(
            "POST",
            &format!("/api/v1/subjects/{id}/consents"),
            Some(basis)
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let refused = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/purposes/notifications"),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.content_type, "application/problem+json");
    assert_eq!(refused.json()["rule"], "consent_withdrawn");

    let verify = api.authed("GET", "/api/v1/audit/verify", None).await;
    assert_eq!(
        verify.json()["entries"],
        6,
        "create, export, read, update, find, basis; the refusal read nothing"
    );

    let erased = api
        .authed("DELETE", &format!("/api/v1/subjects/{id}"), None)
        .await;
    assert_eq!(erased.status, StatusCode::OK);
    assert_eq!(erased.json()["subject_removed"], true);
    let gone = api
        .authed("GET", &format!("/api/v1/subjects/{id}/export"), None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.json()["type"],
        "https://vintrova.com/problems/unknown-subject"
    );
}

#[tokio::test]
async fn the_api_refuses_callers_without_the_token() {
    let api = Api::new().await;
    for token in [None, Some("wrong")] {
        let reply = api
            .call(
                "POST",
                "/api/v1/subjects",
                Some(serde_json::to_vec(&person()).unwrap()),
                token,
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
        assert_eq!(reply.content_type, "application/problem+json");
    }
    assert_eq!(
        api.harness.app.verify_audit().await.unwrap().entries,
        0,
        "nothing was stored"
    );
    assert_eq!(
        api.call("GET", "/healthz", None, None).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn problems_name_the_field_and_never_repeat_the_value() {
    let api = Api::new().await;
    let secret = "секретное-значение@нигде";
    let bad = json!({"data": {"contact": {"email": secret, "nickname": "Ерка"}}});
    let reply = api.authed("POST", "/api/v1/subjects", Some(bad)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.content_type, "application/problem+json");
    let fields: Vec<String> = reply.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["contact.email", "contact.nickname"]);
    assert!(
        !reply.text().contains("секретное") && !reply.text().contains("Ерка"),
        "{}",
        reply.text()
    );

    let huge = json!({"data": {"contact": {"first_name": "щ".repeat(1024 * 1024 / 2)}}});
    let reply = api.authed("POST", "/api/v1/subjects", Some(huge)).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.json()["problems"][0]["field"], "contact.first_name");

    let broken = api
        .call(
            "POST",
            "/api/v1/subjects",
            Some(b"{\"data\": \xff}".to_vec()),
            Some(TOKEN),
        )
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(broken.json()["detail"].as_str().unwrap().contains("UTF-8"));

    let wrong_shape = api
        .authed(
            "POST",
            "/api/v1/subjects",
            Some(json!({"data": {}, "sauce": secret})),
        )
        .await;
    assert_eq!(wrong_shape.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!wrong_shape.text().contains("секретное"));

    let bad_id = api
        .authed("GET", "/api/v1/subjects/not-a-uuid/export", None)
        .await;
    assert_eq!(bad_id.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_id.json()["problems"][0]["field"], "id");
    assert_eq!(api.harness.app.verify_audit().await.unwrap().entries, 0);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let api = Api::new().await;
    let reply = api.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert_eq!(
        doc["openapi"].as_str().unwrap().split('.').next(),
        Some("3")
    );
    for path in [
        "/healthz",
        "/api/v1/subjects",
        "/api/v1/subjects/{id}",
        "/api/v1/subjects/{id}/export",
        "/api/v1/subjects/{id}/purposes/{purpose}",
        "/api/v1/subjects/{id}/bases",
        "/api/v1/subjects/{id}/consents",
        "/api/v1/subjects/{id}/events",
        "/api/v1/accounts",
        "/api/v1/accounts/password",
        "/api/v1/accounts/password-reset",
        "/api/v1/accounts/password-reset/confirm",
        "/api/v1/accounts/{id}/close",
        "/api/v1/sessions",
        "/api/v1/sessions/current",
        "/api/v1/subjects/{id}/orders",
        "/api/v1/orders/{id}/refund",
        "/api/v1/payments/callback",
        "/api/v1/catalog",
        "/api/v1/catalog/{offering}/roster",
        "/api/v1/subjects/{id}/enrollments",
        "/api/v1/enrollments/{id}/progress",
        "/api/v1/enrollments/{id}/cancel",
        "/api/v1/subjects/{id}/recommendations",
        "/api/v1/subjects/{id}/tickets",
        "/api/v1/tickets/{id}/messages",
        "/api/v1/tickets/{id}/close",
        "/api/v1/notices",
        "/api/v1/requests",
        "/api/v1/requests/cabinet",
        "/api/v1/requests/{id}/verify",
        "/api/v1/requests/{id}/fulfil",
        "/api/v1/requests/{id}/reject",
        "/api/v1/downloads/{token}",
        "/api/v1/subjects/lookup",
        "/api/v1/audit/verify",
        "/api/v1/policy",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is not documented");
    }
    assert!(doc["components"]["schemas"].get("Export").is_some());
    for (path, method) in [
        ("/api/v1/subjects", "post"),
        ("/api/v1/catalog", "get"),
        ("/healthz", "get"),
    ] {
        let responses = &doc["paths"][path][method]["responses"];
        for status in ["401", "422", "500"] {
            assert!(
                responses[status]["content"]
                    .get("application/problem+json")
                    .is_some(),
                "{method} {path} documents its {status} as a problem"
            );
        }
    }
    assert_eq!(
        api.call("GET", "/api/v1/policy", None, None).await.json()["time_zone"],
        "Asia/Almaty"
    );
}

#[tokio::test]
async fn analytics_events_without_cookie_consent_are_refused_with_the_reason() {
    let api = Api::new().await;
    let created = api.authed("POST", "/api/v1/subjects", Some(person())).await;
    let id = created.json()["id"].as_str().unwrap().to_string();
    let usage = json!({"purpose": "learning_analytics", "data": {"usage": {"page": "/courses/1"}}, "source": "analytics_cookies"});
    let refused = api
        .authed(
            "POST",
            &format!("/api/v1/subjects/{id}/events"),
            Some(usage.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json()["rule"], "no_consent");
    assert!(
        refused.json()["detail"]
            .as_str()
            .unwrap()
            .contains("learning_analytics")
    );

    let technical = json!({"purpose": "security", "data": {"technical": {"ip": "198.51.100.7", "os": "Linux"}}});
    let stored = api
        .authed(
            "POST",
            &format!("/api/v1/subjects/{id}/events"),
            Some(technical),
        )
        .await;
    assert_eq!(stored.status, StatusCode::CREATED, "{}", stored.text());
    assert_eq!(stored.json()["events"].as_array().unwrap().len(), 1);

    let cookie = json!({"purpose": "learning_analytics", "action": "granted", "channel": "cookie_banner", "evidence": "banner-v3 accept-analytics"});
    let consent = api
        .authed(
            "POST",
            &format!("/api/v1/subjects/{id}/consents"),
            Some(cookie),
        )
        .await;
    assert_eq!(consent.status, StatusCode::CREATED);
    assert_eq!(consent.json()["evidence_recorded"], true);
    assert_eq!(consent.json()["terms"]["cross_border"], json!(["DE"]));
    let accepted = api
        .authed(
            "POST",
            &format!("/api/v1/subjects/{id}/events"),
            Some(usage),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_person_registers_signs_in_changes_password_and_closes_the_account() {
    let api = Api::new().await;
    let registration = json!({
        "data": {"contact": {"first_name": "Асель", "email": "assel.test@mail.kz"}, "education": {"level": "Бакалавриат"}},
        "password": "очень-надёжный-пароль",
        "consents": []
    });
    let created = api
        .authed("POST", "/api/v1/accounts", Some(registration.clone()))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let id = created.json()["id"].as_str().unwrap().to_string();
    let duplicate = api
        .authed("POST", "/api/v1/accounts", Some(registration))
        .await;
    assert_eq!(duplicate.status, StatusCode::UNPROCESSABLE_ENTITY);

    let body = |v: Value| Some(serde_json::to_vec(&v).unwrap());
    let wrong = api
        .call(
            "POST",
            "/api/v1/sessions",
            body(json!({"email": "assel.test@mail.kz", "password": "nope-nope-nope"})),
            Some(TOKEN),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        !wrong.text().contains("assel"),
        "the refusal does not repeat the email"
    );
    let signed = api
        .call(
            "POST",
            "/api/v1/sessions",
            body(json!({"email": "assel.test@mail.kz", "password": "очень-надёжный-пароль"})),
            Some(TOKEN),
        )
        .await;
    assert_eq!(signed.status, StatusCode::CREATED);
    let session = signed.json()["token"].as_str().unwrap().to_string();

    let current = api
        .call_with(
            "GET",
            "/api/v1/sessions/current",
            None,
            Some(TOKEN),
            Some(&session),
        )
        .await;
    assert_eq!(current.json()["subject"], id.as_str());
    let change = body(
        json!({"current_password": "очень-надёжный-пароль", "new_password": "ещё-более-надёжный"}),
    );
    assert_eq!(
        api.call_with(
            "POST",
            "/api/v1/accounts/password",
            change,
            Some(TOKEN),
            Some(&session)
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call_with(
            "DELETE",
            "/api/v1/sessions/current",
            None,
            Some(TOKEN),
            Some(&session)
        )
        .await
        .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        api.call_with(
            "GET",
            "/api/v1/sessions/current",
            None,
            Some(TOKEN),
            Some(&session)
        )
        .await
        .status,
        StatusCode::UNAUTHORIZED
    );

    let reset = api
        .authed(
            "POST",
            "/api/v1/accounts/password-reset",
            Some(json!({"email": "assel.test@mail.kz"})),
        )
        .await;
    assert_eq!(reset.status, StatusCode::ACCEPTED);
    let token = reset.json()["token"].as_str().unwrap().to_string();
    let confirm = json!({"token": token, "new_password": "после-сброса-пароль"});
    let first = api
        .authed(
            "POST",
            "/api/v1/accounts/password-reset/confirm",
            Some(confirm.clone()),
        )
        .await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let again = api
        .authed(
            "POST",
            "/api/v1/accounts/password-reset/confirm",
            Some(confirm),
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "a reset token works once"
    );
    assert_eq!(
        api.authed("POST", &format!("/api/v1/accounts/{id}/close"), None)
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let after = api
        .call(
            "POST",
            "/api/v1/sessions",
            body(json!({"email": "assel.test@mail.kz", "password": "после-сброса-пароль"})),
            Some(TOKEN),
        )
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let refused = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/purposes/education_access"),
            None,
        )
        .await;
    assert_eq!(refused.json()["rule"], "contract_not_in_force");
}

#[tokio::test]
async fn an_order_is_paid_by_a_signed_provider_callback_and_refunded() {
    let api = Api::new().await;
    let id = api
        .authed("POST", "/api/v1/subjects", Some(person()))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let created = api
        .authed(
            "POST",
            &format!("/api/v1/subjects/{id}/orders"),
            Some(json!({"amount": 4_500_000, "currency": "KZT", "method": "card"})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let order = created.json()["order"]["id"].as_str().unwrap().to_string();
    let url = created.json()["checkout_url"].as_str().unwrap().to_string();
    let reference = url
        .split("/checkout/")
        .nth(1)
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();

    let (body, signature) = provider().callback(
        &reference,
        Outcome::Succeeded {
            card_last4: Some("4242".into()),
        },
    );
    let callback = |body: Vec<u8>, signature: String| {
        let request = Request::builder()
            .method("POST")
            .uri("/api/v1/payments/callback")
            .header("vintrova-signature", signature)
            .body(Body::from(body))
            .unwrap();
        router(AppState::new(
            api.harness.app.clone(),
            TOKEN,
            Arc::new(provider()),
        ))
        .oneshot(request)
    };
    let forged = callback(body.clone(), "00".repeat(32)).await.unwrap();
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let paid = callback(body, signature).await.unwrap();
    assert_eq!(paid.status(), StatusCode::OK);
    let orders = api
        .authed("GET", &format!("/api/v1/subjects/{id}/orders"), None)
        .await;
    assert_eq!(orders.json()[0]["state"], "paid");
    let refund = api
        .authed("POST", &format!("/api/v1/orders/{order}/refund"), None)
        .await;
    assert_eq!(refund.json()["state"], "refund_pending");
}

#[tokio::test]
async fn a_student_enrolls_progresses_and_gets_recommendations_by_level() {
    let api = Api::new().await;
    for (id, level) in [
        ("neural-networks-101", "beginner"),
        ("transformers", "intermediate"),
    ] {
        let offering = json!({"id": id, "kind": "course", "level": level, "title_ru": "Курс", "title_kk": "Курс", "title_en": "Course"});
        assert_eq!(
            api.authed("POST", "/api/v1/catalog", Some(offering))
                .await
                .status,
            StatusCode::NO_CONTENT
        );
    }
    let id = api
        .authed("POST", "/api/v1/subjects", Some(person()))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let recs = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/recommendations"),
            None,
        )
        .await;
    assert_eq!(recs.json()["level"], "beginner");
    assert_eq!(recs.json()["offerings"][0]["id"], "neural-networks-101");
    assert!(
        !recs.text().contains("Магистратура"),
        "the reason names fields, not values"
    );

    let enrolled = api
        .authed(
            "POST",
            &format!("/api/v1/subjects/{id}/enrollments"),
            Some(json!({"offering": "neural-networks-101"})),
        )
        .await;
    assert_eq!(enrolled.status, StatusCode::CREATED, "{}", enrolled.text());
    let enrollment = enrolled.json()["id"].as_str().unwrap().to_string();
    let done = api
        .authed(
            "POST",
            &format!("/api/v1/enrollments/{enrollment}/progress"),
            Some(json!({"percent": 100})),
        )
        .await;
    assert_eq!(done.json()["state"], "completed");
    let roster = api
        .authed("GET", "/api/v1/catalog/neural-networks-101/roster", None)
        .await;
    assert_eq!(roster.json()[0]["subject"], id.as_str());
    let after = api
        .authed(
            "GET",
            &format!("/api/v1/subjects/{id}/recommendations"),
            None,
        )
        .await;
    assert_eq!(after.json()["level"], "intermediate");
}

#[tokio::test]
async fn a_support_ticket_is_opened_answered_and_closed() {
    let api = Api::new().await;
    let id = api
        .authed("POST", "/api/v1/subjects", Some(person()))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let opened = api
        .authed(
            "POST",
            &format!("/api/v1/subjects/{id}/tickets"),
            Some(json!({"title": "Оплата", "message": "Не прошла оплата\nкартой"})),
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.text());
    let ticket = opened.json()["id"].as_str().unwrap().to_string();
    let answered = api
        .authed(
            "POST",
            &format!("/api/v1/tickets/{ticket}/messages"),
            Some(json!({"author": "staff", "message": "Проверим"})),
        )
        .await;
    assert_eq!(answered.json()["state"], "answered");
    let closed = api
        .authed("POST", &format!("/api/v1/tickets/{ticket}/close"), None)
        .await;
    assert_eq!(closed.json()["state"], "closed");
    assert_eq!(
        api.authed("GET", &format!("/api/v1/subjects/{id}/tickets"), None)
            .await
            .json()[0]["state"],
        "closed"
    );
}

#[tokio::test]
async fn a_letter_request_is_verified_by_code_then_fulfilled_and_unknown_addresses_look_the_same() {
    let api = Api::new().await;
    let id = api
        .authed("POST", "/api/v1/subjects", Some(person()))
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let letter = |email: &str| json!({"email": email, "right": "access", "description": "Прошу копию", "channel": "email"});
    let known = api
        .authed(
            "POST",
            "/api/v1/requests",
            Some(letter("yerlan.zh@finance.kz")),
        )
        .await;
    let unknown = api
        .authed("POST", "/api/v1/requests", Some(letter("stranger@mail.kz")))
        .await;
    assert_eq!(
        (known.status, unknown.status),
        (StatusCode::ACCEPTED, StatusCode::ACCEPTED)
    );
    let keys = |r: &Reply| {
        r.json()
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(&known),
        keys(&unknown),
        "the same answer for a known and an unknown address"
    );
    assert_eq!(known.json()["subject"], id.as_str());
    assert_eq!(known.json()["state"], "awaiting_verification");

    let request = known.json()["id"].as_str().unwrap().to_string();
    let early = api
        .authed(
            "POST",
            &format!("/api/v1/requests/{request}/fulfil"),
            Some(json!({"right": "access"})),
        )
        .await;
    assert_eq!(
        early.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing before verification"
    );
    let wrong = api
        .authed(
            "POST",
            &format!("/api/v1/requests/{request}/verify"),
            Some(json!({"code": "abcdef"})),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);

    // The code went to the address through the outbox.
    let app = &api.harness.app;
    let claimed = app.claim_outbox(10).await.unwrap();
    let to_known = claimed
        .iter()
        .map(|m| app.open_message(m).unwrap())
        .find(|e| e.to == "yerlan.zh@finance.kz")
        .unwrap();
    let code: String = to_known
        .body
        .chars()
        .filter(char::is_ascii_digit)
        .take(6)
        .collect();
    let verified = api
        .authed(
            "POST",
            &format!("/api/v1/requests/{request}/verify"),
            Some(json!({"code": code})),
        )
        .await;
    assert_eq!(verified.json()["state"], "verified");

    let queue = api.authed("GET", "/api/v1/requests", None).await;
    assert_eq!(queue.json().as_array().unwrap().len(), 2);
    assert_eq!(queue.json()[0]["days_left"], 30);
    let answer = api
        .authed(
            "POST",
            &format!("/api/v1/requests/{request}/fulfil"),
            Some(json!({"right": "access"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    assert_eq!(answer.json()["right"], "access");
    assert_eq!(answer.json()["copy"]["subject"], id.as_str());
    let token = answer.json()["download"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let page = api
        .call(
            "GET",
            &format!("/api/v1/downloads/{token}?lang=kk"),
            None,
            None,
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type.starts_with("text/html"));
    assert!(
        page.text().contains("Байланыс ақпараты") && page.text().contains("Ерлан"),
        "a readable page in Kazakh"
    );
    let json = api
        .call(
            "GET",
            &format!("/api/v1/downloads/{token}?format=json"),
            None,
            None,
        )
        .await;
    assert_eq!(json.json()["subject"], id.as_str());
    let forged = api
        .call("GET", "/api/v1/downloads/not-a-token", None, None)
        .await;
    assert_eq!(forged.status, StatusCode::GONE);
}
