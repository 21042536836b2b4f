//! Every five seconds, the events due at the platform's endpoints; every hour, the delivered
//! ones past their keeping. State lives in the database (claims with leases), so several
//! servers deliver side by side without sending an event twice.

use std::sync::Arc;
use std::time::Duration;

use vintrova_core::Vintrova;
use vintrova_web::live::Live;

use crate::poster::HttpPoster;

pub fn spawn(jobs: &mut super::Jobs, live: &Arc<Live>, timeout: Duration) {
    let live = live.clone();
    let poster = Arc::new(HttpPoster::new(timeout));
    jobs.every(Duration::from_secs(5), move || {
        let (app, poster) = (live.app(), poster.clone());
        async move { deliver(&app, poster.as_ref()).await }
    });
}

async fn deliver(app: &Vintrova, poster: &HttpPoster) {
    match app.deliver_webhooks(poster, 200).await {
        Ok(round) if round.delivered + round.failed > 0 => tracing::info!(
            delivered = round.delivered,
            failed = round.failed,
            disabled = round.disabled,
            "webhooks delivered"
        ),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "webhook delivery failed"),
    }
}

/// Delete what every endpoint received and is past its keeping.
pub async fn prune(app: &Vintrova) {
    match app.prune_webhook_events().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            events = n,
            "delivered webhook events past their keeping deleted"
        ),
        Err(e) => tracing::error!(error = %e, "cannot prune delivered webhook events"),
    }
}
