//! A published policy version takes effect at its moment (R10.1): twice a minute the server
//! looks whether one came into force and, if so, swaps it in — requests already running finish
//! under the version they began with.

use std::sync::Arc;

use vintrova_web::live::Live;

pub fn spawn(jobs: &mut super::Jobs, live: &Arc<Live>) {
    let live = live.clone();
    jobs.every(std::time::Duration::from_secs(30), move || {
        let live = live.clone();
        async move {
            match live.refresh().await {
                Ok(None) => {}
                Ok(Some(version)) => {
                    tracing::info!(%version, "a published policy version is in force from now")
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot put the published policy version in force")
                }
            }
        }
    });
}
