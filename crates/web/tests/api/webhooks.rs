//! Issue 23: the platform's webhook endpoints over the API — administrators manage them, the
//! data protection officer and auditors may look, the platform's own token may not subscribe
//! anyone; the secret is shown once, at subscription.

use super::*;

#[tokio::test]
async fn administrators_subscribe_endpoints_the_officer_looks_and_the_secret_shows_once() {
    let api = Api::new().await;
    let admin = api.staff("admin.webhooks", Role::Admin).await;
    let dpo = api.staff("dpo.webhooks", Role::Dpo).await;
    let url = "https://platform.example/hooks/vintrova";
    let added = api
        .as_staff(
            &admin,
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": url, "kinds": ["consent.withdrawn"]})),
            None,
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.text());
    let added = added.json();
    let secret = added["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let id = added["endpoint"]["id"].as_str().unwrap().to_string();

    let listed = api
        .as_staff(&dpo, "GET", "/api/v1/webhooks", None, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    assert_eq!(listed.json()[0]["kinds"], json!(["consent.withdrawn"]));
    assert!(!listed.text().contains(&secret), "the secret is shown once");

    let refused = api
        .as_staff(
            &dpo,
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": url})),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let platform = api
        .authed("POST", "/api/v1/webhooks", Some(json!({"url": url})))
        .await;
    assert_eq!(platform.status, StatusCode::FORBIDDEN);

    let wrong = api
        .as_staff(
            &admin,
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": "ftp://platform.example/", "kinds": ["consent.revoked"]})),
            None,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.json()["problems"][0]["field"], "url");

    let rotated = api
        .as_staff(
            &admin,
            "POST",
            &format!("/api/v1/webhooks/{id}/rotation"),
            None,
            None,
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text());
    assert_ne!(rotated.json()["secret"].as_str().unwrap(), secret);
    let deliveries = api
        .as_staff(
            &dpo,
            "GET",
            &format!("/api/v1/webhooks/{id}/deliveries"),
            None,
            None,
        )
        .await;
    assert_eq!(deliveries.status, StatusCode::OK);
    let removed = api
        .as_staff(
            &admin,
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    let gone = api
        .as_staff(
            &admin,
            "DELETE",
            &format!("/api/v1/webhooks/{id}"),
            None,
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::UNPROCESSABLE_ENTITY);
}
