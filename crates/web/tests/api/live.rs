//! A published version takes effect at its moment in a running server (issue 21, R10.1).

use super::*;
use vintrova_web::live::Live;

/// Published 30 days ahead, a version is not in force a moment early; from its day the same
/// running server — no restart — answers under it, API and pages alike.
#[tokio::test]
async fn a_published_version_takes_effect_in_a_running_server_without_a_restart() {
    let harness = Harness::sqlite().await;
    let live = Live::new(AppState::new(
        harness.app.clone(),
        TOKEN,
        Arc::new(provider()),
    ));
    let api = Api {
        router: live.router(),
        harness,
    };
    let version = || async {
        let reply = api
            .send(
                Request::builder()
                    .uri("/api/v1/policy")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        reply.json()["version"].as_str().unwrap().to_string()
    };
    let shipped = include_str!("../../../../policy/vintrova.toml");
    let next = shipped
        .replacen("version = \"", "version = \"live-next-", 1)
        .replacen("term = \"P5Y\"", "term = \"P6Y\"", 1);
    let h = &api.harness;
    let today = h.app.now().to_zoned_datetime(almaty()).date();
    let effective = today.checked_add(jiff::Span::new().days(30)).unwrap();
    let published = h
        .app
        .publish_policy(&vintrova_core::Actor::new("test", "dpo"), &next, effective)
        .await
        .unwrap();
    let first = version().await;
    assert_eq!(live.refresh().await.unwrap(), None, "not before its day");
    assert_eq!(version().await, first);

    h.clock
        .set(effective.to_zoned_datetime(almaty()).unwrap().timestamp());
    assert_eq!(
        live.refresh().await.unwrap(),
        Some(published.version.clone())
    );
    assert_eq!(
        version().await,
        published.version,
        "the API answers under it"
    );
    assert_eq!(
        live.app().policy().version,
        published.version,
        "so do the jobs"
    );
    let page = api
        .send(
            Request::builder()
                .uri("/policy?lang=en")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(page.text().contains("live-next-"), "and the pages");
    assert_eq!(live.refresh().await.unwrap(), None, "swapped once");
}
