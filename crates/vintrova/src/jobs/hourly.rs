//! The hourly round: the audit chain's check, the monthly access digests, and a word when a
//! published policy version comes due.

use vintrova_core::{Actor, Vintrova};

use crate::setup::Runtime;

pub fn spawn(rt: &Runtime) {
    let app = rt.app.clone();
    let holder = super::lease_holder();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            verify_audit_chain(&app).await;
            send_digests(&app, &holder).await;
            warn_of_a_due_policy(&app).await;
        }
    });
}

/// For the `vintrova_audit_chain_ok` gauge; a break is logged as an error for the operator's
/// alerting.
async fn verify_audit_chain(app: &Vintrova) {
    let verified = app.verify_audit().await;
    if let Err(e) = &verified {
        tracing::error!(error = %e, "the audit chain does not verify");
    }
    vintrova_web::metrics::audit_verified(
        verified.is_ok(),
        verified.map(|r| r.entries).unwrap_or(0),
        app.now(),
    );
}

/// The monthly digest of who looked, for whoever asked (once a month each; one server at a
/// time).
async fn send_digests(app: &Vintrova, holder: &str) {
    let actor = Actor::new("system", "digest");
    let digests = app.send_access_digests(&actor);
    match app
        .exclusively(Vintrova::DIGEST_LEASE, holder, 60, digests)
        .await
    {
        Ok(Some(n)) if n > 0 => tracing::info!(queued = n, "monthly access digests"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "the monthly access digests failed"),
    }
}

/// A published policy version whose day has come applies from the next start.
async fn warn_of_a_due_policy(app: &Vintrova) {
    let today = app.now().to_zoned_datetime(app.policy().zone()).date();
    if let Ok(versions) = app.policy_versions().await
        && let Some(due) = versions.iter().rfind(|v| v.effective <= today)
        && due.version != app.policy().version
    {
        tracing::warn!(
            version = %due.version,
            "a published policy version is in force from today: restart the server to apply it"
        );
    }
}
