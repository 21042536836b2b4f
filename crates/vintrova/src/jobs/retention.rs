//! The daily retention sweep. Two leases in the database make it run once a day across all
//! servers (`retention.daily`, taken for 24 hours) and never twice at once (the sweep's own).

use std::path::Path;
use std::sync::Arc;

use vintrova_core::{Actor, Vintrova};

use vintrova_web::live::Live;

use crate::backup;
use crate::setup::Runtime;

/// Every ten minutes, try for the day's lease: whichever server holds it sweeps.
pub fn spawn(jobs: &mut super::Jobs, rt: &Runtime, live: &Arc<Live>) {
    let live = live.clone();
    let data_dir = rt.config.data_dir.clone();
    let holder = super::lease_holder();
    jobs.every(std::time::Duration::from_secs(600), move || {
        let (app, holder, data_dir) = (live.app(), holder.clone(), data_dir.clone());
        async move {
            if due_today(&app, &holder).await {
                sweep(&app, &holder, &data_dir).await;
            }
        }
    });
}

/// Whether this server took today's lease.
async fn due_today(app: &Vintrova, holder: &str) -> bool {
    match app
        .claim_lease(
            "retention.daily",
            holder,
            jiff::SignedDuration::from_hours(24),
        )
        .await
    {
        Ok(taken) => taken,
        Err(e) => {
            tracing::error!(error = %e, "cannot take the retention lease");
            false
        }
    }
}

/// Delete what fell due, and forget the keys of backups past their days with it.
async fn sweep(app: &Vintrova, holder: &str, data_dir: &Path) {
    let actor = Actor::new("system", "retention");
    match app
        .sweep_exclusively(&actor, holder, Default::default())
        .await
    {
        Ok(Some(receipt)) => {
            vintrova_web::metrics::sweep_finished(&receipt);
            if let Err(e) = backup::expire_keys(data_dir, app.now()) {
                tracing::error!(error = %e, "cannot expire backup keys");
            }
        }
        Ok(None) => tracing::info!("another server is sweeping"),
        Err(e) => tracing::error!(error = %e, "the retention sweep failed"),
    }
}
