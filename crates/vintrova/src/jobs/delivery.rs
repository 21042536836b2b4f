//! Reminders and mail. State lives in the database (claims with leases), so several servers
//! may deliver side by side.

use std::sync::Arc;

use vintrova_core::Vintrova;
use vintrova_core::outbox::Transport;
use vintrova_web::live::Live;

use crate::setup::{self, Result, Runtime};

/// Every ten seconds: remind staff of requests nearing their deadline, then deliver the
/// outbox, so that a reminder leaves in the same round it was queued.
pub fn spawn(jobs: &mut super::Jobs, rt: &Runtime, live: &Arc<Live>) -> Result<()> {
    let live = live.clone();
    let transport: Arc<dyn Transport> = setup::mail_transport(rt)?.into();
    jobs.every(std::time::Duration::from_secs(10), move || {
        let (app, transport) = (live.app(), transport.clone());
        async move {
            remind(&app).await;
            deliver(&app, transport.as_ref()).await;
        }
    });
    Ok(())
}

async fn remind(app: &Vintrova) {
    if let Err(e) = app
        .remind_staff(&vintrova_core::requests::DEFAULT_REMINDERS)
        .await
    {
        tracing::error!(error = %e, "request reminders failed");
    }
    if let Err(e) = app.remind_incidents().await {
        tracing::error!(error = %e, "incident reminders failed");
    }
}

async fn deliver(app: &Vintrova, transport: &dyn Transport) {
    match app.deliver(transport, 100).await {
        Ok(report) if report.sent + report.retried + report.failed > 0 => {
            tracing::info!(
                sent = report.sent,
                retried = report.retried,
                failed = report.failed,
                "outbox delivered"
            )
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "outbox delivery failed"),
    }
}
